//! SSL 2.0 records and messages, and the SSLv2-compatible ClientHello of SSL 3.0/TLS clients.
//!
//! tls-parser has no SSLv2 support, so this is written by hand from the SSL 2.0 draft
//! (draft-hickman-netscape-ssl-00) and RFC 5246 appendix E.2.

use super::cert::CertificateInfo;
use super::error::DecodeError;
use super::message::{
    CipherSuite, ClientHello, HandshakeBody, Sslv2CipherSpec, Sslv2ClientMasterKey,
    Sslv2ServerHello,
};
use super::names::{sslv2_error_name, version_name};
use super::reader::{hex, Reader};

/// SSLv2 message type of CLIENT-HELLO.
pub const CLIENT_HELLO: u8 = 1;
/// SSLv2 message type of CLIENT-MASTER-KEY.
pub const CLIENT_MASTER_KEY: u8 = 2;
/// SSLv2 message type of SERVER-HELLO.
pub const SERVER_HELLO: u8 = 4;
/// SSLv2 message type of ERROR.
pub const ERROR: u8 = 0;

/// An SSLv2 record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sslv2Header {
    /// 2 (no padding) or 3 (with a padding byte).
    pub header_len: usize,
    /// Length of the record body (including padding).
    pub length: usize,
    /// Number of padding bytes at the end of the body.
    pub padding: u8,
}

impl Sslv2Header {
    /// Header plus body.
    pub fn total_len(&self) -> usize {
        self.header_len.saturating_add(self.length)
    }
}

/// What the bytes at some position say about an SSLv2 record header there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sslv2HeaderCheck {
    /// A header.
    Header(Sslv2Header),
    /// More bytes are needed.
    NeedMore,
    /// Not an SSLv2 header.
    Invalid,
}

/// Reads an SSLv2 record header. The 3-byte form (high bit clear) is only accepted when
/// `allow_padded` is set, because it cannot be told apart from a TLS record by its first byte.
pub fn parse_header(bytes: &[u8], allow_padded: bool) -> Sslv2HeaderCheck {
    let Some(&first) = bytes.first() else {
        return Sslv2HeaderCheck::NeedMore;
    };
    if first & 0x80 != 0 {
        let Some(&second) = bytes.get(1) else {
            return Sslv2HeaderCheck::NeedMore;
        };
        let length = usize::from(first & 0x7f) << 8 | usize::from(second);
        return Sslv2HeaderCheck::Header(Sslv2Header {
            header_len: 2,
            length,
            padding: 0,
        });
    }
    if !allow_padded {
        return Sslv2HeaderCheck::Invalid;
    }
    let (Some(&second), Some(&padding)) = (bytes.get(1), bytes.get(2)) else {
        return Sslv2HeaderCheck::NeedMore;
    };
    let length = usize::from(first & 0x3f) << 8 | usize::from(second);
    if usize::from(padding) > length {
        return Sslv2HeaderCheck::Invalid;
    }
    Sslv2HeaderCheck::Header(Sslv2Header {
        header_len: 3,
        length,
        padding,
    })
}

fn plausible_hello_version(major: u8, minor: u8) -> bool {
    (major == 0 && minor == 2) || (major == 3 && minor <= 4)
}

/// Whether `bytes` start with an SSLv2-format CLIENT-HELLO (pure SSLv2 or the compatible hello
/// of SSL 3.0/TLS clients). `None` = not enough bytes to tell.
pub fn looks_like_client_hello(bytes: &[u8]) -> Option<bool> {
    let first = *bytes.first()?;
    if first & 0x80 == 0 {
        return Some(false);
    }
    let second = *bytes.get(1)?;
    let length = usize::from(first & 0x7f) << 8 | usize::from(second);
    // type + version + three lengths; a challenge of at least 16 bytes.
    if length < 9 {
        return Some(false);
    }
    if *bytes.get(2)? != CLIENT_HELLO {
        return Some(false);
    }
    let major = *bytes.get(3)?;
    let minor = *bytes.get(4)?;
    Some(plausible_hello_version(major, minor))
}

/// Whether `bytes` start with an SSLv2 SERVER-HELLO record. `None` = need more bytes.
pub fn looks_like_server_hello(bytes: &[u8]) -> Option<bool> {
    let first = *bytes.first()?;
    if first & 0x80 == 0 {
        return Some(false);
    }
    let second = *bytes.get(1)?;
    let length = usize::from(first & 0x7f) << 8 | usize::from(second);
    if length < 11 || *bytes.get(2)? != SERVER_HELLO {
        return Some(false);
    }
    let hit = *bytes.get(3)?;
    let _cert_type = *bytes.get(4)?;
    let major = *bytes.get(5)?;
    let minor = *bytes.get(6)?;
    Some(hit <= 1 && major == 0 && minor == 2)
}

/// Name of an SSLv2 cipher kind.
pub fn cipher_spec_name(id: u32) -> &'static str {
    match id {
        0x01_0080 => "SSL_CK_RC4_128_WITH_MD5",
        0x02_0080 => "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
        0x03_0080 => "SSL_CK_RC2_128_CBC_WITH_MD5",
        0x04_0080 => "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5",
        0x05_0080 => "SSL_CK_IDEA_128_CBC_WITH_MD5",
        0x06_0040 => "SSL_CK_DES_64_CBC_WITH_MD5",
        0x07_00c0 => "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
        0x08_0080 => "SSL_CK_RC4_64_WITH_MD5",
        _ => "unknown",
    }
}

fn spec(bytes: &[u8]) -> Sslv2CipherSpec {
    let id = bytes
        .iter()
        .take(3)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    Sslv2CipherSpec {
        id,
        name: cipher_spec_name(id),
    }
}

/// Decodes a CLIENT-HELLO body (after the message type byte). Cipher specs whose first byte is
/// zero are TLS cipher suites (RFC 5246 E.2) and are listed as such.
pub fn decode_client_hello(body: &[u8]) -> Result<ClientHello, DecodeError> {
    let mut r = Reader::new(body);
    let t = DecodeError::Truncated("sslv2 client_hello");
    let version = r.u16().ok_or(t.clone())?;
    let specs_len = r.u16().ok_or(t.clone())?;
    let session_id_len = r.u16().ok_or(t.clone())?;
    let challenge_len = r.u16().ok_or(t.clone())?;
    if specs_len % 3 != 0 {
        return Err(DecodeError::Invalid("sslv2 cipher_specs length"));
    }
    let specs = r.take(usize::from(specs_len)).ok_or(t.clone())?;
    let session_id = r.take(usize::from(session_id_len)).ok_or(t.clone())?;
    r.take(usize::from(challenge_len)).ok_or(t)?;

    let mut cipher_suites = Vec::new();
    let mut sslv2_cipher_specs = Vec::new();
    let mut lists_truncated = false;
    for chunk in specs.chunks_exact(3) {
        if cipher_suites.len() + sslv2_cipher_specs.len() >= super::hello::MAX_LIST_ITEMS {
            lists_truncated = true;
            break;
        }
        match chunk {
            [0, hi, lo] => cipher_suites.push(CipherSuite::new(u16::from_be_bytes([*hi, *lo]))),
            _ => sslv2_cipher_specs.push(spec(chunk)),
        }
    }
    Ok(ClientHello {
        legacy_version: version,
        legacy_version_name: version_name(version),
        supported_versions: Vec::new(),
        highest_version: version,
        highest_version_name: version_name(version),
        server_name: None,
        alpn: Vec::new(),
        fallback_scsv: cipher_suites.iter().any(|c| c.id == 0x5600),
        cipher_suites,
        compression_methods: Vec::new(),
        extensions: Vec::new(),
        session_id: hex(session_id),
        supported_groups: Vec::new(),
        ec_point_formats: Vec::new(),
        signature_algorithms: Vec::new(),
        session_ticket_length: None,
        offers_psk: false,
        offers_early_data: false,
        sslv2_format: true,
        sslv2_cipher_specs,
        lists_truncated,
        ja3: None,
        ja4: None,
        ja4_r: None,
    })
}

/// Decodes a SERVER-HELLO body (after the message type byte).
pub fn decode_server_hello(body: &[u8]) -> Result<Sslv2ServerHello, DecodeError> {
    let mut r = Reader::new(body);
    let t = DecodeError::Truncated("sslv2 server_hello");
    let hit = r.u8().ok_or(t.clone())?;
    let certificate_type = r.u8().ok_or(t.clone())?;
    let version = r.u16().ok_or(t.clone())?;
    let cert_len = r.u16().ok_or(t.clone())?;
    let specs_len = r.u16().ok_or(t.clone())?;
    let connection_id_length = r.u16().ok_or(t.clone())?;
    let cert = r.take(usize::from(cert_len)).ok_or(t.clone())?;
    let specs = r.take(usize::from(specs_len)).ok_or(t.clone())?;
    r.take(usize::from(connection_id_length)).ok_or(t)?;
    let (certificate, certificate_error) = if cert.is_empty() {
        (None, None)
    } else {
        match CertificateInfo::from_der(cert) {
            Ok(info) => (Some(info), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    Ok(Sslv2ServerHello {
        session_id_hit: hit != 0,
        certificate_type,
        version,
        certificate,
        certificate_error,
        cipher_specs: specs
            .chunks_exact(3)
            .take(super::hello::MAX_LIST_ITEMS)
            .map(spec)
            .collect(),
        connection_id_length,
    })
}

/// Decodes a CLIENT-MASTER-KEY body (after the message type byte).
pub fn decode_client_master_key(body: &[u8]) -> Result<Sslv2ClientMasterKey, DecodeError> {
    let mut r = Reader::new(body);
    let t = DecodeError::Truncated("sslv2 client_master_key");
    let kind = r.take(3).ok_or(t.clone())?;
    let clear_key_length = r.u16().ok_or(t.clone())?;
    let encrypted_key_length = r.u16().ok_or(t.clone())?;
    let key_arg_length = r.u16().ok_or(t)?;
    Ok(Sslv2ClientMasterKey {
        cipher_spec: spec(kind),
        clear_key_length,
        encrypted_key_length,
        key_arg_length,
    })
}

/// Decodes the body of a plaintext SSLv2 message of type `message_type`.
pub fn decode_message(message_type: u8, body: &[u8]) -> HandshakeBody {
    let result = match message_type {
        CLIENT_HELLO => decode_client_hello(body).map(|h| HandshakeBody::ClientHello(Box::new(h))),
        SERVER_HELLO => {
            decode_server_hello(body).map(|h| HandshakeBody::Sslv2ServerHello(Box::new(h)))
        }
        CLIENT_MASTER_KEY => {
            decode_client_master_key(body).map(HandshakeBody::Sslv2ClientMasterKey)
        }
        ERROR => Reader::new(body)
            .u16()
            .map(|code| HandshakeBody::Sslv2Error {
                code,
                name: sslv2_error_name(code),
            })
            .ok_or(DecodeError::Truncated("sslv2 error")),
        _ => Ok(HandshakeBody::Other),
    };
    result.unwrap_or_else(|e| HandshakeBody::Malformed {
        error: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SSLv2-compatible ClientHello sent in tls10-sslv2-compat-hello.pcap (first 20 bytes of
    /// the record shown by the capture, rest rebuilt from its lengths).
    #[test]
    fn compat_hello_lists_tls_suites_and_v2_specs() {
        let mut body = vec![0x03, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10];
        body.extend([0x00, 0x00, 0x2f, 0x01, 0x00, 0x80]);
        body.extend([0x42; 16]);
        let hello = decode_client_hello(&body).unwrap();
        assert!(hello.sslv2_format);
        assert_eq!(hello.legacy_version, 0x0301);
        assert_eq!(hello.cipher_suites.len(), 1);
        assert_eq!(
            hello.cipher_suites[0].name,
            Some("TLS_RSA_WITH_AES_128_CBC_SHA")
        );
        assert_eq!(hello.sslv2_cipher_specs[0].name, "SSL_CK_RC4_128_WITH_MD5");
        assert!(hello.ja3.is_none());
    }

    #[test]
    fn headers_two_and_three_bytes() {
        assert_eq!(
            parse_header(&[0x80, 0x2e], false),
            Sslv2HeaderCheck::Header(Sslv2Header {
                header_len: 2,
                length: 0x2e,
                padding: 0
            })
        );
        assert_eq!(
            parse_header(&[0x00, 0x20, 0x05], false),
            Sslv2HeaderCheck::Invalid
        );
        assert_eq!(
            parse_header(&[0x00, 0x20, 0x05], true),
            Sslv2HeaderCheck::Header(Sslv2Header {
                header_len: 3,
                length: 0x20,
                padding: 5
            })
        );
        assert_eq!(
            parse_header(&[0x00, 0x02, 0x05], true),
            Sslv2HeaderCheck::Invalid
        );
        assert_eq!(parse_header(&[0x80], false), Sslv2HeaderCheck::NeedMore);
    }

    #[test]
    fn sniffing_client_and_server_hellos() {
        assert_eq!(looks_like_client_hello(&[0x80]), None);
        assert_eq!(
            looks_like_client_hello(&[0x80, 0x2e, 0x01, 0x00, 0x02]),
            Some(true)
        );
        assert_eq!(
            looks_like_client_hello(&[0x80, 0x67, 0x01, 0x03, 0x01]),
            Some(true)
        );
        assert_eq!(
            looks_like_client_hello(&[0x80, 0x67, 0x01, 0x07, 0x01]),
            Some(false)
        );
        assert_eq!(looks_like_client_hello(b"GET /"), Some(false));
        assert_eq!(
            looks_like_server_hello(&[0x83, 0xb4, 0x04, 0x00, 0x01, 0x00, 0x02]),
            Some(true)
        );
    }

    #[test]
    fn short_messages_are_malformed() {
        for t in 0..=8u8 {
            for len in 0..12 {
                let body = vec![0u8; len];
                let _ = decode_message(t, &body);
            }
        }
        assert!(matches!(
            decode_message(CLIENT_MASTER_KEY, &[1, 0]),
            HandshakeBody::Malformed { .. }
        ));
    }
}
