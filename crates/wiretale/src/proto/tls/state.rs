//! What the stream parser knows about a connection's handshake so far
//! ([`TlsConnectionState`]), as plain serialisable data.

use serde::Serialize;

use super::cert::CertificateInfo;
use super::message::{
    Alert, ApplicationDataSummary, CipherSuite, ClientHello, ServerHello, Sslv2CipherSpec,
};
use crate::proto::Dir;

/// At most this many alerts are remembered per connection.
pub const MAX_REMEMBERED_ALERTS: usize = 16;

/// A byte range of one direction's stream: offsets count every byte handed to the parser in
/// that direction (consumed, skipped, or lost in a gap) from the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StreamSpan {
    /// Offset of the first byte of the record where the message began.
    pub start: u64,
    /// Offset just past the record that completed it.
    pub end: u64,
}

/// How a session was resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resumption {
    /// TLS ≤ 1.2: the server echoed the session id the client offered.
    SessionId,
    /// TLS ≤ 1.2: abbreviated handshake after the client presented a session ticket.
    SessionTicket,
    /// TLS 1.3: the server accepted a pre-shared key.
    Tls13Psk,
}

/// The last message seen on the connection and who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LastMessage {
    /// Direction it travelled.
    pub dir: Dir,
    /// The message kind (the `kind` tag of [`super::TlsMessage`]).
    pub kind: &'static str,
    /// Handshake or alert name, when there is one.
    pub name: Option<&'static str>,
}

/// An alert and the direction it travelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentAlert {
    /// Direction it travelled (`to_client` = sent by the server).
    pub dir: Dir,
    /// The alert.
    pub alert: Alert,
}

/// Per-connection handshake state, as far as the captured bytes show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsConnectionState {
    /// The first ClientHello.
    pub client_hello: Option<ClientHello>,
    /// Number of ClientHellos seen (2 after a HelloRetryRequest).
    pub client_hello_count: u32,
    /// Where the first ClientHello was in the client's stream.
    pub first_client_hello_at: Option<StreamSpan>,
    /// The (last non-retry) ServerHello.
    pub server_hello: Option<ServerHello>,
    /// Where it was in the server's stream.
    pub server_hello_at: Option<StreamSpan>,
    /// The server answered with a HelloRetryRequest.
    pub hello_retry_request: bool,
    /// Negotiated version (from the ServerHello; 0x0002 for SSLv2).
    pub negotiated_version: Option<u16>,
    /// Its name.
    pub negotiated_version_name: Option<&'static str>,
    /// Negotiated cipher suite.
    pub cipher_suite: Option<CipherSuite>,
    /// SSLv2 cipher spec chosen in CLIENT-MASTER-KEY.
    pub sslv2_cipher_spec: Option<Sslv2CipherSpec>,
    /// ALPN protocol selected by the server.
    pub alpn: Option<String>,
    /// The handshake resumed an earlier session.
    pub resumed: Option<Resumption>,
    /// The server went to ChangeCipherSpec right after ServerHello (no Certificate or key
    /// exchange): an abbreviated (resumption) handshake.
    pub abbreviated_handshake: bool,
    /// The server's certificate chain as sent (TLS ≤ 1.2 and SSLv2; TLS 1.3 encrypts it).
    pub server_certificates: Vec<CertificateInfo>,
    /// The client's certificate chain (mutual TLS).
    pub client_certificates: Vec<CertificateInfo>,
    /// The server sent a CertificateRequest (asked for a client certificate).
    pub certificate_requested: bool,
    /// Named group of the ECDHE ServerKeyExchange.
    pub key_exchange_group: Option<u16>,
    /// The server issued a session ticket (NewSessionTicket seen, TLS ≤ 1.2).
    pub session_ticket_issued: bool,
    /// The client sent ChangeCipherSpec.
    pub client_change_cipher_spec: bool,
    /// The server sent ChangeCipherSpec.
    pub server_change_cipher_spec: bool,
    /// The client's Finished was seen (an encrypted handshake record after its
    /// ChangeCipherSpec; in TLS 1.3 its first encrypted record after the ServerHello).
    pub client_finished: bool,
    /// The server's Finished was seen (likewise; in TLS 1.3 its encrypted handshake flight).
    pub server_finished: bool,
    /// Where the client's Finished was.
    pub client_finished_at: Option<StreamSpan>,
    /// Where the server's Finished was.
    pub server_finished_at: Option<StreamSpan>,
    /// Both Finished messages were seen: the handshake completed.
    pub completed: bool,
    /// The last message and who sent it.
    pub last_message: Option<LastMessage>,
    /// Alerts, in order (at most [`MAX_REMEMBERED_ALERTS`]).
    pub alerts: Vec<SentAlert>,
    /// Encrypted alerts seen (their content is hidden).
    pub encrypted_alerts: u32,
    /// Application data sent by the client (all runs so far).
    pub client_application_data: ApplicationDataSummary,
    /// Application data sent by the server.
    pub server_application_data: ApplicationDataSummary,
    /// The client's direction is not TLS.
    pub client_not_tls: bool,
    /// The server's direction is not TLS.
    pub server_not_tls: bool,
    /// Number of times the parser had to resynchronise (gaps, garbage).
    pub resyncs: u32,
}
