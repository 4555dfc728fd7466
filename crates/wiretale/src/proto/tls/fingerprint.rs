//! Client and server hello fingerprints: JA3, JA3S (Salesforce) and JA4 (FoxIO).
//!
//! Not provided by tls-parser, so written here from the published specifications. GREASE values
//! (RFC 8701) are left out everywhere, as both specifications require.

use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::message::Ja3;
use super::names::is_grease;
use super::reader::hex;
use crate::timeline::summary::push_decimal;

/// What the fingerprints are computed from: the ClientHello's lists in wire order.
#[derive(Debug, Clone, Copy)]
pub struct ClientHelloFields<'a> {
    /// `legacy_version`.
    pub legacy_version: u16,
    /// Cipher suites.
    pub cipher_suites: &'a [u16],
    /// Extension types.
    pub extensions: &'a [u16],
    /// supported_groups.
    pub supported_groups: &'a [u16],
    /// ec_point_formats.
    pub ec_point_formats: &'a [u8],
    /// signature_algorithms.
    pub signature_algorithms: &'a [u16],
    /// supported_versions.
    pub supported_versions: &'a [u16],
    /// The first ALPN protocol name, if any.
    pub first_alpn: Option<&'a [u8]>,
}

// The lists are written digit by digit rather than with `write!`: a ClientHello carries
// dozens of values and its fingerprints were over a tenth of decoding a TLS connection.

/// `v` as four lower-case hex digits (what `{:04x}` writes).
fn push_hex4(out: &mut String, v: u16) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in [12, 8, 4, 0] {
        out.push(char::from(DIGITS[usize::from((v >> shift) & 0xf)]));
    }
}

fn join_decimal<T: Into<u16>>(values: impl Iterator<Item = T>) -> String {
    let mut out = String::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_decimal(&mut out, v.into());
    }
    out
}

fn md5_hex(text: &str) -> String {
    recent_digests::hex_digest(Digest::Md5, text)
}

/// Which digest of a fingerprint's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digest {
    /// MD5, in hex (JA3, JA3S).
    Md5,
    /// The first 12 hex digits of SHA-256 (JA4's parts b and c).
    Sha256First12,
}

impl Digest {
    fn hex(self, text: &str) -> String {
        match self {
            Digest::Md5 => hex(&Md5::digest(text.as_bytes())),
            Digest::Sha256First12 => {
                let mut digest = hex(&Sha256::digest(text.as_bytes()));
                digest.truncate(12);
                digest
            }
        }
    }
}

/// The digests of the last fingerprint texts, per thread. The same client sends the same
/// lists in every ClientHello (and a server answers alike), so most fingerprints of a
/// capture repeat; hashing their texts again (software SHA-256 and MD5) was over half of
/// decoding a ClientHello.
mod recent_digests {
    use super::super::recent::Recent;
    use super::Digest;
    use std::cell::RefCell;

    /// The longest text kept: at most ~256 KiB in all.
    const MAX_TEXT: usize = 4096;

    type Memo = Recent<(Digest, Box<str>), String>;

    thread_local! {
        static RECENT: RefCell<Memo> = const { RefCell::new(Recent::new()) };
    }

    /// `digest` of `text` in hex, from the cache or computed (and kept).
    pub(super) fn hex_digest(digest: Digest, text: &str) -> String {
        if text.len() > MAX_TEXT {
            return digest.hex(text);
        }
        let hash = Memo::hash_of(text);
        let is_key = |(d, t): &(Digest, Box<str>)| *d == digest && **t == *text;
        if let Some(hex) = RECENT.with_borrow(|r| r.find(hash, is_key)) {
            return hex;
        }
        let hex = digest.hex(text);
        RECENT.with_borrow_mut(|r| r.keep(hash, (digest, text.into()), hex.clone()));
        hex
    }
}

/// JA3 of a ClientHello: `version,ciphers,extensions,groups,point_formats`.
pub fn ja3(fields: &ClientHelloFields<'_>) -> Ja3 {
    let string = format!(
        "{},{},{},{},{}",
        fields.legacy_version,
        join_decimal(
            fields
                .cipher_suites
                .iter()
                .copied()
                .filter(|&c| !is_grease(c))
        ),
        join_decimal(fields.extensions.iter().copied().filter(|&e| !is_grease(e))),
        join_decimal(
            fields
                .supported_groups
                .iter()
                .copied()
                .filter(|&g| !is_grease(g))
        ),
        join_decimal(fields.ec_point_formats.iter().copied()),
    );
    let hash = md5_hex(&string);
    Ja3 { string, hash }
}

/// JA3S of a ServerHello: `version,cipher,extensions`.
pub fn ja3s(legacy_version: u16, cipher_suite: u16, extensions: &[u16]) -> Ja3 {
    let string = format!(
        "{},{},{}",
        legacy_version,
        cipher_suite,
        join_decimal(extensions.iter().copied().filter(|&e| !is_grease(e))),
    );
    let hash = md5_hex(&string);
    Ja3 { string, hash }
}

fn ja4_version(version: u16) -> &'static str {
    match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The two ALPN characters of JA4 part a.
fn ja4_alpn(first: Option<&[u8]>) -> String {
    let Some(value) = first else {
        return "00".to_owned();
    };
    let (Some(&head), Some(&tail)) = (value.first(), value.last()) else {
        return "00".to_owned();
    };
    if head.is_ascii_alphanumeric() && tail.is_ascii_alphanumeric() {
        let mut out = String::with_capacity(2);
        out.push(char::from(head));
        out.push(char::from(tail));
        out
    } else {
        // First hex digit of the first byte, last hex digit of the last byte.
        let head_hex = hex(&[head]);
        let tail_hex = hex(&[tail]);
        let mut out = String::with_capacity(2);
        out.extend(head_hex.chars().next());
        out.extend(tail_hex.chars().last());
        out
    }
}

fn hex4_list(values: &[u16]) -> String {
    let mut out = String::with_capacity(values.len().saturating_mul(5));
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_hex4(&mut out, *v);
    }
    out
}

fn sha256_12(text: &str) -> String {
    recent_digests::hex_digest(Digest::Sha256First12, text)
}

/// JA4 of a ClientHello over TCP: returns `(ja4, ja4_r)`.
pub fn ja4(fields: &ClientHelloFields<'_>) -> (String, String) {
    let version = fields
        .supported_versions
        .iter()
        .copied()
        .filter(|&v| !is_grease(v))
        .max()
        .unwrap_or(fields.legacy_version);
    let mut ciphers: Vec<u16> = fields
        .cipher_suites
        .iter()
        .copied()
        .filter(|&c| !is_grease(c))
        .collect();
    let extensions: Vec<u16> = fields
        .extensions
        .iter()
        .copied()
        .filter(|&e| !is_grease(e))
        .collect();
    let sni = if extensions.contains(&0) { 'd' } else { 'i' };
    let part_a = format!(
        "t{}{}{:02}{:02}{}",
        ja4_version(version),
        sni,
        ciphers.len().min(99),
        extensions.len().min(99),
        ja4_alpn(fields.first_alpn)
    );

    ciphers.sort_unstable();
    let cipher_list = hex4_list(&ciphers);
    let part_b = if ciphers.is_empty() {
        "000000000000".to_owned()
    } else {
        sha256_12(&cipher_list)
    };

    let mut sorted_ext: Vec<u16> = extensions
        .iter()
        .copied()
        .filter(|&e| e != 0x0000 && e != 0x0010)
        .collect();
    sorted_ext.sort_unstable();
    let sigalgs: Vec<u16> = fields
        .signature_algorithms
        .iter()
        .copied()
        .filter(|&s| !is_grease(s))
        .collect();
    let mut ext_text = hex4_list(&sorted_ext);
    if !sigalgs.is_empty() {
        ext_text.push('_');
        ext_text.push_str(&hex4_list(&sigalgs));
    }
    let part_c = if sorted_ext.is_empty() {
        "000000000000".to_owned()
    } else {
        sha256_12(&ext_text)
    };
    (
        format!("{part_a}_{part_b}_{part_c}"),
        format!("{part_a}_{cipher_list}_{ext_text}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_like_the_standard_library() {
        for v in 0..=u16::MAX {
            let (mut dec, mut hex) = (String::new(), String::new());
            push_decimal(&mut dec, v);
            push_hex4(&mut hex, v);
            assert_eq!((dec, hex), (format!("{v}"), format!("{v:04x}")));
        }
    }

    /// The worked example of the FoxIO JA4 specification (technical_details/JA4.md).
    #[test]
    fn ja4_spec_example() {
        let ciphers = [
            0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let extensions = [
            0x1a1a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
            0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ];
        let sigalgs = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let fields = ClientHelloFields {
            legacy_version: 0x0303,
            cipher_suites: &ciphers,
            extensions: &extensions,
            supported_groups: &[],
            ec_point_formats: &[],
            signature_algorithms: &sigalgs,
            supported_versions: &[0x2a2a, 0x0304, 0x0303],
            first_alpn: Some(b"h2"),
        };
        let (fingerprint, raw) = ja4(&fields);
        assert_eq!(fingerprint, "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            raw,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_\
             0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_\
             0403,0804,0401,0503,0805,0501,0806,0601"
        );
        // Without signature algorithms the string has no underscore (spec: 6d807ffa2a79).
        let fields = ClientHelloFields {
            signature_algorithms: &[],
            ..fields
        };
        assert!(ja4(&fields).0.ends_with("_6d807ffa2a79"));
    }

    #[test]
    fn ja4_alpn_rules_from_the_spec() {
        assert_eq!(ja4_alpn(None), "00");
        assert_eq!(ja4_alpn(Some(b"")), "00");
        assert_eq!(ja4_alpn(Some(b"http/1.1")), "h1");
        assert_eq!(ja4_alpn(Some(b"h")), "hh");
        assert_eq!(ja4_alpn(Some(&[0xab])), "ab");
        assert_eq!(ja4_alpn(Some(&[0xab, 0xcd])), "ad");
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab])), "3b");
        assert_eq!(ja4_alpn(Some(&[0x30, 0x31, 0xab, 0xcd])), "3d");
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab, 0xcd, 0x31])), "01");
    }

    #[test]
    fn ja4_empty_lists_use_zeros() {
        let fields = ClientHelloFields {
            legacy_version: 0x0300,
            cipher_suites: &[],
            extensions: &[],
            supported_groups: &[],
            ec_point_formats: &[],
            signature_algorithms: &[],
            supported_versions: &[],
            first_alpn: None,
        };
        assert_eq!(ja4(&fields).0, "ts3i000000_000000000000_000000000000");
    }

    #[test]
    fn ja3_drops_grease_and_hashes_with_md5() {
        let fields = ClientHelloFields {
            legacy_version: 769,
            cipher_suites: &[0x2a2a, 47, 53],
            extensions: &[0x3a3a, 0, 10, 11],
            supported_groups: &[0x4a4a, 23],
            ec_point_formats: &[0],
            signature_algorithms: &[],
            supported_versions: &[],
            first_alpn: None,
        };
        let fp = ja3(&fields);
        assert_eq!(fp.string, "769,47-53,0-10-11,23,0");
        // md5("769,47-53,0-10-11,23,0"), computed independently with coreutils md5sum.
        assert_eq!(fp.hash, "2e7e83b751d56261aa3d39be7586665e");
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    /// The recent-digests cache answers what hashing answers: the same text under both
    /// digests, repeated, and after more texts than it keeps have pushed it out.
    #[test]
    fn cached_digests_are_the_digests() {
        for round in 0..3 {
            assert_eq!(
                md5_hex("abc"),
                "900150983cd24fb0d6963f7d28e17f72",
                "{round}"
            );
            assert_eq!(sha256_12("abc"), "ba7816bf8f01", "{round}");
            for i in 0..100 {
                let text = format!("{i},{round}");
                assert_eq!(md5_hex(&text), Digest::Md5.hex(&text));
                assert_eq!(sha256_12(&text), Digest::Sha256First12.hex(&text));
            }
        }
        let long = "0a0a,".repeat(1000);
        assert_eq!(sha256_12(&long), Digest::Sha256First12.hex(&long));
    }

    #[test]
    fn ja3s_string() {
        let fp = ja3s(771, 49200, &[35, 65281]);
        assert_eq!(fp.string, "771,49200,35-65281");
        // Arkime's tests/pcap/https-connect.test expects this JA3S hash for the same server.
        assert_eq!(fp.hash, "b7bd51222a09f3ad66a340710ae9c01a");
    }
}
