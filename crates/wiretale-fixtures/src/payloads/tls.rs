//! TLS records and handshake messages (SSL 3.0 to TLS 1.2 framing) as bytes.
//!
//! Message builders return the handshake message *with* its 4-byte header; wrap one or more of
//! them in [`record`] (or [`records`] for data over 16 KiB). Encrypted parts (Finished after
//! ChangeCipherSpec, application data) are deterministic filler of the right length.

use crate::error::{fit, FixtureError, Result};

use super::deterministic_bytes;

/// Record content types.
pub mod content_type {
    /// change_cipher_spec (20).
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert (21).
    pub const ALERT: u8 = 21;
    /// handshake (22).
    pub const HANDSHAKE: u8 = 22;
    /// application_data (23).
    pub const APPLICATION_DATA: u8 = 23;
}

/// Protocol versions.
pub mod version {
    /// SSL 3.0.
    pub const SSL3_0: u16 = 0x0300;
    /// TLS 1.0.
    pub const TLS1_0: u16 = 0x0301;
    /// TLS 1.1.
    pub const TLS1_1: u16 = 0x0302;
    /// TLS 1.2.
    pub const TLS1_2: u16 = 0x0303;
}

/// Handshake message types.
pub mod handshake_type {
    /// client_hello (1).
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello (2).
    pub const SERVER_HELLO: u8 = 2;
    /// certificate (11).
    pub const CERTIFICATE: u8 = 11;
    /// server_key_exchange (12).
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    /// certificate_request (13).
    pub const CERTIFICATE_REQUEST: u8 = 13;
    /// server_hello_done (14).
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// certificate_verify (15).
    pub const CERTIFICATE_VERIFY: u8 = 15;
    /// client_key_exchange (16).
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    /// finished (20).
    pub const FINISHED: u8 = 20;
}

/// Cipher suites used by the scenarios.
pub mod cipher_suite {
    /// TLS_RSA_WITH_RC4_128_SHA.
    pub const RSA_WITH_RC4_128_SHA: u16 = 0x0005;
    /// TLS_RSA_WITH_3DES_EDE_CBC_SHA.
    pub const RSA_WITH_3DES_EDE_CBC_SHA: u16 = 0x000a;
    /// TLS_RSA_WITH_AES_128_CBC_SHA.
    pub const RSA_WITH_AES_128_CBC_SHA: u16 = 0x002f;
    /// TLS_RSA_WITH_AES_256_CBC_SHA.
    pub const RSA_WITH_AES_256_CBC_SHA: u16 = 0x0035;
    /// TLS_RSA_WITH_AES_128_GCM_SHA256.
    pub const RSA_WITH_AES_128_GCM_SHA256: u16 = 0x009c;
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
    pub const ECDHE_RSA_WITH_AES_128_GCM_SHA256: u16 = 0xc02f;
    /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384.
    pub const ECDHE_RSA_WITH_AES_256_GCM_SHA384: u16 = 0xc030;
    /// TLS_EMPTY_RENEGOTIATION_INFO_SCSV.
    pub const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;
}

/// Alert levels and descriptions.
pub mod alert {
    /// warning (1).
    pub const WARNING: u8 = 1;
    /// fatal (2).
    pub const FATAL: u8 = 2;
    /// close_notify (0).
    pub const CLOSE_NOTIFY: u8 = 0;
    /// handshake_failure (40).
    pub const HANDSHAKE_FAILURE: u8 = 40;
    /// bad_certificate (42).
    pub const BAD_CERTIFICATE: u8 = 42;
    /// unknown_ca (48).
    pub const UNKNOWN_CA: u8 = 48;
    /// protocol_version (70).
    pub const PROTOCOL_VERSION: u8 = 70;
}

/// Largest plaintext fragment of one record (2^14).
pub const MAX_FRAGMENT: usize = 16_384;

fn put_vec8(out: &mut Vec<u8>, bytes: &[u8], what: &'static str) -> Result<()> {
    out.push(fit(bytes.len(), what, 255)?);
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_vec16(out: &mut Vec<u8>, bytes: &[u8], what: &'static str) -> Result<()> {
    let len: u16 = fit(bytes.len(), what, 65_535)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_vec24(out: &mut Vec<u8>, bytes: &[u8], what: &'static str) -> Result<()> {
    let len: u32 = fit(bytes.len(), what, 0xff_ffff)?;
    out.extend_from_slice(len.to_be_bytes().get(1..).unwrap_or_default());
    out.extend_from_slice(bytes);
    Ok(())
}

/// One record: type, version, 16-bit length, `fragment` (at most 2^14 + 2048 bytes, the
/// ciphertext limit).
pub fn record(content_type: u8, version: u16, fragment: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(fragment.len().saturating_add(5));
    out.push(content_type);
    out.extend_from_slice(&version.to_be_bytes());
    let len: u16 = fit(fragment.len(), "TLS record fragment", MAX_FRAGMENT + 2048)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(fragment);
    Ok(out)
}

/// `data` cut into records of at most 2^14 bytes each.
pub fn records(content_type: u8, version: u16, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len().saturating_add(64));
    for chunk in data.chunks(MAX_FRAGMENT) {
        out.extend_from_slice(&record(content_type, version, chunk)?);
    }
    if data.is_empty() {
        out.extend_from_slice(&record(content_type, version, &[])?);
    }
    Ok(out)
}

/// A handshake message: type, 24-bit length, `body`.
pub fn handshake(msg_type: u8, body: &[u8]) -> Result<Vec<u8>> {
    let mut out = vec![msg_type];
    put_vec24(&mut out, body, "TLS handshake message")?;
    Ok(out)
}

/// A hello extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Extension type.
    pub kind: u16,
    /// Extension data.
    pub data: Vec<u8>,
}

impl Extension {
    /// server_name (0) with one host_name entry.
    pub fn server_name(host: &str) -> Result<Self> {
        let mut entry = vec![0u8];
        put_vec16(&mut entry, host.as_bytes(), "server name")?;
        let mut data = Vec::new();
        put_vec16(&mut data, &entry, "server name list")?;
        Ok(Extension { kind: 0, data })
    }

    /// supported_groups (10), e.g. 23 = secp256r1, 24 = secp384r1, 29 = x25519.
    pub fn supported_groups(groups: &[u16]) -> Result<Self> {
        let list: Vec<u8> = groups.iter().flat_map(|g| g.to_be_bytes()).collect();
        let mut data = Vec::new();
        put_vec16(&mut data, &list, "supported groups")?;
        Ok(Extension { kind: 10, data })
    }

    /// ec_point_formats (11) with "uncompressed".
    pub fn ec_point_formats() -> Self {
        Extension {
            kind: 11,
            data: vec![1, 0],
        }
    }

    /// signature_algorithms (13), e.g. 0x0401 = rsa_pkcs1_sha256.
    pub fn signature_algorithms(schemes: &[u16]) -> Result<Self> {
        let list: Vec<u8> = schemes.iter().flat_map(|g| g.to_be_bytes()).collect();
        let mut data = Vec::new();
        put_vec16(&mut data, &list, "signature algorithms")?;
        Ok(Extension { kind: 13, data })
    }

    /// extended_master_secret (23), empty.
    pub fn extended_master_secret() -> Self {
        Extension {
            kind: 23,
            data: Vec::new(),
        }
    }

    /// renegotiation_info (0xff01) for an initial handshake.
    pub fn renegotiation_info() -> Self {
        Extension {
            kind: 0xff01,
            data: vec![0],
        }
    }

    fn encode_list(extensions: &[Extension], out: &mut Vec<u8>) -> Result<()> {
        if extensions.is_empty() {
            return Ok(());
        }
        let mut list = Vec::new();
        for e in extensions {
            list.extend_from_slice(&e.kind.to_be_bytes());
            put_vec16(&mut list, &e.data, "extension data")?;
        }
        put_vec16(out, &list, "extensions")
    }
}

/// A ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// client_version.
    pub version: u16,
    /// The 32-byte random.
    pub random: [u8; 32],
    /// Session id to resume (empty for a new session).
    pub session_id: Vec<u8>,
    /// Offered cipher suites.
    pub cipher_suites: Vec<u16>,
    /// Offered compression methods (`[0]` = null only).
    pub compression_methods: Vec<u8>,
    /// Extensions (none: no extensions block at all, as SSL 3.0/TLS 1.0 clients sent).
    pub extensions: Vec<Extension>,
}

fn random32(seed: u64) -> [u8; 32] {
    let mut r = [0u8; 32];
    r.copy_from_slice(deterministic_bytes(seed, 32).get(..32).unwrap_or(&[0; 32]));
    r
}

impl ClientHello {
    /// A hello for `version` with a random derived from `seed`, no session id, null
    /// compression, no extensions, and RSA key-exchange suites.
    pub fn new(version: u16, seed: u64) -> Self {
        ClientHello {
            version,
            random: random32(seed),
            session_id: Vec::new(),
            cipher_suites: vec![
                cipher_suite::RSA_WITH_AES_128_CBC_SHA,
                cipher_suite::RSA_WITH_AES_256_CBC_SHA,
                cipher_suite::RSA_WITH_RC4_128_SHA,
                cipher_suite::RSA_WITH_3DES_EDE_CBC_SHA,
            ],
            compression_methods: vec![0],
            extensions: Vec::new(),
        }
    }

    /// The handshake message (with header).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.version.to_be_bytes());
        body.extend_from_slice(&self.random);
        put_vec8(&mut body, &self.session_id, "session id")?;
        let suites: Vec<u8> = self
            .cipher_suites
            .iter()
            .flat_map(|s| s.to_be_bytes())
            .collect();
        put_vec16(&mut body, &suites, "cipher suites")?;
        put_vec8(&mut body, &self.compression_methods, "compression methods")?;
        Extension::encode_list(&self.extensions, &mut body)?;
        handshake(handshake_type::CLIENT_HELLO, &body)
    }
}

/// A ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// server_version.
    pub version: u16,
    /// The 32-byte random.
    pub random: [u8; 32],
    /// Session id.
    pub session_id: Vec<u8>,
    /// Chosen suite.
    pub cipher_suite: u16,
    /// Chosen compression method.
    pub compression_method: u8,
    /// Extensions.
    pub extensions: Vec<Extension>,
}

impl ServerHello {
    /// A hello for `version` choosing `cipher_suite`, with random and a 32-byte session id
    /// derived from `seed`, null compression, no extensions.
    pub fn new(version: u16, cipher_suite: u16, seed: u64) -> Self {
        ServerHello {
            version,
            random: random32(seed),
            session_id: deterministic_bytes(seed.wrapping_add(1), 32),
            cipher_suite,
            compression_method: 0,
            extensions: Vec::new(),
        }
    }

    /// The handshake message (with header).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.version.to_be_bytes());
        body.extend_from_slice(&self.random);
        put_vec8(&mut body, &self.session_id, "session id")?;
        body.extend_from_slice(&self.cipher_suite.to_be_bytes());
        body.push(self.compression_method);
        Extension::encode_list(&self.extensions, &mut body)?;
        handshake(handshake_type::SERVER_HELLO, &body)
    }
}

/// Certificate message carrying `chain` (DER certificates, leaf first; empty for a client
/// without a certificate).
pub fn certificate(chain: &[&[u8]]) -> Result<Vec<u8>> {
    let mut list = Vec::new();
    for cert in chain {
        put_vec24(&mut list, cert, "certificate")?;
    }
    let mut body = Vec::new();
    put_vec24(&mut body, &list, "certificate list")?;
    handshake(handshake_type::CERTIFICATE, &body)
}

/// CertificateRequest: certificate types (1 = rsa_sign), signature algorithms (TLS 1.2 only,
/// `None` before) and acceptable CA names (DER distinguished names).
pub fn certificate_request(
    cert_types: &[u8],
    signature_algorithms: Option<&[u16]>,
    authorities: &[&[u8]],
) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    put_vec8(&mut body, cert_types, "certificate types")?;
    if let Some(algs) = signature_algorithms {
        let list: Vec<u8> = algs.iter().flat_map(|a| a.to_be_bytes()).collect();
        put_vec16(&mut body, &list, "signature algorithms")?;
    }
    let mut names = Vec::new();
    for n in authorities {
        put_vec16(&mut names, n, "distinguished name")?;
    }
    put_vec16(&mut body, &names, "certificate authorities")?;
    handshake(handshake_type::CERTIFICATE_REQUEST, &body)
}

/// ServerHelloDone.
pub fn server_hello_done() -> Vec<u8> {
    vec![handshake_type::SERVER_HELLO_DONE, 0, 0, 0]
}

/// ClientKeyExchange for RSA key exchange (TLS 1.0+: the encrypted premaster secret with a
/// 16-bit length; use e.g. 256 bytes of [`deterministic_bytes`] for a 2048-bit key).
pub fn client_key_exchange_rsa(encrypted_premaster: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    put_vec16(&mut body, encrypted_premaster, "encrypted premaster secret")?;
    handshake(handshake_type::CLIENT_KEY_EXCHANGE, &body)
}

/// A ChangeCipherSpec record.
pub fn change_cipher_spec(version: u16) -> Vec<u8> {
    let [hi, lo] = version.to_be_bytes();
    vec![content_type::CHANGE_CIPHER_SPEC, hi, lo, 0, 1, 1]
}

/// An unencrypted alert record.
pub fn alert_record(version: u16, level: u8, description: u8) -> Vec<u8> {
    let [hi, lo] = version.to_be_bytes();
    vec![content_type::ALERT, hi, lo, 0, 2, level, description]
}

/// A record of `len` bytes of deterministic ciphertext (e.g. an encrypted Finished: 48 bytes
/// for TLS 1.0 AES-CBC-SHA, 40 for TLS 1.2 AES-GCM).
pub fn encrypted_record(content_type: u8, version: u16, len: usize, seed: u64) -> Result<Vec<u8>> {
    if len > MAX_FRAGMENT + 2048 {
        return Err(FixtureError::TooLong {
            what: "TLS ciphertext",
            len,
            max: MAX_FRAGMENT + 2048,
        });
    }
    record(content_type, version, &deterministic_bytes(seed, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_layout() {
        let mut ch = ClientHello::new(version::TLS1_2, 7);
        ch.extensions = vec![
            Extension::server_name("a.example").unwrap(),
            Extension::renegotiation_info(),
        ];
        let msg = ch.encode().unwrap();
        assert_eq!(msg[0], 1);
        let len = u32::from_be_bytes([0, msg[1], msg[2], msg[3]]) as usize;
        assert_eq!(len + 4, msg.len());
        assert_eq!(&msg[4..6], &[3, 3]);
        assert_eq!(msg[38], 0, "empty session id");
        assert_eq!(&msg[39..41], &[0, 8], "four suites");
        assert_eq!(&msg[49..51], &[1, 0], "null compression");
        // extensions: total, then SNI type 0 len 14: list len 12, type 0, name len 9.
        assert_eq!(&msg[51..53], &[0, 23]);
        assert_eq!(&msg[53..62], &[0, 0, 0, 14, 0, 12, 0, 0, 9]);
        assert_eq!(&msg[62..71], b"a.example");
        assert_eq!(&msg[71..], &[0xff, 1, 0, 1, 0]);
    }

    #[test]
    fn tls10_hello_without_extensions_has_no_extension_block() {
        let msg = ClientHello::new(version::TLS1_0, 1).encode().unwrap();
        assert_eq!(msg.len(), 4 + 2 + 32 + 1 + 2 + 8 + 2);
    }

    #[test]
    fn certificate_message_nests_lengths() {
        let msg = certificate(&[&[0xaa; 3], &[0xbb; 2]]).unwrap();
        assert_eq!(
            msg,
            vec![11, 0, 0, 14, 0, 0, 11, 0, 0, 3, 0xaa, 0xaa, 0xaa, 0, 0, 2, 0xbb, 0xbb]
        );
        assert_eq!(certificate(&[]).unwrap(), vec![11, 0, 0, 3, 0, 0, 0]);
    }

    #[test]
    fn records_and_small_messages() {
        assert_eq!(
            record(22, 0x0301, &[1, 2]).unwrap(),
            vec![22, 3, 1, 0, 2, 1, 2]
        );
        assert_eq!(
            alert_record(0x0303, alert::FATAL, alert::HANDSHAKE_FAILURE),
            vec![21, 3, 3, 0, 2, 2, 40]
        );
        assert_eq!(change_cipher_spec(0x0301), vec![20, 3, 1, 0, 1, 1]);
        let big = records(23, 0x0303, &vec![0; MAX_FRAGMENT + 1]).unwrap();
        assert_eq!(big.len(), MAX_FRAGMENT + 1 + 10);
        assert!(record(23, 0x0303, &vec![0; MAX_FRAGMENT + 2049]).is_err());
        let cr = certificate_request(&[1], Some(&[0x0401]), &[]).unwrap();
        assert_eq!(cr, vec![13, 0, 0, 8, 1, 1, 0, 2, 4, 1, 0, 0]);
        assert_eq!(
            client_key_exchange_rsa(&[9; 4]).unwrap(),
            vec![16, 0, 0, 6, 0, 4, 9, 9, 9, 9]
        );
    }
}
