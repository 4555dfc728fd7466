//! The event type.

use crate::capture::Timestamp;
use crate::tcp::ConnEvent;
use serde::Serialize;
use std::net::SocketAddr;

/// One thing that happened, at the frame that completed it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// The frame that completed the message (Wireshark's frame number).
    pub frame: u64,
    /// Every frame that carried part of it, ascending.
    pub frames: Vec<u64>,
    /// Time of `frame`.
    pub time: Timestamp,
    /// Wireshark's `tcp.stream`, when the event belongs to a TCP connection.
    pub stream: Option<u64>,
    /// Sender (`ip:port`, IPv6 as `[addr]:port`).
    pub src: Option<SocketAddr>,
    /// Receiver.
    pub dst: Option<SocketAddr>,
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
}

impl Event {
    /// The `proto` key of the event.
    pub fn proto(&self) -> &'static str {
        match self.detail {
            Detail::Tcp(_) => "tcp",
        }
    }
}
