//! One row per NTLM exchange (Type 1 → Type 2 → Type 3 → outcome) per TCP connection, built
//! from NTLM events and the HTTP responses that answer the requests carrying them.
//!
//! A Type 3 normally follows its Type 2 on the same connection (NTLM authenticates the
//! connection). When a client sends it on another connection instead, it is matched to the
//! latest unanswered Type 2 from the same client address to the same server address, and the
//! row says so ([`NtlmExchangeRow::type3_on_other_connection`]).

use super::ends::EndTracker;
use super::{ConnectionEnd, MAX_ROWS};
use crate::proto::http::HttpMessage;
use crate::proto::ntlm::NtlmMessage;
use crate::timeline::{Detail, Event, EventSink, NtlmEvent};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;

/// How many of the latest rows a Type 3 on a new connection is matched against.
const SWITCH_SEARCH_WINDOW: usize = 1024;

/// The client's Type 1 (NEGOTIATE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtlmNegotiateStep {
    /// Frame of the request carrying it.
    pub frame: u64,
    /// Domain supplied (OEM), if any.
    pub domain: Option<String>,
    /// Workstation supplied (OEM), if any.
    pub workstation: Option<String>,
}

/// The server's Type 2 (CHALLENGE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtlmChallengeStep {
    /// Frame of the response carrying it.
    pub frame: u64,
    /// Server challenge (hex).
    pub challenge: Option<String>,
    /// Target name.
    pub target: Option<String>,
    /// HTTP status of the response carrying it (401 or 407).
    pub status: Option<u16>,
}

/// The client's Type 3 (AUTHENTICATE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtlmAuthenticateStep {
    /// Frame of the request carrying it.
    pub frame: u64,
    /// The connection it travelled on.
    pub stream: u64,
    /// User name.
    pub user: Option<String>,
    /// Domain.
    pub domain: Option<String>,
    /// Workstation.
    pub workstation: Option<String>,
    /// `NTLMv2`, `NTLMv1`, `anonymous`, ...
    pub response: Option<&'static str>,
}

/// How an NTLM exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum NtlmOutcome {
    /// The request with the Type 3 got a response other than 401/407.
    Authenticated {
        /// Its status.
        status: u16,
        /// Its frame.
        frame: u64,
    },
    /// The request with the Type 3 was answered by 401 or 407 again.
    Rejected {
        /// Its status.
        status: u16,
        /// Its frame.
        frame: u64,
    },
    /// A Type 3 was sent but no response to it was captured.
    NoResponse,
    /// The server sent a Type 2 and no Type 3 followed.
    AbandonedAfterType2,
    /// The client sent a Type 1 and no Type 2 came back.
    NoType2 {
        /// Status of the response to the Type 1 request, if one was captured.
        status: Option<u16>,
        /// Its frame.
        frame: Option<u64>,
    },
}

impl NtlmOutcome {
    /// A short phrase, e.g. `authenticated (200 at frame 15)` or `abandoned after Type 2`.
    pub fn describe(&self) -> String {
        match self {
            NtlmOutcome::Authenticated { status, frame } => {
                format!("authenticated ({status} at frame {frame})")
            }
            NtlmOutcome::Rejected { status, frame } => {
                format!("rejected ({status} at frame {frame})")
            }
            NtlmOutcome::NoResponse => "no response to Type 3".into(),
            NtlmOutcome::AbandonedAfterType2 => "abandoned after Type 2".into(),
            NtlmOutcome::NoType2 {
                status: Some(s),
                frame: Some(f),
            } => format!("no Type 2 ({s} at frame {f})"),
            NtlmOutcome::NoType2 { .. } => "no Type 2".into(),
        }
    }
}

/// One NTLM exchange.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NtlmExchangeRow {
    /// The connection of the Type 1 / Type 2 (of the Type 3 when there was neither).
    pub stream: u64,
    /// Client.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub client: SocketAddr,
    /// Server or proxy.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub server: SocketAddr,
    /// The authentication is with a proxy (`Proxy-Authorization` / `Proxy-Authenticate`)
    /// rather than the origin server (`Authorization` / `WWW-Authenticate`).
    pub proxy: bool,
    /// `NTLM` or `Negotiate`.
    pub scheme: &'static str,
    /// Type 1.
    pub negotiate: Option<NtlmNegotiateStep>,
    /// Type 2.
    pub challenge: Option<NtlmChallengeStep>,
    /// Type 3.
    pub authenticate: Option<NtlmAuthenticateStep>,
    /// The Type 3 travelled on another connection than the Type 2 it answers.
    pub type3_on_other_connection: bool,
    /// How the exchange ended.
    pub outcome: NtlmOutcome,
    /// How the row's connection ended.
    pub connection_end: Option<ConnectionEnd>,
}

/// The NTLM table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NtlmTable {
    /// One row per exchange, by first frame.
    pub exchanges: Vec<NtlmExchangeRow>,
    /// NTLM messages beyond [`MAX_ROWS`] rows (not summarised).
    pub events_over_cap: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Type1Answer,
    Type3Answer,
}

#[derive(Debug, Clone)]
struct Building {
    row: NtlmExchangeRow,
    first_frame: u64,
    type1_response: Option<(u16, u64)>,
    type3_response: Option<(u16, u64)>,
}

/// Builds the NTLM table from events (an [`EventSink`]).
#[derive(Debug, Default, Clone)]
pub struct NtlmSummary {
    rows: Vec<Building>,
    /// The current exchange of each connection.
    open: HashMap<u64, usize>,
    /// Requests (stream, HTTP exchange) whose response decides a row.
    awaiting: HashMap<(u64, u32), (usize, Awaiting)>,
    ends: EndTracker,
    events_over_cap: u64,
}

fn scheme_name(n: &NtlmEvent) -> &'static str {
    match n.scheme {
        crate::proto::ntlm::AuthScheme::Negotiate => "Negotiate",
        _ => "NTLM",
    }
}

impl NtlmSummary {
    /// Summarises already collected events.
    pub fn from_events(events: &[Event]) -> NtlmTable {
        let mut summary = NtlmSummary::default();
        for e in events {
            summary.event(e);
        }
        summary.finish()
    }

    /// The table.
    pub fn finish(self) -> NtlmTable {
        let NtlmSummary {
            rows,
            ends,
            events_over_cap,
            ..
        } = self;
        let mut rows: Vec<Building> = rows;
        rows.sort_by_key(|b| (b.first_frame, b.row.stream));
        let exchanges = rows
            .into_iter()
            .map(|b| {
                let mut row = b.row;
                row.outcome = match (&row.authenticate, &row.challenge) {
                    (Some(_), _) => match b.type3_response {
                        Some((status @ (401 | 407), frame)) => {
                            NtlmOutcome::Rejected { status, frame }
                        }
                        Some((status, frame)) => NtlmOutcome::Authenticated { status, frame },
                        None => NtlmOutcome::NoResponse,
                    },
                    (None, Some(_)) => NtlmOutcome::AbandonedAfterType2,
                    (None, None) => NtlmOutcome::NoType2 {
                        status: b.type1_response.map(|(s, _)| s),
                        frame: b.type1_response.map(|(_, f)| f),
                    },
                };
                row.connection_end = ends.resolve(row.stream, row.client);
                row
            })
            .collect();
        NtlmTable {
            exchanges,
            events_over_cap,
        }
    }

    fn new_row(
        &mut self,
        e: &Event,
        stream: u64,
        n: &NtlmEvent,
        client: Option<SocketAddr>,
        server: Option<SocketAddr>,
    ) -> Option<usize> {
        if self.rows.len() >= MAX_ROWS {
            self.events_over_cap = self.events_over_cap.saturating_add(1);
            return None;
        }
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        self.rows.push(Building {
            row: NtlmExchangeRow {
                stream,
                client: client.unwrap_or(unspecified),
                server: server.unwrap_or(unspecified),
                proxy: n.header.starts_with("Proxy-"),
                scheme: scheme_name(n),
                negotiate: None,
                challenge: None,
                authenticate: None,
                type3_on_other_connection: false,
                outcome: NtlmOutcome::NoResponse,
                connection_end: None,
            },
            first_frame: e.frame,
            type1_response: None,
            type3_response: None,
        });
        let i = self.rows.len().saturating_sub(1);
        self.open.insert(stream, i);
        Some(i)
    }

    /// The open exchange of `stream`, if `fits` accepts it.
    fn open_row(&self, stream: u64, fits: impl Fn(&NtlmExchangeRow) -> bool) -> Option<usize> {
        let i = *self.open.get(&stream)?;
        self.rows.get(i).filter(|b| fits(&b.row)).map(|_| i)
    }

    /// A Type 2 on another connection from the same client host to the same server that is
    /// still waiting for its Type 3.
    fn switched_from(&self, e: &Event, stream: u64) -> Option<usize> {
        let client_ip = e.src?.ip();
        let server = e.dst?;
        let start = self.rows.len().saturating_sub(SWITCH_SEARCH_WINDOW);
        self.rows
            .iter()
            .enumerate()
            .skip(start)
            .filter(|(_, b)| {
                b.row.stream != stream
                    && b.row.authenticate.is_none()
                    && b.row.client.ip() == client_ip
                    && b.row.server == server
                    && b.row.challenge.as_ref().is_some_and(|c| c.frame < e.frame)
            })
            .max_by_key(|(_, b)| b.row.challenge.as_ref().map(|c| c.frame))
            .map(|(i, _)| i)
    }

    fn on_ntlm(&mut self, e: &Event, stream: u64, n: &NtlmEvent) {
        let Some(message_type) = n.message_type else {
            return;
        };
        match message_type {
            1 => {
                let Some(i) = self.new_row(e, stream, n, e.src, e.dst) else {
                    return;
                };
                if let Some(b) = self.rows.get_mut(i) {
                    b.row.negotiate = Some(NtlmNegotiateStep {
                        frame: e.frame,
                        domain: n.domain.clone(),
                        workstation: n.workstation.clone(),
                    });
                }
                if let Some(x) = n.exchange {
                    self.awaiting
                        .insert((stream, x), (i, Awaiting::Type1Answer));
                }
            }
            2 => {
                let i = match self.open_row(stream, |r| {
                    r.challenge.is_none() && r.authenticate.is_none()
                }) {
                    Some(i) => i,
                    None => match self.new_row(e, stream, n, e.dst, e.src) {
                        Some(i) => i,
                        None => return,
                    },
                };
                if let Some(b) = self.rows.get_mut(i) {
                    b.row.challenge = Some(NtlmChallengeStep {
                        frame: e.frame,
                        challenge: n.challenge.clone(),
                        target: n.target.clone(),
                        status: b.type1_response.map(|(s, _)| s),
                    });
                }
            }
            3 => {
                let same = self.open_row(stream, |r| {
                    r.challenge.is_some() && r.authenticate.is_none()
                });
                let (i, switched) = match same {
                    Some(i) => (i, false),
                    None => match self.switched_from(e, stream) {
                        Some(i) => (i, true),
                        None => match self.new_row(e, stream, n, e.src, e.dst) {
                            Some(i) => (i, false),
                            None => return,
                        },
                    },
                };
                let response = match &n.message {
                    Some(NtlmMessage::Authenticate(a)) => Some(a.response_kind.label()),
                    _ => None,
                };
                if let Some(b) = self.rows.get_mut(i) {
                    b.row.authenticate = Some(NtlmAuthenticateStep {
                        frame: e.frame,
                        stream,
                        user: n.user.clone(),
                        domain: n.domain.clone(),
                        workstation: n.workstation.clone(),
                        response,
                    });
                    b.row.type3_on_other_connection = switched;
                }
                self.open.insert(stream, i);
                if let Some(x) = n.exchange {
                    self.awaiting
                        .insert((stream, x), (i, Awaiting::Type3Answer));
                }
            }
            _ => {}
        }
    }

    fn on_http(&mut self, e: &Event, stream: u64, m: &HttpMessage) {
        let HttpMessage::Response(r) = m else { return };
        if r.interim {
            return;
        }
        let Some(x) = r.exchange else { return };
        let Some((i, awaiting)) = self.awaiting.remove(&(stream, x)) else {
            return;
        };
        if let Some(b) = self.rows.get_mut(i) {
            match awaiting {
                Awaiting::Type1Answer => b.type1_response = Some((r.head.status, e.frame)),
                Awaiting::Type3Answer => b.type3_response = Some((r.head.status, e.frame)),
            }
        }
    }
}

impl EventSink for NtlmSummary {
    fn event(&mut self, e: &Event) {
        let Some(stream) = e.stream else { return };
        match &e.detail {
            Detail::Ntlm(n) => self.on_ntlm(e, stream, n),
            Detail::Http(m) => self.on_http(e, stream, m),
            Detail::Tcp(_) => {
                let open = &self.open;
                self.ends.observe(e, |s| open.contains_key(&s));
            }
            Detail::Tls(_) => {}
        }
    }
}
