//! Summary tables built from timeline events: one row per TLS connection ([`TlsSummary`]), per
//! HTTP exchange ([`HttpSummary`]) and per NTLM exchange ([`NtlmSummary`]).
//!
//! Each aggregator is an [`EventSink`](crate::timeline::EventSink): hand it to
//! [`analyze_path`](crate::pipeline::analyze_path) directly, or replay collected events with
//! `from_events`. `finish` returns the table, whose rows derive `Serialize` (the JSON form of
//! `wiretale tls|http|ntlm --format json`). A row is complete once its connection has left the
//! flow table ([`EventSink::flow`](crate::timeline::EventSink::flow)), or, for an HTTP exchange,
//! once it is answered and a later one has started on its connection; a caller that takes the
//! complete rows as they come (`drain_ended` after each event and `flow`) holds only the rows
//! of the connections open at a time, whatever the size of the capture, as the CLI does. Rows
//! held are capped at [`MAX_ROWS`] either way.
//!
//! ```no_run
//! use wiretale::pipeline::{analyze_path, AnalyzerConfig};
//! use wiretale::summary::TlsSummary;
//!
//! let mut tls = TlsSummary::default();
//! analyze_path("trace.pcap", &AnalyzerConfig::default(), &mut tls)?;
//! for row in tls.finish().connections {
//!     println!("stream {}: completed {}", row.stream, row.handshake.completed);
//! }
//! # Ok::<(), wiretale::capture::CaptureError>(())
//! ```
//!
//! Rows are built from events only, never from bytes, so they say what the decoders reported:
//! a message the capture missed is absent from its row too.

mod ends;
mod http;
mod ntlm;
mod tls;

#[cfg(test)]
mod tests;

pub use ends::{ConnectionEnd, EndKind};
pub use http::{
    AuthChallengeSeen, AuthCredentialsSeen, HttpExchangeRow, HttpSummary, HttpTable, KeepAlive,
};
pub use ntlm::{
    NtlmAuthenticateStep, NtlmChallengeStep, NtlmExchangeRow, NtlmNegotiateStep, NtlmOutcome,
    NtlmSummary, NtlmTable,
};
pub use tls::{
    AlertSeen, CertificateSummary, HandshakeProgress, LastTlsMessage, TlsConnectionRow, TlsSummary,
    TlsTable,
};

use serde::Serialize;
use std::net::SocketAddr;

/// At most this many rows are held per table (rows taken by `drain_ended` no longer count);
/// events that would start more are counted in the table's `events_over_cap`.
pub const MAX_ROWS: usize = 100_000;

/// At most this many entries are kept in each per-row list (alerts, challenges, URLs, ...).
pub const MAX_LIST: usize = 32;

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The side that opened the connection (sent the ClientHello or the requests).
    Client,
    /// The side that accepted it (a server or a proxy).
    Server,
}

impl Side {
    /// The other end.
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    /// The side that sent from `sender`, given the connection's client address.
    pub fn of(sender: Option<SocketAddr>, client: SocketAddr) -> Side {
        if sender == Some(client) {
            Side::Client
        } else {
            Side::Server
        }
    }
}

/// Pushes `item` unless `list` already holds [`MAX_LIST`] entries.
fn push_capped<T>(list: &mut Vec<T>, item: T) {
    if list.len() < MAX_LIST {
        list.push(item);
    }
}

/// Pushes `item` unless it is already there or `list` is full.
fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        push_capped(list, item);
    }
}
