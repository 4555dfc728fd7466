//! A bounds-checked big-endian cursor for the few structures parsed by hand (SSLv2 messages,
//! handshake headers, extension lists). Every read returns `None` instead of panicking when the
//! input is too short.

/// Cursor over a byte slice; reads advance it, failed reads leave it unchanged.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// Number of bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len()
    }

    /// Whether everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let head = self.data.get(..n)?;
        self.data = self.data.get(n..)?;
        Some(head)
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    /// A big-endian u16.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    /// A vector with a one-byte length prefix.
    pub(crate) fn vec_u8(&mut self) -> Option<&'a [u8]> {
        let saved = self.data;
        let len = self.u8()?;
        self.take(usize::from(len)).or_else(|| {
            self.data = saved;
            None
        })
    }

    /// A vector with a two-byte length prefix.
    pub(crate) fn vec_u16(&mut self) -> Option<&'a [u8]> {
        let saved = self.data;
        let len = self.u16()?;
        self.take(usize::from(len)).or_else(|| {
            self.data = saved;
            None
        })
    }
}

/// Lowercase hex of a byte slice.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Splits a byte slice into big-endian u16 values (a trailing odd byte is ignored).
pub(crate) fn u16_list(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            _ => 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end_without_moving() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.u16(), None);
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.u8(), Some(3));
        assert!(r.is_empty());
        assert_eq!(r.u8(), None);
    }

    #[test]
    fn length_prefixed_vectors_restore_on_failure() {
        let mut r = Reader::new(&[0, 5, 1, 2]);
        assert_eq!(r.vec_u16(), None);
        assert_eq!(r.remaining(), 4);
        let mut r = Reader::new(&[2, 9, 8, 7]);
        assert_eq!(r.vec_u8(), Some(&[9u8, 8][..]));
        assert_eq!(r.rest(), &[7]);
    }

    #[test]
    fn hex_and_u16_lists() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
        assert_eq!(
            u16_list(&[0x13, 0x01, 0xc0, 0x2f, 0x99]),
            vec![0x1301, 0xc02f]
        );
    }
}
