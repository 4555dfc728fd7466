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
use crate::tcp::FlowSummary;
use crate::timeline::{Detail, Event, EventSink, NtlmEvent};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
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
    type1_response: Option<(u16, u64)>,
    type3_response: Option<(u16, u64)>,
    /// The row's connection has left the flow table (`row.connection_end` is set).
    stream_ended: bool,
    /// The Type 3 travelled on another connection, which is still in the flow table: the
    /// response to it may come.
    type3_stream_open: bool,
    /// Its place in the table's order: connection and first frame (both fixed when the row
    /// is made, by the message that makes it), and row number.
    place: Place,
}

/// A row's place in the table's order, as [`NtlmSummary::finish`] sorts: first frame,
/// connection, row number (here connection first, to find the rows it ties with).
type Place = (u64, u64, u64);

/// What is known of one connection still in the flow table.
#[derive(Debug, Default, Clone)]
struct StreamState {
    /// Its current exchange.
    current: Option<u64>,
    /// Rows it can still change: its own, and those whose Type 3 it carried.
    rows: Vec<u64>,
    /// Its requests (HTTP exchange numbers) whose response decides a row.
    awaiting: Vec<u32>,
}

/// Builds the NTLM table from events (an [`EventSink`]).
#[derive(Debug, Default, Clone)]
pub struct NtlmSummary {
    /// Rows held, by number (the order they were made).
    rows: HashMap<u64, Building>,
    /// The number the next row gets.
    next_row: u64,
    /// The latest rows made (at most [`SWITCH_SEARCH_WINDOW`]): a Type 3 on a new connection
    /// is matched against them.
    recent: VecDeque<u64>,
    /// Connections still in the flow table that have rows.
    streams: HashMap<u64, StreamState>,
    /// Requests (stream, HTTP exchange) whose response decides a row.
    awaiting: HashMap<(u64, u32), (u64, Awaiting)>,
    /// Complete rows with their numbers, not taken yet ([`NtlmSummary::drain_ended`]).
    ended: Vec<(u64, NtlmExchangeRow)>,
    /// The places of the rows in `rows`.
    building: BTreeSet<Place>,
    /// Complete rows that wait for an older row with the same connection and first frame
    /// (still in `rows`): rows that tie in the table's order are handed over in it.
    waiting: BTreeMap<Place, NtlmExchangeRow>,
    ends: EndTracker,
    events_over_cap: u64,
}

fn scheme_name(n: &NtlmEvent) -> &'static str {
    match n.scheme {
        crate::proto::ntlm::AuthScheme::Negotiate => "Negotiate",
        _ => "NTLM",
    }
}

impl NtlmExchangeRow {
    /// The frame of its first message (Type 1, else Type 2, else Type 3): the table's order.
    pub fn first_frame(&self) -> u64 {
        self.negotiate
            .as_ref()
            .map(|s| s.frame)
            .or(self.challenge.as_ref().map(|s| s.frame))
            .or(self.authenticate.as_ref().map(|s| s.frame))
            .unwrap_or(0)
    }
}

impl Building {
    /// The row, its outcome decided.
    fn into_row(self) -> NtlmExchangeRow {
        let mut row = self.row;
        row.outcome = match (&row.authenticate, &row.challenge) {
            (Some(_), _) => match self.type3_response {
                Some((status @ (401 | 407), frame)) => NtlmOutcome::Rejected { status, frame },
                Some((status, frame)) => NtlmOutcome::Authenticated { status, frame },
                None => NtlmOutcome::NoResponse,
            },
            (None, Some(_)) => NtlmOutcome::AbandonedAfterType2,
            (None, None) => NtlmOutcome::NoType2 {
                status: self.type1_response.map(|(s, _)| s),
                frame: self.type1_response.map(|(_, f)| f),
            },
        };
        row
    }

    /// A Type 3 on another connection could still be matched to it.
    fn awaits_type3(&self) -> bool {
        self.row.authenticate.is_none() && self.row.challenge.is_some()
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

    /// The table: the rows not taken by [`NtlmSummary::drain_ended`], by first frame.
    pub fn finish(self) -> NtlmTable {
        let NtlmSummary {
            rows,
            mut ended,
            waiting,
            ends,
            events_over_cap,
            ..
        } = self;
        ended.extend(
            waiting
                .into_iter()
                .map(|((_, _, number), row)| (number, row)),
        );
        ended.extend(rows.into_iter().map(|(number, mut b)| {
            if !b.stream_ended {
                b.row.connection_end = ends.resolve(b.row.stream, b.row.client);
            }
            (number, b.into_row())
        }));
        // Rows with the same first frame and connection: in the order they were made.
        ended.sort_by_key(|(number, r)| (r.first_frame(), r.stream, *number));
        NtlmTable {
            exchanges: ended.into_iter().map(|(_, r)| r).collect(),
            events_over_cap,
        }
    }

    /// Hands `each` every row that has become complete since the last call, in the order they
    /// did, and forgets them: a caller that writes rows out as they come (`wiretale ntlm`
    /// keeps them on disk) needs memory only for the exchanges of the connections still open.
    /// Rows are lost to [`MAX_ROWS`] (which counts the rows held) only when that many are
    /// held at once. [`NtlmSummary::finish`] then gives the rest.
    ///
    /// A row is complete once its connection has left the flow table (every row says how its
    /// connection ended, so a connection's rows are all held until then), the connection that
    /// carried its Type 3 too, and a Type 3 on a new connection can no longer be matched to
    /// it (it has one, or 1 024 newer rows were made). Rows with the same first frame and
    /// connection come in the order `finish` gives them: a row waits for those made before it.
    pub fn drain_ended(&mut self, mut each: impl FnMut(NtlmExchangeRow)) {
        for (_, row) in self.ended.drain(..) {
            each(row);
        }
    }

    /// Rows held: still open, and complete but not taken.
    #[cfg(test)]
    pub(super) fn rows_held(&self) -> usize {
        self.rows.len() + self.ended.len() + self.waiting.len()
    }

    /// NTLM messages that found the table full ([`MAX_ROWS`] rows held) so far.
    pub fn events_over_cap(&self) -> u64 {
        self.events_over_cap
    }

    /// Makes a row for the message `n` of frame `frame` (the row's first).
    fn new_row(
        &mut self,
        stream: u64,
        frame: u64,
        n: &NtlmEvent,
        client: Option<SocketAddr>,
        server: Option<SocketAddr>,
    ) -> Option<u64> {
        if self.rows.len() + self.ended.len() + self.waiting.len() >= MAX_ROWS {
            self.events_over_cap = self.events_over_cap.saturating_add(1);
            return None;
        }
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        let number = self.next_row;
        self.next_row += 1;
        self.rows.insert(
            number,
            Building {
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
                type1_response: None,
                type3_response: None,
                stream_ended: false,
                type3_stream_open: false,
                place: (stream, frame, number),
            },
        );
        self.building.insert((stream, frame, number));
        let state = self.streams.entry(stream).or_default();
        state.current = Some(number);
        state.rows.push(number);
        self.recent.push_back(number);
        if self.recent.len() > SWITCH_SEARCH_WINDOW {
            if let Some(out) = self.recent.pop_front() {
                // Out of reach of a Type 3 on a new connection: it may be complete now.
                self.complete_if_done(out);
            }
        }
        Some(number)
    }

    /// Moves row `number` to `ended` if nothing can change it any more.
    fn complete_if_done(&mut self, number: u64) {
        let Some(b) = self.rows.get(&number) else {
            return;
        };
        // `recent` holds the latest rows made, numbered in sequence.
        let in_recent = number + self.recent.len() as u64 >= self.next_row;
        let reachable = b.awaits_type3() && in_recent;
        if !b.stream_ended || b.type3_stream_open || reachable {
            return;
        }
        let Some(b) = self.rows.remove(&number) else {
            return;
        };
        let place = b.place;
        self.building.remove(&place);
        self.waiting.insert(place, b.into_row());
        self.hand_over_waiting(place);
    }

    /// Moves to `ended` the complete rows that tie with `place` (same connection and first
    /// frame) and no longer wait for an older one.
    fn hand_over_waiting(&mut self, (stream, frame, _): Place) {
        let ties = (stream, frame, 0)..=(stream, frame, u64::MAX);
        let oldest_building =
            (self.building.range(ties.clone()).next()).map_or(u64::MAX, |&(_, _, number)| number);
        while let Some(&place) = self.waiting.range(ties.clone()).next().map(|(p, _)| p) {
            let (_, _, number) = place;
            if number > oldest_building {
                break;
            }
            if let Some(row) = self.waiting.remove(&place) {
                self.ended.push((number, row));
            }
        }
    }

    /// The connection `stream` left the flow table: no event of it follows.
    fn end_stream(&mut self, stream: u64) {
        let Some(state) = self.streams.remove(&stream) else {
            return;
        };
        for x in state.awaiting {
            self.awaiting.remove(&(stream, x));
        }
        for number in state.rows {
            let Some(b) = self.rows.get_mut(&number) else {
                continue;
            };
            if b.row.stream == stream {
                b.stream_ended = true;
                b.row.connection_end = self.ends.resolve(stream, b.row.client);
            } else {
                b.type3_stream_open = false;
            }
            self.complete_if_done(number);
        }
        self.ends.forget(stream);
    }

    /// The open exchange of `stream`, if `fits` accepts it.
    fn open_row(&self, stream: u64, fits: impl Fn(&NtlmExchangeRow) -> bool) -> Option<u64> {
        let number = self.streams.get(&stream)?.current?;
        self.rows
            .get(&number)
            .filter(|b| fits(&b.row))
            .map(|_| number)
    }

    /// A Type 2 on another connection from the same client host to the same server that is
    /// still waiting for its Type 3.
    fn switched_from(&self, e: &Event, stream: u64) -> Option<u64> {
        let client_ip = e.src?.ip();
        let server = e.dst?;
        self.recent
            .iter()
            .filter_map(|number| Some((*number, self.rows.get(number)?)))
            .filter(|(_, b)| {
                b.row.stream != stream
                    && b.row.authenticate.is_none()
                    && b.row.client.ip() == client_ip
                    && b.row.server == server
                    && b.row.challenge.as_ref().is_some_and(|c| c.frame < e.frame)
            })
            .max_by_key(|(_, b)| b.row.challenge.as_ref().map(|c| c.frame))
            .map(|(number, _)| number)
    }

    /// Notes that the response to request `x` on `stream` decides row `number`.
    fn await_response(&mut self, stream: u64, x: u32, number: u64, awaiting: Awaiting) {
        self.awaiting.insert((stream, x), (number, awaiting));
        self.streams.entry(stream).or_default().awaiting.push(x);
    }

    fn on_ntlm(&mut self, e: &Event, stream: u64, n: &NtlmEvent) {
        let Some(message_type) = n.message_type else {
            return;
        };
        match message_type {
            1 => {
                let Some(i) = self.new_row(stream, e.frame, n, e.src, e.dst) else {
                    return;
                };
                if let Some(b) = self.rows.get_mut(&i) {
                    b.row.negotiate = Some(NtlmNegotiateStep {
                        frame: e.frame,
                        domain: n.domain.clone(),
                        workstation: n.workstation.clone(),
                    });
                }
                if let Some(x) = n.exchange {
                    self.await_response(stream, x, i, Awaiting::Type1Answer);
                }
            }
            2 => {
                let i = match self.open_row(stream, |r| {
                    r.challenge.is_none() && r.authenticate.is_none()
                }) {
                    Some(i) => i,
                    None => match self.new_row(stream, e.frame, n, e.dst, e.src) {
                        Some(i) => i,
                        None => return,
                    },
                };
                if let Some(b) = self.rows.get_mut(&i) {
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
                        None => match self.new_row(stream, e.frame, n, e.src, e.dst) {
                            Some(i) => (i, false),
                            None => return,
                        },
                    },
                };
                let response = match &n.message {
                    Some(NtlmMessage::Authenticate(a)) => Some(a.response_kind.label()),
                    _ => None,
                };
                if let Some(b) = self.rows.get_mut(&i) {
                    b.row.authenticate = Some(NtlmAuthenticateStep {
                        frame: e.frame,
                        stream,
                        user: n.user.clone(),
                        domain: n.domain.clone(),
                        workstation: n.workstation.clone(),
                        response,
                    });
                    b.row.type3_on_other_connection = switched;
                    b.type3_stream_open |= switched;
                }
                let state = self.streams.entry(stream).or_default();
                state.current = Some(i);
                if switched {
                    state.rows.push(i);
                }
                if let Some(x) = n.exchange {
                    self.await_response(stream, x, i, Awaiting::Type3Answer);
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
        if let Some(b) = self.rows.get_mut(&i) {
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
                let streams = &self.streams;
                self.ends.observe(e, |s| streams.contains_key(&s));
            }
            Detail::Tls(_) => {}
        }
    }

    fn flow(&mut self, flow: &FlowSummary) {
        self.end_stream(flow.stream);
    }
}
