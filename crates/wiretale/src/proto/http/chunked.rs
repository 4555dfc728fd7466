//! Incremental decoder of the chunked transfer coding (RFC 9112 §7.1). Chunk data is never
//! looked at: the decoder tells the caller how many data bytes to skip.

use super::error::HttpError;
use super::sniff::is_tchar;

/// Most trailer field names remembered.
const MAX_TRAILER_NAMES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Expecting `size [; ext] CRLF`.
    SizeLine,
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last chunk: trailer fields until an empty line.
    Trailers,
}

/// What [`ChunkedDecoder::advance`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChunkStep {
    /// `consumed` bytes used; more are needed, the next `skip` of which are chunk data.
    NeedMore {
        /// Bytes of the input used.
        consumed: usize,
        /// Chunk-data bytes after them that the caller may skip unseen.
        skip: u64,
    },
    /// The body ended after `consumed` bytes (the empty line after the trailers).
    Done {
        /// Bytes of the input used.
        consumed: usize,
    },
    /// The coding is broken at `consumed`.
    Error {
        /// Bytes of the input used before the problem.
        consumed: usize,
        /// The problem.
        error: HttpError,
    },
}

/// State of one chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkedDecoder {
    state: ChunkState,
    /// Decoded data bytes so far (including skipped and gap bytes).
    pub(crate) payload: u64,
    /// Non-empty chunks seen.
    pub(crate) chunks: u64,
    /// True once a chunk extension (`;name=value`) was seen.
    pub(crate) extensions: bool,
    /// Names of trailer fields.
    pub(crate) trailer_names: Vec<String>,
    trailer_bytes: usize,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: ChunkState::SizeLine,
            payload: 0,
            chunks: 0,
            extensions: false,
            trailer_names: Vec::new(),
            trailer_bytes: 0,
        }
    }

    /// Decodes as far as `input` allows. `max_line` caps a chunk-size line, `max_trailers` the
    /// trailer section. With `skip_data`, chunk data beyond `input` is counted as received and
    /// returned as `skip`; without it (the direction has ended) only what is present counts.
    pub(crate) fn advance(
        &mut self,
        input: &[u8],
        max_line: usize,
        max_trailers: usize,
        skip_data: bool,
    ) -> ChunkStep {
        let mut pos = 0usize;
        loop {
            let rest = input.get(pos..).unwrap_or(&[]);
            match self.state {
                ChunkState::SizeLine => {
                    let Some(lf) = rest
                        .iter()
                        .take(max_line.saturating_add(1))
                        .position(|&b| b == b'\n')
                    else {
                        if rest.len() > max_line {
                            return ChunkStep::Error {
                                consumed: pos,
                                error: HttpError::ChunkLineTooLong { limit: max_line },
                            };
                        }
                        return ChunkStep::NeedMore {
                            consumed: pos,
                            skip: 0,
                        };
                    };
                    let line = rest.get(..lf).unwrap_or(&[]);
                    let (size, ext) = match parse_chunk_size(line) {
                        Ok(v) => v,
                        Err(error) => {
                            return ChunkStep::Error {
                                consumed: pos,
                                error,
                            }
                        }
                    };
                    self.extensions |= ext;
                    pos += lf + 1;
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        self.chunks = self.chunks.saturating_add(1);
                        ChunkState::Data { remaining: size }
                    };
                }
                ChunkState::Data { remaining } => {
                    let available = rest.len() as u64;
                    if available >= remaining {
                        // `remaining <= available <= usize::MAX`, so the cast is lossless.
                        pos += remaining as usize;
                        self.payload = self.payload.saturating_add(remaining);
                        self.state = ChunkState::DataEnd;
                    } else if !skip_data {
                        pos += rest.len();
                        self.payload = self.payload.saturating_add(available);
                        self.state = ChunkState::Data {
                            remaining: remaining - available,
                        };
                        return ChunkStep::NeedMore {
                            consumed: pos,
                            skip: 0,
                        };
                    } else {
                        pos += rest.len();
                        self.payload = self.payload.saturating_add(remaining);
                        self.state = ChunkState::DataEnd;
                        return ChunkStep::NeedMore {
                            consumed: pos,
                            skip: remaining - available,
                        };
                    }
                }
                ChunkState::DataEnd => match rest {
                    [] | [b'\r'] => {
                        return ChunkStep::NeedMore {
                            consumed: pos,
                            skip: 0,
                        }
                    }
                    [b'\n', ..] => {
                        pos += 1;
                        self.state = ChunkState::SizeLine;
                    }
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        self.state = ChunkState::SizeLine;
                    }
                    _ => {
                        return ChunkStep::Error {
                            consumed: pos,
                            error: HttpError::ChunkNotTerminated,
                        }
                    }
                },
                ChunkState::Trailers => {
                    let budget = max_trailers.saturating_sub(self.trailer_bytes);
                    let Some(lf) = rest.iter().take(budget).position(|&b| b == b'\n') else {
                        if rest.len() >= budget {
                            return ChunkStep::Error {
                                consumed: pos,
                                error: HttpError::TrailersTooLarge {
                                    limit: max_trailers,
                                },
                            };
                        }
                        return ChunkStep::NeedMore {
                            consumed: pos,
                            skip: 0,
                        };
                    };
                    let line = rest.get(..lf).unwrap_or(&[]);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    pos += lf + 1;
                    self.trailer_bytes = self.trailer_bytes.saturating_add(lf + 1);
                    if line.is_empty() {
                        return ChunkStep::Done { consumed: pos };
                    }
                    let name_len = line.iter().take_while(|&&b| is_tchar(b)).count();
                    if name_len > 0 && self.trailer_names.len() < MAX_TRAILER_NAMES {
                        let name = line.get(..name_len).unwrap_or(&[]);
                        self.trailer_names
                            .push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
        }
    }
}

/// `1*HEXDIG [BWS] [";" extensions] [CR]` → (size, has extensions).
fn parse_chunk_size(line: &[u8]) -> Result<(u64, bool), HttpError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(HttpError::InvalidChunkSize);
    }
    let mut size: u64 = 0;
    for &b in line.iter().take(digits) {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b.wrapping_sub(b'A').wrapping_add(10),
        };
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(d)))
            .ok_or(HttpError::ChunkSizeOverflow)?;
    }
    let rest = line.get(digits..).unwrap_or(&[]);
    let ws = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    match rest.get(ws..).unwrap_or(&[]) {
        [] => Ok((size, false)),
        [b';', ..] => Ok((size, true)),
        _ => Err(HttpError::InvalidChunkSize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_whole(body: &[u8]) -> (ChunkStep, ChunkedDecoder) {
        let mut d = ChunkedDecoder::new();
        let step = d.advance(body, 4096, 65536, true);
        (step, d)
    }

    #[test]
    fn chunks_with_extensions_and_trailers() {
        let body = b"4;name=\"v;x\"\r\nWiki\r\n5 ; ext\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\nNEXT";
        let (step, d) = run_whole(body);
        assert_eq!(
            step,
            ChunkStep::Done {
                consumed: body.len() - 4
            }
        );
        assert_eq!(d.payload, 4 + 5 + 14);
        assert_eq!(d.chunks, 3);
        assert!(d.extensions);
        assert_eq!(d.trailer_names, ["Expires", "X-Sum"]);
    }

    #[test]
    fn data_is_skipped_not_read() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.advance(b"100000\r\nab", 4096, 65536, true),
            ChunkStep::NeedMore {
                consumed: 10,
                skip: 0x100000 - 2
            }
        );
        assert_eq!(d.payload, 0x100000);
        assert_eq!(
            d.advance(b"\r", 4096, 65536, true),
            ChunkStep::NeedMore {
                consumed: 0,
                skip: 0
            }
        );
        assert_eq!(
            d.advance(b"\r\n0\r\n\r\n", 4096, 65536, true),
            ChunkStep::Done { consumed: 7 }
        );
    }

    #[test]
    fn bare_lf_is_accepted() {
        let (step, d) = run_whole(b"3\nabc\n0\n\n");
        assert_eq!(step, ChunkStep::Done { consumed: 9 });
        assert_eq!(d.payload, 3);
    }

    #[test]
    fn overflowing_and_invalid_sizes_are_errors() {
        let (step, _) = run_whole(b"10000000000000000\r\n");
        assert_eq!(
            step,
            ChunkStep::Error {
                consumed: 0,
                error: HttpError::ChunkSizeOverflow
            }
        );
        // 16 hex digits fit in u64; leading zeros are fine.
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Ok((u64::MAX, false)));
        assert_eq!(parse_chunk_size(b"000000000000000000001"), Ok((1, false)));
        for bad in [&b""[..], b"x", b"-1", b"1 2", b" 1"] {
            assert_eq!(
                parse_chunk_size(bad),
                Err(HttpError::InvalidChunkSize),
                "{bad:?}"
            );
        }
        let (step, _) = run_whole(b"3\r\nabcX");
        assert_eq!(
            step,
            ChunkStep::Error {
                consumed: 6,
                error: HttpError::ChunkNotTerminated
            }
        );
    }

    #[test]
    fn limits_are_enforced() {
        let mut d = ChunkedDecoder::new();
        let long = [b"1;".as_slice(), &[b'x'; 100]].concat();
        assert_eq!(
            d.advance(&long, 64, 65536, true),
            ChunkStep::Error {
                consumed: 0,
                error: HttpError::ChunkLineTooLong { limit: 64 }
            }
        );
        let mut d = ChunkedDecoder::new();
        let trailers = [b"0\r\n".as_slice(), &[b'x'; 100]].concat();
        assert_eq!(
            d.advance(&trailers, 64, 50, true),
            ChunkStep::Error {
                consumed: 3,
                error: HttpError::TrailersTooLarge { limit: 50 }
            }
        );
    }
}
