//! The story: one line per meaningful step, in frame order, across all connections.

use super::index::Index;
use crate::capture::Timestamp;
use crate::tcp::ConnEvent;
use crate::timeline::{Detail, Event};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A party in a step: its role and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// `client`, `server` or `proxy`.
    pub role: &'static str,
    /// Address.
    pub addr: SocketAddr,
}

/// What a story line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Something happened.
    Step,
    /// Nothing happened on a connection for a while.
    Idle,
}

/// One line of the story.
#[derive(Debug, Clone, Serialize)]
pub struct StoryLine {
    /// Step or idle marker.
    pub kind: LineKind,
    /// Frame (the completing frame of the last message on the line).
    pub frame: u64,
    /// Every frame the line rests on.
    pub frames: Vec<u64>,
    /// Capture time.
    pub time: Timestamp,
    /// Seconds since the story's first line.
    pub relative: f64,
    /// Connection.
    pub stream: Option<u64>,
    /// Sender.
    pub from: Option<Party>,
    /// Receiver.
    pub to: Option<Party>,
    /// `TCP`, `TLS`, `HTTP`, `NTLM`.
    pub proto: &'static str,
    /// What happened.
    pub text: String,
    /// Seconds of silence (idle lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_secs: Option<f64>,
}

/// Settings of the story.
#[derive(Debug, Clone, Copy)]
pub struct StoryOptions {
    /// Idle periods on a connection at least this long get their own line.
    pub idle_secs: f64,
}

impl Default for StoryOptions {
    fn default() -> Self {
        StoryOptions { idle_secs: 5.0 }
    }
}

/// Builds the story from the indexed events (`selected`: indexes into `index.events`, e.g.
/// after a display filter; `None` for all).
pub fn build(index: &Index<'_>, selected: Option<&[usize]>, opts: &StoryOptions) -> Vec<StoryLine> {
    let mut order: Vec<usize> = match selected {
        Some(s) => s.to_vec(),
        None => (0..index.events.len()).collect(),
    };
    order.sort_by_key(|&i| index.events.get(i).map(|e| e.frame).unwrap_or(0));
    let mut lines: Vec<StoryLine> = Vec::new();
    let mut last_on_stream: BTreeMap<u64, Timestamp> = BTreeMap::new();
    let mut first_time: Option<Timestamp> = None;
    for i in order {
        let Some(e) = index.events.get(i) else {
            continue;
        };
        let Some(text) = step_text(e) else { continue };
        let proto = match &e.detail {
            Detail::Tcp(_) => "TCP",
            Detail::Tls(_) => "TLS",
            Detail::Http(_) => "HTTP",
            Detail::Ntlm(_) => "NTLM",
        };
        let (from, to) = parties(index, e);
        let start = *first_time.get_or_insert(e.time);
        // Merge with the previous line when it is the same frame, connection, sender and protocol.
        if let Some(prev) = lines.last_mut() {
            if prev.kind == LineKind::Step
                && prev.frame == e.frame
                && prev.stream == e.stream
                && prev.from == from
                && prev.proto == proto
            {
                prev.text.push_str(", ");
                prev.text.push_str(&text);
                for f in &e.frames {
                    if !prev.frames.contains(f) {
                        prev.frames.push(*f);
                    }
                }
                continue;
            }
        }
        // A run of application data began at its first frame: the connection was not idle
        // up to the run's last record, where the summary is reported.
        let ongoing = matches!(
            &e.detail,
            Detail::Tls(crate::proto::tls::TlsMessage::ApplicationData(_))
        ) && e.frames.first().is_some_and(|f| *f < e.frame);
        if let Some(stream) = e.stream {
            if let Some(prev) = last_on_stream.get(&stream) {
                let idle = e.time.seconds_since(*prev);
                if idle >= opts.idle_secs && !ongoing {
                    lines.push(StoryLine {
                        kind: LineKind::Idle,
                        frame: e.frame,
                        frames: Vec::new(),
                        time: *prev,
                        relative: prev.seconds_since(start),
                        stream: Some(stream),
                        from: None,
                        to: None,
                        proto: "",
                        text: format!("… {idle:.1} s idle on stream {stream} …"),
                        idle_secs: Some(idle),
                    });
                }
            }
            last_on_stream.insert(stream, e.time);
        }
        lines.push(StoryLine {
            kind: LineKind::Step,
            frame: e.frame,
            frames: e.frames.clone(),
            time: e.time,
            relative: e.time.seconds_since(start),
            stream: e.stream,
            from,
            to,
            proto,
            text,
            idle_secs: None,
        });
    }
    lines
}

fn parties(index: &Index<'_>, e: &Event) -> (Option<Party>, Option<Party>) {
    let conn = e.stream.and_then(|s| index.conn(s));
    let party = |addr: Option<SocketAddr>| {
        let addr = addr?;
        let role = match conn {
            Some(c) if c.client == addr => "client",
            Some(c) if c.server == addr => c.server_role(),
            _ => index.role_of(addr),
        };
        Some(Party { role, addr })
    };
    (party(e.src), party(e.dst))
}

/// The text of an event in the story, or `None` for routine noise that is folded away.
fn step_text(e: &Event) -> Option<String> {
    match &e.detail {
        Detail::Tcp(ConnEvent::Syn) => Some("starts 3-way handshake".into()),
        Detail::Tcp(ConnEvent::SynAck | ConnEvent::Established { .. }) => None,
        Detail::Tcp(ConnEvent::Fin { .. }) => Some("closes the connection (FIN)".into()),
        Detail::Tcp(ConnEvent::Rst { idle_secs, .. }) => Some(format!(
            "RESETS the connection (RST) after {idle_secs:.1} s idle"
        )),
        Detail::Tcp(ConnEvent::OpenAtEnd { idle_secs }) => Some(format!(
            "connection still open at end of capture ({idle_secs:.1} s idle)"
        )),
        Detail::Tcp(_) => Some(e.summary()),
        Detail::Tls(crate::proto::tls::TlsMessage::Resync(_)) => None,
        Detail::Tls(crate::proto::tls::TlsMessage::ApplicationData(_))
            if e.frames.first().is_some_and(|f| *f < e.frame) =>
        {
            Some(format!(
                "{} (frames {}–{})",
                e.summary(),
                e.frames.first().copied().unwrap_or(e.frame),
                e.frame
            ))
        }
        // Picking up a connection mid-way is not a step.
        Detail::Http(m)
            if matches!(
                m.as_ref(),
                crate::proto::http::HttpMessage::Resynchronized { discarded: 0, .. }
            ) =>
        {
            None
        }
        Detail::Tls(crate::proto::tls::TlsMessage::Handshake(h))
            if h.handshake_type == 1 && e.tunnel.is_some() =>
        {
            Some(format!(
                "{} inside the CONNECT tunnel to {}",
                e.summary(),
                e.tunnel.as_deref().unwrap_or_default()
            ))
        }
        _ => Some(e.summary()),
    }
}
