//! How each TCP connection ended, from its connection events, for the streams a table has rows
//! for.

use super::Side;
use crate::capture::Timestamp;
use crate::tcp::ConnEvent;
use crate::timeline::{Detail, Event};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// A side sent FIN first.
    Fin,
    /// A side reset it (before any FIN).
    Rst,
    /// Still open when the capture ended.
    OpenAtEnd,
    /// Dropped from the flow table (cap reached).
    Evicted,
}

/// Who ended a connection, how and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionEnd {
    /// How.
    pub how: EndKind,
    /// Who sent the first FIN or the RST.
    pub by: Option<Side>,
    /// The frame of that FIN or RST.
    pub frame: Option<u64>,
    /// Its time.
    pub time: Option<Timestamp>,
    /// For a reset: seconds since the previous packet of the connection. For a connection open
    /// at the end: seconds from its last packet to the end of the capture.
    pub idle_secs: Option<f64>,
}

impl ConnectionEnd {
    /// A short phrase, e.g. `client FIN (frame 418)` or `server RST after 30.0 s idle (frame 959)`.
    pub fn describe(&self) -> String {
        let by = self
            .by
            .map(|s| format!("{} ", s.as_str()))
            .unwrap_or_default();
        let frame = self
            .frame
            .map(|f| format!(" (frame {f})"))
            .unwrap_or_default();
        match self.how {
            EndKind::Fin => format!("{by}FIN{frame}"),
            EndKind::Rst => match self.idle_secs {
                Some(idle) => format!("{by}RST after {idle:.1} s idle{frame}"),
                None => format!("{by}RST{frame}"),
            },
            EndKind::OpenAtEnd => match self.idle_secs {
                Some(idle) => format!("open at end ({idle:.1} s idle)"),
                None => "open at end".to_string(),
            },
            EndKind::Evicted => "evicted (flow table cap)".to_string(),
        }
    }
}

/// The raw end of one stream: sender address instead of a side, because the side depends on
/// which address the table calls the client.
#[derive(Debug, Clone, Copy)]
struct RawEnd {
    how: EndKind,
    sender: Option<SocketAddr>,
    frame: Option<u64>,
    time: Option<Timestamp>,
    idle_secs: Option<f64>,
}

/// Remembers the first FIN / RST (or the open-at-end / eviction note) per stream.
#[derive(Debug, Default, Clone)]
pub(super) struct EndTracker {
    ends: HashMap<u64, RawEnd>,
}

impl EndTracker {
    /// Notes `event` if it ends its stream and `tracked(stream)` says the stream matters.
    pub fn observe(&mut self, event: &Event, tracked: impl Fn(u64) -> bool) {
        let (Detail::Tcp(tcp), Some(stream)) = (&event.detail, event.stream) else {
            return;
        };
        let raw = match tcp {
            ConnEvent::Fin { .. } => RawEnd {
                how: EndKind::Fin,
                sender: event.src,
                frame: Some(event.frame),
                time: Some(event.time),
                idle_secs: None,
            },
            ConnEvent::Rst { idle_secs, .. } => RawEnd {
                how: EndKind::Rst,
                sender: event.src,
                frame: Some(event.frame),
                time: Some(event.time),
                idle_secs: Some(*idle_secs),
            },
            ConnEvent::OpenAtEnd { idle_secs, .. } => RawEnd {
                how: EndKind::OpenAtEnd,
                sender: None,
                frame: None,
                time: None,
                idle_secs: Some(*idle_secs),
            },
            ConnEvent::Evicted => RawEnd {
                how: EndKind::Evicted,
                sender: None,
                frame: None,
                time: None,
                idle_secs: None,
            },
            _ => return,
        };
        if tracked(stream) {
            // The first close is the one that says who ended the connection.
            self.ends.entry(stream).or_insert(raw);
        }
    }

    /// Forgets the end of `stream` (its rows are complete).
    pub fn forget(&mut self, stream: u64) {
        self.ends.remove(&stream);
    }

    /// The end of `stream`, with sides relative to `client`.
    pub fn resolve(&self, stream: u64, client: SocketAddr) -> Option<ConnectionEnd> {
        let raw = self.ends.get(&stream)?;
        Some(ConnectionEnd {
            how: raw.how,
            by: raw.sender.map(|s| Side::of(Some(s), client)),
            frame: raw.frame,
            time: raw.time,
            idle_secs: raw.idle_secs,
        })
    }
}
