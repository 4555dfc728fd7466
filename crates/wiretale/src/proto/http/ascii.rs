//! ASCII case-insensitive comparison of header names and tokens, eight bytes at a time.
//!
//! Every head compares each of its field names with the kept and authentication header names,
//! and persistence and framing look fields up by name again; byte by byte
//! (`eq_ignore_ascii_case`) that was about ten instructions a byte, 5 % of analysing a capture
//! of short connections.

/// `a` and `b` are equal ignoring ASCII case: exactly what `<[u8]>::eq_ignore_ascii_case`
/// answers, for any bytes. Compared a word at a time, the last word overlapping the one
/// before it (a byte compared twice compares the same), so that no name of four bytes or
/// more has a remainder compared byte by byte: `Content-Length` is two words, not a word and
/// six bytes at ten instructions each.
///
/// Inline, the lengths only: most names compared differ in length (every field name of a
/// head is compared with the authentication headers'), and a call to rule each out cost
/// more than the comparison.
#[inline]
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && same_length_eq_ignore_case(a, b)
}

/// [`eq_ignore_case`] of two slices of the same length.
fn same_length_eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    match len {
        0..=3 => a.eq_ignore_ascii_case(b),
        4..=7 => {
            words_eq(word4(a, 0), word4(b, 0)) && words_eq(word4(a, len - 4), word4(b, len - 4))
        }
        _ => {
            let mut at = 0;
            while at + 8 < len {
                if !words_eq(word8(a, at), word8(b, at)) {
                    return false;
                }
                at += 8;
            }
            words_eq(word8(a, len - 8), word8(b, len - 8))
        }
    }
}

/// Equal ignoring ASCII case, byte by byte (`None`: a word past the end, never asked for).
fn words_eq(x: Option<u64>, y: Option<u64>) -> bool {
    match (x, y) {
        (Some(x), Some(y)) => x == y || lowercase(x) == lowercase(y),
        _ => false,
    }
}

/// The eight bytes of `s` at `at`, as a little-endian word.
fn word8(s: &[u8], at: usize) -> Option<u64> {
    let bytes = s.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// The four bytes of `s` at `at`, as a little-endian word (its high four bytes zero).
fn word4(s: &[u8], at: usize) -> Option<u64> {
    let bytes = s.get(at..at.checked_add(4)?)?;
    Some(u64::from(u32::from_le_bytes(bytes.try_into().ok()?)))
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
pub(crate) fn trim(s: &str) -> &str {
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
                // Lengths compared byte by byte, as two overlapping four-byte words, and as
                // one to three eight-byte words (the last overlapping the one before): the
                // pair sits in every word, and at the last byte.
                for len in [1usize, 3, 4, 5, 7, 8, 9, 12, 14, 16, 17] {
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
