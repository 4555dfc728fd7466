//! ASCII case-insensitive comparison of header names and tokens, eight bytes at a time.
//!
//! Every head compares each of its field names with the kept and authentication header names,
//! and persistence and framing look fields up by name again; byte by byte
//! (`eq_ignore_ascii_case`) that was about ten instructions a byte, 5 % of analysing a capture
//! of short connections.

/// `a` and `b` are equal ignoring ASCII case: exactly what `<[u8]>::eq_ignore_ascii_case`
/// answers, for any bytes.
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a_words, mut b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut a_words).zip(&mut b_words) {
        let (Ok(x), Ok(y)) = (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) else {
            return false;
        };
        let (x, y) = (u64::from_le_bytes(x), u64::from_le_bytes(y));
        if x != y && lowercase(x) != lowercase(y) {
            return false;
        }
    }
    a_words
        .remainder()
        .eq_ignore_ascii_case(b_words.remainder())
}

/// `a` and `b` are equal ignoring ASCII case ([`eq_ignore_case`] of their bytes).
pub(crate) fn str_eq_ignore_case(a: &str, b: &str) -> bool {
    eq_ignore_case(a.as_bytes(), b.as_bytes())
}

/// The comma-separated elements of a header value, each trimmed: exactly
/// `value.split(',').map(str::trim)`, without its costs on short ASCII values (a `memchr`
/// set-up per split, a Unicode whitespace test per trimmed character). Every head's
/// `Connection` and `Content-Length` values come through here.
pub(crate) fn elements(value: &str) -> Elements<'_> {
    Elements { rest: Some(value) }
}

/// Iterator of [`elements`].
pub(crate) struct Elements<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        // A comma is ASCII: the bytes around it are character boundaries.
        let (element, after) = match rest.bytes().position(|b| b == b',') {
            Some(at) => (rest.get(..at)?, rest.get(at + 1..)),
            None => (rest, None),
        };
        self.rest = after;
        Some(trim(element))
    }
}

/// `s.trim()`: ASCII whitespace (as `char::is_whitespace` has it, vertical tab included,
/// unlike `u8::is_ascii_whitespace`) by byte, then `str::trim` only when a non-ASCII
/// character is left at an end (it may be Unicode whitespace).
fn trim(s: &str) -> &str {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
    let bytes = s.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |at| at + 1);
    // Next to ASCII bytes, so on character boundaries.
    let trimmed = s.get(start..end).unwrap_or_default();
    let tb = trimmed.as_bytes();
    if tb.first().is_some_and(|b| !b.is_ascii()) || tb.last().is_some_and(|b| !b.is_ascii()) {
        trimmed.trim()
    } else {
        trimmed
    }
}

/// Each byte of `word` in ASCII lowercase: `A`..=`Z` become `a`..=`z`, every other byte
/// (including those of 0x80 and above) stays as it is.
fn lowercase(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    // Each byte's low seven bits: adding at most 0x3F to them cannot carry into the next byte.
    let low7 = word & !HIGH;
    // High bit set in each byte whose low seven bits are at least `A`, then above `Z`.
    let at_least_a = low7 + ONES * u64::from(0x80 - b'A');
    let above_z = low7 + ONES * u64::from(0x80 - b'Z' - 1);
    // An uppercase letter: at least `A`, not above `Z`, and ASCII (its own high bit clear).
    let upper = at_least_a & !above_z & !word & HIGH;
    // 0x80 >> 2 is 0x20, the case bit, in the same byte.
    word | (upper >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_lowercases_as_the_standard_library_does() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = [b'x'; 8];
                bytes[at] = b;
                let mut want = bytes;
                want.make_ascii_lowercase();
                assert_eq!(
                    lowercase(u64::from_le_bytes(bytes)),
                    u64::from_le_bytes(want),
                    "{b:#04x} at {at}"
                );
            }
        }
    }

    #[test]
    fn equality_matches_the_standard_library_for_every_byte_pair() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                // In the word part and in the remainder, at every length up to two words.
                // The pair sits in the words and at the last byte (in the remainder).
                for len in [1usize, 7, 8, 9, 16, 17] {
                    let differs = |i: usize| i % 5 == 2 || i + 1 == len;
                    let x: Vec<u8> = (0..len)
                        .map(|i| if differs(i) { a } else { b'-' })
                        .collect();
                    let y: Vec<u8> = (0..len)
                        .map(|i| if differs(i) { b } else { b'-' })
                        .collect();
                    assert_eq!(eq_ignore_case(&x, &y), x.eq_ignore_ascii_case(&y));
                }
            }
        }
    }

    #[test]
    fn elements_are_split_and_trimmed_as_the_standard_library_does() {
        let pieces = [
            "",
            ",",
            " ",
            "\t",
            "\u{0B}",
            "\u{0C}",
            "\r\n",
            "a",
            "close",
            "Keep-Alive",
            "42",
            "\u{a0}",
            "\u{2003}",
            "é",
            "\u{fffd}",
            "x y",
        ];
        // Every sequence of up to four pieces.
        let mut values = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = (values.iter())
                .flat_map(|v| pieces.iter().map(move |p| format!("{v}{p}")))
                .collect();
            values.extend(longer);
        }
        for v in &values {
            let want: Vec<&str> = v.split(',').map(str::trim).collect();
            assert_eq!(elements(v).collect::<Vec<_>>(), want, "{v:?}");
        }
    }

    #[test]
    fn header_names() {
        assert!(str_eq_ignore_case("Proxy-Connection", "proxy-connection"));
        assert!(str_eq_ignore_case("CONTENT-LENGTH", "Content-Length"));
        assert!(!str_eq_ignore_case("Content-Length", "Content-Lengti"));
        assert!(!str_eq_ignore_case("Connection", "Connection "));
        assert!(str_eq_ignore_case("", ""));
        assert!(!str_eq_ignore_case("Connection\u{e9}", "connection\u{c9}"));
        assert!(str_eq_ignore_case(
            "Proxy-Authorization",
            "PROXY-AUTHORIZATION"
        ));
    }
}
