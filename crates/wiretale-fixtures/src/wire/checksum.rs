//! The Internet checksum (RFC 1071), summed over several pieces without copying them together.

/// One's-complement sum that accepts pieces of any length (odd pieces are joined correctly).
#[derive(Debug, Clone, Default)]
pub struct Checksum {
    sum: u64,
    pending: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` as if appended to everything added before.
    pub fn add(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        if let Some(high) = self.pending.take() {
            match rest.split_first() {
                Some((low, tail)) => {
                    self.sum = self
                        .sum
                        .wrapping_add(u64::from(u16::from_be_bytes([high, *low])));
                    rest = tail;
                }
                None => {
                    self.pending = Some(high);
                    return;
                }
            }
        }
        let mut pairs = rest.chunks_exact(2);
        for pair in &mut pairs {
            if let [a, b] = pair {
                self.sum = self
                    .sum
                    .wrapping_add(u64::from(u16::from_be_bytes([*a, *b])));
            }
        }
        if let [last] = pairs.remainder() {
            self.pending = Some(*last);
        }
    }

    /// The checksum field value: the complement of the folded sum.
    pub fn finish(&self) -> u16 {
        let mut sum = self.sum;
        if let Some(high) = self.pending {
            sum = sum.wrapping_add(u64::from(high) << 8);
        }
        while sum > 0xffff {
            sum = (sum & 0xffff).wrapping_add(sum >> 16);
        }
        // `sum` is now at most 0xffff.
        !(u16::try_from(sum).unwrap_or(u16::MAX))
    }
}

/// Checksum of one contiguous buffer.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut c = Checksum::new();
    c.add(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of these words is 0xddf2, so the checksum is 0x220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&data), 0x220d);
    }

    #[test]
    fn odd_pieces_equal_one_buffer() {
        let data: Vec<u8> = (0u8..=200).collect();
        let mut c = Checksum::new();
        c.add(&data[..3]);
        c.add(&data[3..4]);
        c.add(&[]);
        c.add(&data[4..101]);
        c.add(&data[101..]);
        assert_eq!(c.finish(), internet_checksum(&data));
    }

    #[test]
    fn known_ipv4_header() {
        // A real IPv4 header (Wikipedia's example) with its checksum 0xb861 zeroed.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&hdr), 0xb861);
    }
}
