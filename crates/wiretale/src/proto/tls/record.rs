//! The TLS record header (SSL 3.0 .. TLS 1.3): reading it, judging whether it is plausible, and
//! finding the next plausible one after lost or garbled bytes.

/// Length of a TLS record header.
pub const RECORD_HEADER_LEN: usize = 5;
/// Largest record body accepted: 2^14 plaintext + 2048 bytes of expansion (RFC 5246 §6.2.3).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Content type: ChangeCipherSpec.
pub const CHANGE_CIPHER_SPEC: u8 = 20;
/// Content type: Alert.
pub const ALERT: u8 = 21;
/// Content type: Handshake.
pub const HANDSHAKE: u8 = 22;
/// Content type: ApplicationData.
pub const APPLICATION_DATA: u8 = 23;
/// Content type: Heartbeat.
pub const HEARTBEAT: u8 = 24;

/// A TLS record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type (20..=24 when plausible).
    pub content_type: u8,
    /// Version field (0x0300..=0x0304 when plausible).
    pub version: u16,
    /// Body length.
    pub length: u16,
}

impl RecordHeader {
    /// Header plus body length.
    pub fn total_len(&self) -> usize {
        RECORD_HEADER_LEN + usize::from(self.length)
    }
}

/// What the bytes at some position say about a record header there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderCheck {
    /// A plausible header.
    Plausible(RecordHeader),
    /// The bytes so far could start a plausible header; more are needed.
    NeedMore,
    /// Not a plausible header.
    Implausible,
}

/// Reads and judges the record header at the start of `bytes` (parsed with tls-parser's
/// `parse_tls_record_header`; judged here: content type 20..=24, version 0x0300..=0x0304,
/// length ≤ [`MAX_RECORD_LEN`]).
pub fn check_header(bytes: &[u8]) -> HeaderCheck {
    // Judge the prefix byte by byte so that a wrong first byte is rejected at once.
    if let Some(&t) = bytes.first() {
        if !(CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&t) {
            return HeaderCheck::Implausible;
        }
    }
    if let Some(&major) = bytes.get(1) {
        if major != 3 {
            return HeaderCheck::Implausible;
        }
    }
    if let Some(&minor) = bytes.get(2) {
        if minor > 4 {
            return HeaderCheck::Implausible;
        }
    }
    let Ok((_, header)) = tls_parser::parse_tls_record_header(bytes) else {
        return HeaderCheck::NeedMore;
    };
    if usize::from(header.len) > MAX_RECORD_LEN {
        return HeaderCheck::Implausible;
    }
    HeaderCheck::Plausible(RecordHeader {
        content_type: header.record_type.0,
        version: header.version.0,
        length: header.len,
    })
}

/// Finds the first offset in `bytes` where a plausible record header starts. When the record it
/// announces ends inside `bytes`, the header after it must be plausible too (or incomplete):
/// a single 5-byte match inside ciphertext happens about once per megabyte, two in a row almost
/// never. Returns `None` when no offset qualifies; offsets too close to the end to judge are
/// not returned, so the caller keeps the last few bytes for later.
pub fn find_plausible_header(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(RECORD_HEADER_LEN)?;
    (0..=last).find(|&at| {
        let Some(candidate) = bytes.get(at..) else {
            return false;
        };
        let HeaderCheck::Plausible(header) = check_header(candidate) else {
            return false;
        };
        match candidate.get(header.total_len()..) {
            Some(next) if !next.is_empty() => check_header(next) != HeaderCheck::Implausible,
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_headers() {
        assert_eq!(
            check_header(&[22, 3, 1, 0, 0xb5]),
            HeaderCheck::Plausible(RecordHeader {
                content_type: 22,
                version: 0x0301,
                length: 0xb5
            })
        );
        assert_eq!(check_header(&[]), HeaderCheck::NeedMore);
        assert_eq!(check_header(&[23, 3]), HeaderCheck::NeedMore);
        assert_eq!(check_header(&[23, 3, 3, 0x48]), HeaderCheck::NeedMore);
        assert_eq!(check_header(b"GET / HTTP/1.1"), HeaderCheck::Implausible);
        assert_eq!(check_header(&[22, 2]), HeaderCheck::Implausible);
        assert_eq!(check_header(&[22, 3, 5]), HeaderCheck::Implausible);
        assert_eq!(
            check_header(&[23, 3, 3, 0x48, 0x01]),
            HeaderCheck::Implausible
        );
        assert_eq!(
            check_header(&[23, 3, 3, 0x48, 0x00]),
            HeaderCheck::Plausible(RecordHeader {
                content_type: 23,
                version: 0x0303,
                length: MAX_RECORD_LEN as u16
            })
        );
    }

    #[test]
    fn resync_needs_a_chain_when_it_can_see_one() {
        // A fake header at 1 whose successor is garbage, then a real record at 9 followed by
        // the start of another.
        let mut bytes = vec![0xee, 23, 3, 3, 0, 2, 0xaa, 0xbb, 0xcc];
        bytes.extend([21, 3, 3, 0, 2, 1, 0, 23, 3]);
        assert_eq!(find_plausible_header(&bytes), Some(9));
        assert_eq!(find_plausible_header(&[1, 2, 3]), None);
        assert_eq!(find_plausible_header(&[0xee, 22, 3, 1, 0, 4]), Some(1));
        assert_eq!(find_plausible_header(&[0xee, 22, 3, 1, 0]), None);
    }
}
