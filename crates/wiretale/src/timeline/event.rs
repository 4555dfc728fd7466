//! The event type.

use super::Frames;
use crate::capture::Timestamp;
use crate::proto::http::HttpMessage;
use crate::proto::ntlm::{AuthScheme, NtlmMessage, SpnegoInfo};
use crate::proto::tls::TlsMessage;
use crate::tcp::ConnEvent;
use serde::Serialize;
use std::net::SocketAddr;

/// One thing that happened, at the frame that completed it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// The frame that completed the message (Wireshark's frame number).
    pub frame: u64,
    /// Every frame that carried part of it, ascending.
    pub frames: Frames,
    /// Time of `frame`.
    pub time: Timestamp,
    /// Wireshark's `tcp.stream`, when the event belongs to a TCP connection.
    pub stream: Option<u64>,
    /// Sender (`ip:port`, IPv6 as `[addr]:port`).
    #[serde(serialize_with = "crate::net::addr_text::serialize_option")]
    pub src: Option<SocketAddr>,
    /// Receiver.
    #[serde(serialize_with = "crate::net::addr_text::serialize_option")]
    pub dst: Option<SocketAddr>,
    /// For TLS inside an HTTP CONNECT tunnel: the tunnel's `host:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    /// What happened: `proto` and `kind` plus the protocol's fields.
    #[serde(flatten)]
    pub detail: Detail,
}

/// What an event says, by protocol. Serialized with a `proto` key (`tcp`, `tls`, `http`,
/// `ntlm`) and the inner value's `kind` key.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "proto", rename_all = "snake_case")]
pub enum Detail {
    /// A TCP connection event.
    Tcp(ConnEvent),
    /// A TLS record-layer or handshake message.
    Tls(TlsMessage),
    /// An HTTP message.
    Http(Box<HttpMessage>),
    /// An NTLM (or Negotiate) token carried in an HTTP authentication header.
    Ntlm(Box<NtlmEvent>),
}

/// An authentication token found in an HTTP header, decoded.
///
/// `challenge`, `target`, `user`, `domain` and `workstation` are always serialized (`null`
/// when the message has no such field or it is empty), so scripts can rely on the keys.
#[derive(Debug, Clone, Serialize)]
pub struct NtlmEvent {
    /// `negotiate` (Type 1), `challenge` (Type 2), `authenticate` (Type 3), `kerberos`,
    /// `spnego` (no inner token), `unknown` or `undecodable`.
    pub kind: &'static str,
    /// 1, 2 or 3 for NTLMSSP messages.
    pub message_type: Option<u8>,
    /// The HTTP header that carried it (`Proxy-Authorization`, `WWW-Authenticate`, ...).
    pub header: &'static str,
    /// `NTLM` or `Negotiate`.
    pub scheme: AuthScheme,
    /// The HTTP exchange (request index on the connection) it belongs to.
    pub exchange: Option<u32>,
    /// Server challenge in hex (Type 2).
    pub challenge: Option<String>,
    /// Target name (Type 2).
    pub target: Option<String>,
    /// User name (Type 3).
    pub user: Option<String>,
    /// Domain (Type 1 and 3).
    pub domain: Option<String>,
    /// Workstation (Type 1 and 3).
    pub workstation: Option<String>,
    /// One-line description.
    pub summary: String,
    /// SPNEGO wrapping, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spnego: Option<SpnegoInfo>,
    /// The fully decoded NTLMSSP message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<NtlmMessage>,
    /// Why the token could not be decoded, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Event {
    /// The `proto` key of the event.
    pub fn proto(&self) -> &'static str {
        Detail::PROTOS[self.detail.proto_index()]
    }
}

impl Detail {
    /// The `proto` keys, by [`Detail::proto_index`].
    pub(crate) const PROTOS: [&'static str; 4] = ["tcp", "tls", "http", "ntlm"];

    /// Where this variant's `proto` key is in [`Detail::PROTOS`] (an index for counting events
    /// by protocol without a map).
    pub(crate) fn proto_index(&self) -> usize {
        match self {
            Detail::Tcp(_) => 0,
            Detail::Tls(_) => 1,
            Detail::Http(_) => 2,
            Detail::Ntlm(_) => 3,
        }
    }
}
