//! The pieces every NTLMSSP message shares: the signature/type prefix, security buffers
//! (length, max length, offset triples pointing into the payload) and the header layout.

use nom::bytes::complete::tag;
use nom::number::complete::{le_u16, le_u32};
use nom::{IResult, Parser};

use super::problems::Problems;
use super::NtlmError;

/// Every NTLMSSP message starts with these 8 bytes.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// Signature (8) plus MessageType (4).
pub(crate) const PREFIX_LEN: usize = 12;

/// Reads the signature and the MessageType.
pub(crate) fn parse_prefix(bytes: &[u8]) -> Result<u32, NtlmError> {
    let signature_so_far = bytes.get(..SIGNATURE.len()).unwrap_or(bytes);
    if !SIGNATURE.starts_with(signature_so_far) {
        return Err(NtlmError::BadSignature);
    }
    let parsed: IResult<&[u8], u32> = (tag(&SIGNATURE[..]), le_u32)
        .map(|(_, kind)| kind)
        .parse(bytes);
    parsed
        .map(|(_, kind)| kind)
        .map_err(|_| NtlmError::TooShort {
            needed: PREFIX_LEN,
            got: bytes.len(),
        })
}

/// Fails with [`NtlmError::TooShort`] unless the message holds `needed` bytes.
pub(crate) fn require_len(bytes: &[u8], needed: usize) -> Result<(), NtlmError> {
    if bytes.len() < needed {
        Err(NtlmError::TooShort {
            needed,
            got: bytes.len(),
        })
    } else {
        Ok(())
    }
}

/// A security buffer descriptor: where a variable-length field lives in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SecurityBuffer {
    /// Length of the field in bytes.
    pub len: u16,
    /// MaxLen, which senders set equal to `len`; receivers ignore it.
    pub max_len: u16,
    /// Offset of the field from the start of the message.
    pub offset: u32,
}

impl SecurityBuffer {
    /// Parses the 8-byte descriptor.
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], SecurityBuffer> {
        (le_u16, le_u16, le_u32)
            .map(|(len, max_len, offset)| SecurityBuffer {
                len,
                max_len,
                offset,
            })
            .parse(input)
    }

    /// Reads the descriptor at byte `at` of `message`, if all 8 bytes are there.
    pub(crate) fn read_at(message: &[u8], at: usize) -> Option<SecurityBuffer> {
        let bytes = message.get(at..)?;
        SecurityBuffer::parse(bytes).ok().map(|(_, buffer)| buffer)
    }

    /// The byte range the descriptor names, if it lies inside a message of `message_len` bytes.
    pub fn range(&self, message_len: usize) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::from(self.len))?;
        (end <= message_len).then_some(start..end)
    }

    /// The bytes the descriptor points at. An empty buffer yields `Some(&[])` wherever it points
    /// (senders leave offset 0 or any value for empty fields); a buffer reaching past the end of
    /// the message is noted as a problem of `field` and yields `None`.
    pub(crate) fn resolve<'a>(
        &self,
        message: &'a [u8],
        field: &str,
        problems: &mut Problems,
    ) -> Option<&'a [u8]> {
        if self.len == 0 {
            return Some(&[]);
        }
        match self.range(message.len()).and_then(|r| message.get(r)) {
            Some(bytes) => Some(bytes),
            None => {
                problems.push(format!(
                    "{field}: security buffer (length {}, offset {:#x}) points outside the {}-byte message",
                    self.len,
                    self.offset,
                    message.len()
                ));
                None
            }
        }
    }
}

/// Where the fixed header of a message ends, as far as its buffers tell.
///
/// NTLMSSP grew over time: optional header fields (Version, MIC, Type 3's session key and flags)
/// exist only when the payload starts after them. The payload starts at the lowest offset of a
/// non-empty buffer that lies inside the message; buffers that point outside the message or into
/// the mandatory header are ignored here (they are reported as per-field problems).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Bytes available for header fields: the payload start, or the message length.
    room: usize,
    /// Whether some buffer actually told where the payload starts.
    known: bool,
    message_len: usize,
    mandatory_len: usize,
}

impl Layout {
    /// A layout for a message of `message_len` bytes whose mandatory header is `mandatory_len`.
    pub(crate) fn new(message_len: usize, mandatory_len: usize) -> Self {
        Layout {
            room: message_len,
            known: false,
            message_len,
            mandatory_len,
        }
    }

    /// Takes a buffer's offset into account.
    pub(crate) fn observe(&mut self, buffer: &SecurityBuffer) {
        if buffer.len == 0 {
            return;
        }
        if let Some(range) = buffer.range(self.message_len) {
            if range.start >= self.mandatory_len {
                self.room = self.room.min(range.start);
                self.known = true;
            }
        }
    }

    /// Whether a header field ending at byte `end` fits before the payload.
    pub(crate) fn fits(&self, end: usize) -> bool {
        end <= self.room
    }

    /// Whether a buffer pinned down the payload start (rather than the message end).
    pub(crate) fn known(&self) -> bool {
        self.known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_errors() {
        assert_eq!(parse_prefix(b"NTLMSSP\0\x02\0\0\0"), Ok(2));
        assert_eq!(
            parse_prefix(b"NTLMSSX\0\x02\0\0\0"),
            Err(NtlmError::BadSignature)
        );
        assert_eq!(parse_prefix(b"HTTP/1.1 200"), Err(NtlmError::BadSignature));
        assert_eq!(
            parse_prefix(b"NTLMSSP\0\x02"),
            Err(NtlmError::TooShort { needed: 12, got: 9 })
        );
        assert_eq!(
            parse_prefix(b"NTLM"),
            Err(NtlmError::TooShort { needed: 12, got: 4 })
        );
        assert_eq!(
            parse_prefix(b""),
            Err(NtlmError::TooShort { needed: 12, got: 0 })
        );
        assert_eq!(parse_prefix(b"XY"), Err(NtlmError::BadSignature));
    }

    #[test]
    fn buffer_outside_message_is_a_problem_not_a_panic() {
        // squid's ntlm_fake_auth target name descriptor: len 9, maxlen 9, offset 0xaaaaaaae.
        let (_, buffer) =
            SecurityBuffer::parse(&[0x09, 0x00, 0x09, 0x00, 0xae, 0xaa, 0xaa, 0xaa]).unwrap();
        assert_eq!(buffer.offset, 0xaaaa_aaae);
        let mut problems = Problems::default();
        assert_eq!(
            buffer.resolve(&[0u8; 49], "target name", &mut problems),
            None
        );
        assert_eq!(
            problems.into_vec(),
            ["target name: security buffer (length 9, offset 0xaaaaaaae) points outside the 49-byte message"]
        );
    }

    #[test]
    fn empty_buffer_resolves_anywhere_and_does_not_move_the_layout() {
        let empty = SecurityBuffer {
            len: 0,
            max_len: 0,
            offset: u32::MAX,
        };
        let mut problems = Problems::default();
        assert_eq!(empty.resolve(&[1, 2, 3], "x", &mut problems), Some(&[][..]));
        let mut layout = Layout::new(100, 32);
        layout.observe(&empty);
        assert!(!layout.known());
        layout.observe(&SecurityBuffer {
            len: 4,
            max_len: 4,
            offset: 40,
        });
        assert!(layout.known() && layout.fits(40) && !layout.fits(41));
    }
}
