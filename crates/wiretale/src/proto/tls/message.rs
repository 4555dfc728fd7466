//! The decoded things the TLS decoder reports: [`TlsMessage`] and the structs it carries.
//! Output only: every type here is an owned, serialisable description of what was on the wire.

use serde::Serialize;

use super::cert::CertificateInfo;

/// One event reported by the TLS stream parser.
///
/// Serialised with a `kind` tag, e.g. `{"kind":"handshake","handshake_type":1,...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TlsMessage {
    /// A plaintext handshake message (TLS or SSLv2), reassembled across records if needed.
    Handshake(HandshakeMessage),
    /// A handshake record that is encrypted (after ChangeCipherSpec, or a TLS 1.3 record after
    /// ServerHello that belongs to the handshake): Wireshark's "Encrypted Handshake Message".
    EncryptedHandshake(EncryptedRecord),
    /// A ChangeCipherSpec record: from here on this direction is encrypted (TLS ≤ 1.2), or a
    /// middlebox-compatibility no-op (TLS 1.3).
    ChangeCipherSpec {
        /// Version field of the record header.
        record_version: u16,
    },
    /// A plaintext alert.
    Alert(Alert),
    /// An alert record sent after encryption started: its level and description are hidden.
    EncryptedAlert(EncryptedRecord),
    /// Summary of a run of application-data records in one direction (never one event per
    /// record). See [`super::TlsConnectionParser`] for when a run ends.
    ApplicationData(ApplicationDataSummary),
    /// A heartbeat record (RFC 6520).
    Heartbeat(EncryptedRecord),
    /// A handshake message declared longer than the reassembly cap: its bytes are dropped and
    /// decoding resumes with the next message.
    HandshakeTooLarge(HandshakeTooLarge),
    /// The direction ended (or lost bytes) in the middle of a record or handshake message.
    Truncated(Truncated),
    /// Bytes that were not at a record boundary were skipped until a plausible record header.
    Resync(Resync),
    /// The direction does not carry TLS; the parser stopped decoding it.
    NotTls(NotTls),
}

/// The record layer a message came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordFormat {
    /// SSL 3.0 .. TLS 1.3 records (5-byte header).
    Tls,
    /// SSL 2.0 records (2- or 3-byte header), including the SSLv2-compatible ClientHello.
    Sslv2,
}

/// A plaintext handshake message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandshakeMessage {
    /// Handshake type number as Wireshark's `tls.handshake.type` reports it. For SSLv2 records
    /// this is the SSLv2 message type (1 client_hello, 2 client_master_key, 4 server_hello). A
    /// HelloRetryRequest is a ServerHello on the wire and keeps type 2.
    pub handshake_type: u8,
    /// Name of the message (`"client_hello"`, `"hello_retry_request"`, ...).
    pub handshake_name: &'static str,
    /// Length of the message body as declared in its header.
    pub length: u32,
    /// Version field of the record header that carried the message (0x0002 for SSLv2).
    pub record_version: u16,
    /// The record layer that carried it.
    pub record_format: RecordFormat,
    /// Whether the message was reassembled from more than one record.
    pub fragmented: bool,
    /// The decoded body.
    pub body: HandshakeBody,
}

/// The decoded body of a handshake message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeBody {
    /// ClientHello (TLS, or the SSLv2 / SSLv2-compatible form).
    ClientHello(Box<ClientHello>),
    /// ServerHello or HelloRetryRequest.
    ServerHello(Box<ServerHello>),
    /// SSLv2 SERVER-HELLO.
    Sslv2ServerHello(Box<Sslv2ServerHello>),
    /// SSLv2 CLIENT-MASTER-KEY.
    Sslv2ClientMasterKey(Sslv2ClientMasterKey),
    /// SSLv2 ERROR.
    Sslv2Error {
        /// Error code.
        code: u16,
        /// Name of the error code.
        name: &'static str,
    },
    /// Certificate: the chain as sent.
    Certificate(CertificateChain),
    /// ServerKeyExchange.
    ServerKeyExchange(ServerKeyExchange),
    /// CertificateRequest: the server asks for a client certificate (mutual TLS).
    CertificateRequest(CertificateRequest),
    /// ClientKeyExchange (contents are key material: only the length is kept).
    ClientKeyExchange {
        /// Body length.
        length: u32,
    },
    /// CertificateVerify.
    CertificateVerify {
        /// Body length.
        length: u32,
        /// Signature scheme (TLS 1.2 and later).
        signature_algorithm: Option<u16>,
        /// Its name.
        signature_algorithm_name: Option<&'static str>,
    },
    /// NewSessionTicket (TLS ≤ 1.2, RFC 5077).
    NewSessionTicket {
        /// Ticket lifetime hint in seconds (0 = unspecified).
        lifetime_hint_secs: u32,
        /// Length of the opaque ticket.
        ticket_length: usize,
    },
    /// A plaintext Finished (normally encrypted; seen with SSLv2-style or broken stacks).
    Finished {
        /// Length of the verify data.
        verify_data_length: u32,
    },
    /// CertificateStatus (stapled OCSP response).
    CertificateStatus {
        /// Status type (1 = OCSP).
        status_type: u8,
        /// Length of the DER OCSP response.
        response_length: usize,
    },
    /// KeyUpdate.
    KeyUpdate {
        /// Whether the peer is asked to update its keys too.
        update_requested: bool,
    },
    /// A message whose body carries nothing worth decoding (hello_request, server_hello_done,
    /// end_of_early_data, ...) or an unknown type.
    Other,
    /// The message header was fine but its body could not be decoded.
    Malformed {
        /// What was wrong.
        error: String,
    },
}

/// A cipher suite number with its IANA name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CipherSuite {
    /// The 16-bit identifier.
    pub id: u16,
    /// IANA name, `"GREASE"`, or `None` if unregistered.
    pub name: Option<&'static str>,
}

impl CipherSuite {
    /// The suite with its name looked up.
    pub fn new(id: u16) -> Self {
        CipherSuite {
            id,
            name: super::names::cipher_suite_name(id),
        }
    }
}

/// A hello extension as it appeared on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionInfo {
    /// Extension type number.
    pub id: u16,
    /// IANA name (`"grease"`, `"unknown"` when unregistered).
    pub name: &'static str,
    /// Length of the extension data.
    pub length: u16,
}

/// A JA3 / JA3S fingerprint: the comma-separated string and its MD5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ja3 {
    /// The fingerprint string (`771,4865-4866,0-23,29-23,0`).
    pub string: String,
    /// Lowercase hex MD5 of the string.
    pub hash: String,
}

/// A decoded ClientHello.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientHello {
    /// `legacy_version` (the `client_version` of TLS ≤ 1.2).
    pub legacy_version: u16,
    /// Its name.
    pub legacy_version_name: &'static str,
    /// Versions offered in the supported_versions extension, in order (GREASE included).
    pub supported_versions: Vec<u16>,
    /// The highest non-GREASE version offered (supported_versions, else legacy_version).
    pub highest_version: u16,
    /// Its name.
    pub highest_version_name: &'static str,
    /// Server name (SNI host_name), if sent.
    pub server_name: Option<String>,
    /// ALPN protocols offered, in order.
    pub alpn: Vec<String>,
    /// Cipher suites offered, in order.
    pub cipher_suites: Vec<CipherSuite>,
    /// Compression methods offered.
    pub compression_methods: Vec<u8>,
    /// Extensions, in order.
    pub extensions: Vec<ExtensionInfo>,
    /// Session id (hex; empty when none was sent).
    pub session_id: String,
    /// Named groups offered (supported_groups / elliptic_curves).
    pub supported_groups: Vec<u16>,
    /// EC point formats offered.
    pub ec_point_formats: Vec<u8>,
    /// Signature algorithms offered, in order.
    pub signature_algorithms: Vec<u16>,
    /// Length of the session_ticket extension data when the extension is present: 0 = the
    /// client supports tickets, more = it tries to resume with a ticket.
    pub session_ticket_length: Option<usize>,
    /// A TLS 1.3 pre_shared_key extension was sent (resumption attempt).
    pub offers_psk: bool,
    /// A TLS 1.3 early_data extension was sent (0-RTT).
    pub offers_early_data: bool,
    /// TLS_FALLBACK_SCSV (0x5600) was offered: this is a retry with a lowered version.
    pub fallback_scsv: bool,
    /// The hello came in SSLv2 format (pure SSLv2 or the SSLv2-compatible hello).
    pub sslv2_format: bool,
    /// SSLv2 cipher specs that have no TLS equivalent (only for SSLv2-format hellos).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sslv2_cipher_specs: Vec<Sslv2CipherSpec>,
    /// Some list above was longer than the decoder keeps and was cut.
    pub lists_truncated: bool,
    /// JA3 fingerprint (TLS-format hellos only).
    pub ja3: Option<Ja3>,
    /// JA4 fingerprint (FoxIO spec), e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub ja4: Option<String>,
    /// JA4 raw form (`ja4_r`): sorted lists instead of hashes.
    pub ja4_r: Option<String>,
}

/// A decoded ServerHello (or HelloRetryRequest).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerHello {
    /// `legacy_version` field.
    pub legacy_version: u16,
    /// Its name.
    pub legacy_version_name: &'static str,
    /// The version the server chose: supported_versions if present (TLS 1.3), else
    /// legacy_version.
    pub selected_version: u16,
    /// Its name.
    pub selected_version_name: &'static str,
    /// The cipher suite chosen.
    pub cipher_suite: CipherSuite,
    /// The compression method chosen.
    pub compression_method: u8,
    /// Session id (hex; empty when none).
    pub session_id: String,
    /// Extensions, in order.
    pub extensions: Vec<ExtensionInfo>,
    /// The ALPN protocol selected.
    pub alpn: Option<String>,
    /// This is a TLS 1.3 HelloRetryRequest (ServerHello with the special random).
    pub hello_retry_request: bool,
    /// The key_share group selected (TLS 1.3; in an HRR the group the client must use).
    pub key_share_group: Option<u16>,
    /// Its name.
    pub key_share_group_name: Option<&'static str>,
    /// The server accepted a pre-shared key (TLS 1.3 resumption).
    pub psk_selected: bool,
    /// The server sent a session_ticket extension (it will issue a NewSessionTicket).
    pub will_send_ticket: bool,
    /// The random ends with the RFC 8446 downgrade sentinel: `"tls12"` or `"tls11_or_below"`.
    pub downgrade_sentinel: Option<&'static str>,
    /// JA3S fingerprint.
    pub ja3s: Ja3,
}

/// An SSLv2 cipher spec (3 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sslv2CipherSpec {
    /// The 24-bit identifier.
    pub id: u32,
    /// Its name (`"SSL_CK_RC4_128_WITH_MD5"`), or `"unknown"`.
    pub name: &'static str,
}

/// SSLv2 SERVER-HELLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sslv2ServerHello {
    /// The server found the session id in its cache.
    pub session_id_hit: bool,
    /// Certificate type (1 = X.509).
    pub certificate_type: u8,
    /// Server version (0x0002).
    pub version: u16,
    /// The server certificate, if present and decodable.
    pub certificate: Option<CertificateInfo>,
    /// Why the certificate could not be decoded.
    pub certificate_error: Option<String>,
    /// Cipher specs the server accepts.
    pub cipher_specs: Vec<Sslv2CipherSpec>,
    /// Length of the connection id.
    pub connection_id_length: u16,
}

/// SSLv2 CLIENT-MASTER-KEY.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sslv2ClientMasterKey {
    /// The cipher spec chosen by the client.
    pub cipher_spec: Sslv2CipherSpec,
    /// Length of the clear part of the master key.
    pub clear_key_length: u16,
    /// Length of the encrypted part of the master key.
    pub encrypted_key_length: u16,
    /// Length of the key argument (IV).
    pub key_arg_length: u16,
}

/// A Certificate message: the chain in the order sent (leaf first, normally).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertificateChain {
    /// Number of certificates in the message.
    pub count: usize,
    /// The decoded certificates, in order (at most the decoder's limit).
    pub certificates: Vec<CertificateInfo>,
    /// Certificates that could not be decoded: (position in chain, error).
    pub undecodable: Vec<UndecodableCertificate>,
}

/// A certificate in a chain that x509-parser could not decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndecodableCertificate {
    /// Position in the chain (0 = first sent).
    pub index: usize,
    /// DER length.
    pub length: usize,
    /// The error.
    pub error: String,
}

/// ServerKeyExchange summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerKeyExchange {
    /// Key exchange family guessed from the negotiated cipher suite and the contents:
    /// `"ecdhe"`, `"dhe"` or `"unknown"`.
    pub key_exchange: &'static str,
    /// The named curve / group (ECDHE with a named curve).
    pub named_group: Option<u16>,
    /// Its name.
    pub named_group_name: Option<&'static str>,
    /// Size of the DH prime in bits (DHE).
    pub dh_prime_bits: Option<u32>,
}

/// CertificateRequest summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateRequest {
    /// Certificate types accepted (1 rsa_sign, 2 dss_sign, 64 ecdsa_sign, ...).
    pub certificate_types: Vec<u8>,
    /// Signature algorithms accepted (TLS 1.2).
    pub signature_algorithms: Vec<u16>,
    /// Distinguished names of the CAs the server accepts, as text.
    pub certificate_authorities: Vec<String>,
}

/// A plaintext alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// 1 = warning, 2 = fatal.
    pub level: u8,
    /// `"warning"`, `"fatal"` or `"unknown"`.
    pub level_name: &'static str,
    /// Description number.
    pub description: u8,
    /// Its name (`"handshake_failure"`).
    pub description_name: &'static str,
    /// One line saying what it means.
    pub meaning: &'static str,
    /// Version field of the record header.
    pub record_version: u16,
}

impl Alert {
    /// An alert from its two bytes.
    pub fn new(level: u8, description: u8, record_version: u16) -> Self {
        let (description_name, meaning) = super::names::alert_description(description);
        Alert {
            level,
            level_name: super::names::alert_level_name(level),
            description,
            description_name,
            meaning,
            record_version,
        }
    }
}

/// A record whose contents are encrypted (or not decoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncryptedRecord {
    /// Version field of the record header (0x0002 for SSLv2).
    pub record_version: u16,
    /// Length of the record body.
    pub length: u32,
    /// Why the record is considered encrypted: `"after_change_cipher_spec"`,
    /// `"tls13_after_server_hello"`, `"sslv2_after_master_key"`, `"not_a_handshake_header"`
    /// (a handshake record whose first byte is no handshake type, e.g. mid-stream),
    /// `"unreadable_alert"` (an alert record that is not a sequence of 2-byte alerts) or, for
    /// a heartbeat before encryption, `"not_encrypted"`.
    pub reason: &'static str,
}

/// Counters of a run of application-data records in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ApplicationDataSummary {
    /// Number of records.
    pub records: u64,
    /// Sum of their body lengths (ciphertext bytes, record headers excluded).
    pub bytes: u64,
}

/// A handshake message larger than the cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandshakeTooLarge {
    /// Its type.
    pub handshake_type: u8,
    /// Its name.
    pub handshake_name: &'static str,
    /// Its declared length.
    pub declared_length: u32,
    /// The cap it exceeds.
    pub cap: usize,
}

/// Something cut short by the end of the direction or a gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Truncated {
    /// `"record"` or `"handshake_message"`.
    pub what: &'static str,
    /// Type of the handshake message being reassembled, if any.
    pub handshake_type: Option<u8>,
    /// How many bytes it should have had.
    pub expected: u64,
    /// How many were there.
    pub available: u64,
    /// `"end"` (the direction ended), `"gap"` (bytes were lost) or `"interleaved_record"`
    /// (another record type arrived before the handshake message was complete).
    pub cause: &'static str,
}

/// Bytes skipped to find the next record boundary (reported when it is found, or when the
/// direction ends first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resync {
    /// Number of bytes skipped.
    pub skipped_bytes: u64,
    /// `"gap"` (after lost bytes), `"midstream"` (the direction started inside a record) or
    /// `"invalid_record"` (a record header that made no sense).
    pub reason: &'static str,
}

/// The direction does not speak TLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotTls {
    /// Why it was rejected.
    pub reason: &'static str,
    /// The first bytes (up to 16), hex.
    pub first_bytes: String,
    /// The first bytes as text when they are printable ASCII (e.g. an HTTP request line).
    pub text_preview: Option<String>,
}
