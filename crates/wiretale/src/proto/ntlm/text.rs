//! Length-capped decoding of the strings and byte fields in NTLMSSP messages.

use super::problems::Problems;
use std::fmt;

/// Longest string kept from any field, in characters; longer ones are cut and noted.
pub const MAX_TEXT_CHARS: usize = 256;

/// Longest byte field shown as hex, in bytes; longer ones are cut and noted with `…`.
pub const MAX_HEX_BYTES: usize = 64;

/// How a string field is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// UTF-16LE (NTLMSSP_NEGOTIATE_UNICODE, and always for AV pair values).
    Utf16Le,
    /// The sender's OEM code page, which the message does not name: ASCII/UTF-8 is decoded as
    /// such, any other byte is taken as Latin-1 so nothing is lost silently.
    Oem,
}

/// Decodes a string field, capped at [`MAX_TEXT_CHARS`]; damage is noted under `field`
/// (formatted only then: most fields are fine, and an AV pair's name is built from parts).
pub(crate) fn decode_text(
    bytes: &[u8],
    encoding: Encoding,
    field: &dyn fmt::Display,
    problems: &mut Problems,
) -> String {
    match encoding {
        Encoding::Utf16Le => decode_utf16le(bytes, field, problems),
        Encoding::Oem => decode_oem(bytes, field, problems),
    }
}

fn decode_utf16le(bytes: &[u8], field: &dyn fmt::Display, problems: &mut Problems) -> String {
    if bytes.len() % 2 != 0 {
        problems.push(format!(
            "{field}: odd length {} for a UTF-16 string (last byte ignored)",
            bytes.len()
        ));
    }
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    // Names are mostly ASCII: one byte of text per code unit.
    let mut text = String::with_capacity((bytes.len() / 2).min(MAX_TEXT_CHARS));
    let mut replaced = false;
    for (count, decoded) in char::decode_utf16(units).enumerate() {
        if count >= MAX_TEXT_CHARS {
            note_truncated(field, problems);
            break;
        }
        text.push(decoded.unwrap_or_else(|_| {
            replaced = true;
            char::REPLACEMENT_CHARACTER
        }));
    }
    if replaced {
        problems.push(format!("{field}: invalid UTF-16 replaced with U+FFFD"));
    }
    text
}

fn decode_oem(bytes: &[u8], field: &dyn fmt::Display, problems: &mut Problems) -> String {
    let kept = bytes.get(..MAX_TEXT_CHARS).unwrap_or(bytes);
    if kept.len() < bytes.len() {
        note_truncated(field, problems);
    }
    match std::str::from_utf8(kept) {
        Ok(text) => text.to_owned(),
        Err(_) => kept.iter().map(|&b| char::from(b)).collect(),
    }
}

fn note_truncated(field: &dyn fmt::Display, problems: &mut Problems) {
    problems.push(format!(
        "{field}: longer than {MAX_TEXT_CHARS} characters, truncated"
    ));
}

/// Lowercase hex of `bytes`, at most [`MAX_HEX_BYTES`] of them, then `…` if cut.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let kept = bytes.get(..MAX_HEX_BYTES).unwrap_or(bytes);
    let mut out = String::with_capacity(kept.len() * 2 + '…'.len_utf8());
    for &b in kept {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    if kept.len() < bytes.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_decodes_and_caps_long_strings() {
        let mut problems = Problems::default();
        assert_eq!(
            decode_text(b"F\0G\0", Encoding::Utf16Le, &"target", &mut problems),
            "FG"
        );
        let long = [b'A', 0].repeat(MAX_TEXT_CHARS + 10);
        let text = decode_text(&long, Encoding::Utf16Le, &"user", &mut problems);
        assert_eq!(text.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(
            problems.into_vec(),
            ["user: longer than 256 characters, truncated"]
        );
    }

    #[test]
    fn utf16_odd_length_and_lone_surrogate_are_noted() {
        let mut problems = Problems::default();
        // "A", a lone high surrogate 0xD800, then one stray byte.
        let text = decode_text(
            &[0x41, 0, 0x00, 0xd8, 0x42],
            Encoding::Utf16Le,
            &"x",
            &mut problems,
        );
        assert_eq!(text, "A\u{fffd}");
        assert_eq!(problems.into_vec().len(), 2);
    }

    #[test]
    fn oem_keeps_non_utf8_bytes_as_latin1() {
        let mut problems = Problems::default();
        assert_eq!(
            decode_text(b"MAPLE", Encoding::Oem, &"d", &mut problems),
            "MAPLE"
        );
        assert_eq!(
            decode_text(&[0x4d, 0xfc], Encoding::Oem, &"d", &mut problems),
            "Mü"
        );
        assert!(problems.into_vec().is_empty());
    }

    #[test]
    fn hex_is_capped() {
        assert_eq!(hex(&[0xd1, 0xcb, 0x00]), "d1cb00");
        let every: Vec<u8> = (0..=255).collect();
        for chunk in every.chunks(MAX_HEX_BYTES) {
            let want: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex(chunk), want);
        }
        let long = hex(&[0xab; MAX_HEX_BYTES + 1]);
        assert_eq!(long.len(), MAX_HEX_BYTES * 2 + '…'.len_utf8());
        assert!(long.ends_with('…'));
    }
}
