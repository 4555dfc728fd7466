//! One row per HTTP exchange (a request and its final response), built from HTTP events and
//! the NTLM tokens decoded from their authentication headers.

use super::ends::EndTracker;
use super::{push_capped, ConnectionEnd, Side, MAX_ROWS};
use crate::capture::Timestamp;
use crate::proto::http::persistence::KeepAliveReason;
use crate::proto::http::target::RequestTarget;
use crate::proto::http::{Challenge, Credentials, HttpMessage, HttpVersion};
use crate::proto::Dir;
use crate::tcp::FlowSummary;
use crate::timeline::{Detail, Event, EventSink, NtlmEvent};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;

/// Whether one side wants the connection kept open, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeepAlive {
    /// It does.
    pub keep_alive: bool,
    /// Why (HTTP version default, `Connection` / `Proxy-Connection` header, ...).
    pub reason: KeepAliveReason,
}

/// A challenge offered in `WWW-Authenticate` or `Proxy-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthChallengeSeen {
    /// The header (`Proxy-Authenticate`).
    pub header: &'static str,
    /// The scheme as sent (`NTLM`, `BASIC`).
    pub scheme: String,
    /// The `realm` parameter.
    pub realm: Option<String>,
    /// The NTLM message type of the token it carries (2 for a challenge).
    pub ntlm_message_type: Option<u8>,
}

/// Credentials sent in `Authorization` or `Proxy-Authorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthCredentialsSeen {
    /// The header (`Proxy-Authorization`).
    pub header: &'static str,
    /// The scheme as sent.
    pub scheme: String,
    /// Basic user name, or `DOMAIN\user` of an NTLM Type 3.
    pub user: Option<String>,
    /// The NTLM message type of the token (1 or 3).
    pub ntlm_message_type: Option<u8>,
}

/// One HTTP exchange.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpExchangeRow {
    /// `tcp.stream`.
    pub stream: u64,
    /// Index of the request on its connection (0 for the first); `None` for a response that
    /// answered no request the capture shows.
    pub exchange: Option<u32>,
    /// The side that sent the request.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub client: SocketAddr,
    /// The side that answered.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub server: SocketAddr,
    /// The server is a proxy: some request to it had an absolute-form target or was a CONNECT,
    /// or it answered 407 / asked for `Proxy-Authorization`.
    pub server_is_proxy: bool,
    /// Frame that completed the request.
    pub request_frame: Option<u64>,
    /// Frame that completed the final response.
    pub response_frame: Option<u64>,
    /// Method.
    pub method: Option<String>,
    /// Request target as sent.
    pub target: Option<String>,
    /// `origin`, `absolute` (a proxy request), `authority` (CONNECT), `asterisk` or
    /// `unrecognized`.
    pub target_form: Option<&'static str>,
    /// Version of the request.
    pub version: Option<HttpVersion>,
    /// `Host` header.
    pub host: Option<String>,
    /// Final status code.
    pub status: Option<u16>,
    /// Its reason phrase.
    pub reason: Option<String>,
    /// Version of the response.
    pub response_version: Option<HttpVersion>,
    /// Interim (1xx) statuses before the final one.
    pub interim_statuses: Vec<u16>,
    /// Challenges in the response.
    pub challenges: Vec<AuthChallengeSeen>,
    /// Credentials in the request.
    pub credentials: Vec<AuthCredentialsSeen>,
    /// Whether the client asked to keep the connection open.
    pub request_keep_alive: Option<KeepAlive>,
    /// Whether the server kept it open.
    pub response_keep_alive: Option<KeepAlive>,
    /// Request body length (payload bytes).
    pub request_body_len: Option<u64>,
    /// Response body length (payload bytes).
    pub response_body_len: Option<u64>,
    /// Seconds from the request's completion to the final response's.
    pub duration_secs: Option<f64>,
    /// After a 2xx to CONNECT: the tunnel's `host:port`.
    pub tunnel: Option<String>,
    /// After a 101: the protocol switched to.
    pub upgraded_to: Option<String>,
    /// The connection ended with this request unanswered and a side closed it first with a
    /// FIN: that side (`None` after a reset or at the capture's end, which end both sides at
    /// once; the `closed` column says which).
    pub unanswered_closed_by: Option<Side>,
    /// This is the last exchange on its connection.
    pub last_on_connection: bool,
    /// For the last exchange: how the connection ended (who closed).
    pub connection_end: Option<ConnectionEnd>,
}

impl HttpExchangeRow {
    /// The frame of its request (of its response when no request was seen): the table's
    /// order, with the connection and exchange number.
    pub fn first_frame(&self) -> u64 {
        self.request_frame.or(self.response_frame).unwrap_or(0)
    }
}

/// The HTTP table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpTable {
    /// One row per exchange, by first frame.
    pub exchanges: Vec<HttpExchangeRow>,
    /// HTTP events beyond [`MAX_ROWS`] rows (not summarised).
    pub events_over_cap: u64,
}

/// Builds the HTTP table from events (an [`EventSink`]).
#[derive(Debug, Default, Clone)]
pub struct HttpSummary {
    /// Rows of the connections still in the flow table, by stream.
    open: HashMap<u64, StreamRows>,
    /// Where the row of each (stream, exchange) is in its stream's rows.
    by_exchange: HashMap<(u64, u32), usize>,
    /// Rows of connections that left it, complete but for `server_is_proxy`, not taken yet
    /// ([`HttpSummary::drain_ended`]).
    ended: Vec<HttpExchangeRow>,
    /// Rows held, open or ended ([`MAX_ROWS`]).
    held: usize,
    /// Servers seen acting as proxies in the rows handed over so far (of connections that
    /// left the table, and answered exchanges of open ones).
    proxies: HashSet<SocketAddr>,
    ends: EndTracker,
    events_over_cap: u64,
}

/// The rows of one connection not complete yet. Rows are numbered in the order they were
/// made; the first `released` are complete and gone (a long keep-alive connection does not
/// hold its answered exchanges until it ends).
#[derive(Debug, Default, Clone)]
struct StreamRows {
    /// Each with the time of its request.
    rows: VecDeque<(HttpExchangeRow, Option<Timestamp>)>,
    /// Rows made before the first of `rows`.
    released: usize,
    /// The row the latest HTTP event went to (NTLM tokens follow their message).
    last_touched: Option<usize>,
    /// The highest exchange number given a final response. Responses answer requests in
    /// order, so an exchange below it that has none never will: a request beyond the
    /// parser's limit of outstanding requests is never paired (nor reported unanswered at
    /// the close), and must not keep the rows after it from being handed over.
    answered_through: Option<u32>,
}

impl StreamRows {
    /// Row number `i`.
    fn get_mut(&mut self, i: usize) -> Option<&mut (HttpExchangeRow, Option<Timestamp>)> {
        self.rows.get_mut(i.checked_sub(self.released)?)
    }
}

/// The name of a request-target form.
pub(super) fn target_form_name(form: &RequestTarget) -> &'static str {
    match form {
        RequestTarget::Origin => "origin",
        RequestTarget::Absolute { .. } => "absolute",
        RequestTarget::Authority { .. } => "authority",
        RequestTarget::Asterisk => "asterisk",
        RequestTarget::Unrecognized => "unrecognized",
    }
}

fn challenge_seen(c: &Challenge) -> AuthChallengeSeen {
    AuthChallengeSeen {
        header: c.header.as_str(),
        scheme: c.scheme.clone(),
        realm: c.realm().map(str::to_string),
        ntlm_message_type: None,
    }
}

fn credentials_seen(c: &Credentials) -> AuthCredentialsSeen {
    AuthCredentialsSeen {
        header: c.header.as_str(),
        scheme: c.scheme.clone(),
        user: c.basic.as_ref().map(|b| b.user.clone()),
        ntlm_message_type: None,
    }
}

impl HttpSummary {
    /// Summarises already collected events.
    pub fn from_events(events: &[Event]) -> HttpTable {
        let mut summary = HttpSummary::default();
        for e in events {
            summary.event(e);
        }
        summary.finish()
    }

    /// The table: the rows not taken by [`HttpSummary::drain_ended`], by first frame.
    pub fn finish(mut self) -> HttpTable {
        let streams: Vec<u64> = self.open.keys().copied().collect();
        for stream in streams {
            self.end_stream(stream);
        }
        let HttpSummary {
            ended: mut exchanges,
            proxies,
            events_over_cap,
            ..
        } = self;
        for row in &mut exchanges {
            row.server_is_proxy = proxies.contains(&row.server);
        }
        exchanges.sort_by_key(|r| (r.first_frame(), r.stream, r.exchange));
        HttpTable {
            exchanges,
            events_over_cap,
        }
    }

    /// Hands `each` the rows completed since the last call, and forgets them: the rows of
    /// every connection that has left the flow table (each connection's by first frame), and
    /// the answered exchanges of a connection still open once a later one has started on it
    /// and another HTTP message has come (nothing more can change them; a connection's
    /// exchanges come in the order `finish` gives them). A caller that takes rows as they
    /// come, after each event and connection summary (`wiretale http` keeps them on disk),
    /// holds only the unanswered and latest exchanges of the open connections: rows are lost
    /// to [`MAX_ROWS`] (which counts the rows held) only when that many are unanswered at once.
    /// [`HttpSummary::finish`] then gives the rest.
    ///
    /// One field can change later: `server_is_proxy` says whether the server was seen acting
    /// as a proxy up to then (on this connection or an earlier one); a later connection can
    /// still show it is one. [`HttpSummary::is_proxy`], asked once the capture is analysed,
    /// has the last word, as `finish` does for its rows.
    pub fn drain_ended(&mut self, mut each: impl FnMut(HttpExchangeRow)) {
        for row in self.ended.drain(..) {
            self.held = self.held.saturating_sub(1);
            each(row);
        }
    }

    /// Whether `server` was seen acting as a proxy (a request to it had an absolute-form
    /// target or was a CONNECT, or it answered 407 or was sent `Proxy-Authorization`) in a row
    /// complete so far (of a connection that has left the flow table, or an answered exchange
    /// handed over early): once the capture is analysed, every row is.
    pub fn is_proxy(&self, server: SocketAddr) -> bool {
        self.proxies.contains(&server)
    }

    /// Rows held: of connections open, and ended but not taken.
    #[cfg(test)]
    pub(super) fn rows_held(&self) -> usize {
        self.held
    }

    /// The servers [`HttpSummary::is_proxy`] says are proxies.
    pub fn proxies(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.proxies.iter().copied()
    }

    /// HTTP events that found the table full ([`MAX_ROWS`] rows held) so far.
    pub fn events_over_cap(&self) -> u64 {
        self.events_over_cap
    }

    /// Completes the rows of `stream` (its connection left the flow table) and moves them to
    /// `ended`.
    fn end_stream(&mut self, stream: u64) {
        let Some(StreamRows { mut rows, .. }) = self.open.remove(&stream) else {
            return;
        };
        let last = rows
            .iter()
            .enumerate()
            .max_by_key(|(i, (row, _))| (row.first_frame(), *i))
            .map(|(i, _)| i);
        if let Some((row, _)) = last.and_then(|i| rows.get_mut(i)) {
            row.last_on_connection = true;
            row.connection_end = self.ends.resolve(stream, row.client);
        }
        self.ends.forget(stream);
        for (row, _) in &rows {
            if let Some(x) = row.exchange {
                self.by_exchange.remove(&(stream, x));
            }
            if acts_as_proxy(row) {
                self.proxies.insert(row.server);
            }
        }
        rows.make_contiguous()
            .sort_by_key(|(r, _)| (r.first_frame(), r.exchange));
        for (mut row, _) in rows {
            row.server_is_proxy = self.proxies.contains(&row.server);
            self.ended.push(row);
        }
    }

    /// Moves the first rows of `stream` to `ended` while nothing can change them any more:
    /// answered (a final response) or passed over by the answers (a later exchange was
    /// answered: `StreamRows::answered_through`), not where the latest HTTP event went (its
    /// NTLM tokens may follow), and not the connection's last exchange (a later row started
    /// no earlier: first frames only grow). Taken in order, so rows of one connection keep
    /// the order `finish` gives them.
    fn release_answered(&mut self, stream: u64) {
        let Some(state) = self.open.get_mut(&stream) else {
            return;
        };
        while state.rows.len() > 1 {
            let (Some((front, _)), Some((back, _))) = (state.rows.front(), state.rows.back())
            else {
                break;
            };
            let settled = front.status.is_some()
                || matches!((front.exchange, state.answered_through), (Some(x), Some(a)) if x < a);
            let releasable = settled
                && state.last_touched != Some(state.released)
                && back.first_frame() >= front.first_frame();
            if !releasable {
                break;
            }
            let Some((mut row, _)) = state.rows.pop_front() else {
                break;
            };
            state.released += 1;
            if let Some(x) = row.exchange {
                self.by_exchange.remove(&(stream, x));
            }
            if acts_as_proxy(&row) {
                self.proxies.insert(row.server);
            }
            row.server_is_proxy = self.proxies.contains(&row.server);
            self.ended.push(row);
        }
    }

    /// Adds `row` to its stream's; `None` if the table is full.
    fn new_row(&mut self, row: HttpExchangeRow, time: Option<Timestamp>) -> Option<usize> {
        if self.held >= MAX_ROWS {
            self.events_over_cap = self.events_over_cap.saturating_add(1);
            return None;
        }
        self.held += 1;
        let stream = row.stream;
        let exchange = row.exchange;
        let state = self.open.entry(stream).or_default();
        state.rows.push_back((row, time));
        let i = state.released + state.rows.len() - 1;
        if let Some(x) = exchange {
            self.by_exchange.insert((stream, x), i);
        }
        Some(i)
    }

    fn row_for(&mut self, stream: u64, exchange: Option<u32>) -> Option<usize> {
        exchange.and_then(|x| self.by_exchange.get(&(stream, x)).copied())
    }

    /// Row `i` of `stream`, with the time of its request.
    fn row_mut(
        &mut self,
        stream: u64,
        i: usize,
    ) -> Option<&mut (HttpExchangeRow, Option<Timestamp>)> {
        self.open.get_mut(&stream)?.get_mut(i)
    }

    fn on_http(&mut self, e: &Event, stream: u64, m: &HttpMessage) {
        let touched = match m {
            HttpMessage::Request(r) => {
                let mut row = empty_row(stream, Some(r.exchange), e.src, e.dst);
                row.request_frame = Some(e.frame);
                row.method = Some(r.head.method.clone());
                row.target = Some(r.head.target.clone());
                row.target_form = Some(target_form_name(&r.head.target_form));
                row.version = Some(r.head.version);
                row.host = r.head.headers.get("Host").map(str::to_string);
                for c in &r.head.headers.credentials {
                    push_capped(&mut row.credentials, credentials_seen(c));
                }
                row.request_keep_alive = Some(KeepAlive {
                    keep_alive: r.keep_alive,
                    reason: r.keep_alive_reason,
                });
                row.request_body_len = Some(r.body.len);
                self.new_row(row, Some(e.time))
            }
            HttpMessage::Response(r) => {
                let i = match self.row_for(stream, r.exchange) {
                    Some(i) => Some(i),
                    None => self.new_row(empty_row(stream, r.exchange, e.dst, e.src), None),
                };
                if let Some((row, request_time)) = i.and_then(|i| self.row_mut(stream, i)) {
                    if r.interim {
                        push_capped(&mut row.interim_statuses, r.head.status);
                    } else {
                        row.response_frame = Some(e.frame);
                        row.status = Some(r.head.status);
                        row.reason = Some(r.head.reason.clone());
                        row.response_version = Some(r.head.version);
                        row.challenges.clear();
                        for c in &r.head.headers.challenges {
                            push_capped(&mut row.challenges, challenge_seen(c));
                        }
                        row.response_keep_alive = Some(KeepAlive {
                            keep_alive: r.keep_alive,
                            reason: r.keep_alive_reason,
                        });
                        row.response_body_len = Some(r.body.len);
                        row.duration_secs = request_time.map(|t| e.time.seconds_since(t));
                    }
                }
                if let (false, Some(x), Some(rows)) =
                    (r.interim, r.exchange, self.open.get_mut(&stream))
                {
                    rows.answered_through = rows.answered_through.max(Some(x));
                }
                i
            }
            HttpMessage::TunnelEstablished {
                exchange,
                authority,
                ..
            } => {
                let i = self.row_for(stream, Some(*exchange));
                if let Some((row, _)) = i.and_then(|i| self.row_mut(stream, i)) {
                    row.tunnel = Some(authority.clone());
                }
                i
            }
            HttpMessage::ProtocolSwitched { exchange, upgrade } => {
                let i = self.row_for(stream, *exchange);
                if let Some((row, _)) = i.and_then(|i| self.row_mut(stream, i)) {
                    row.upgraded_to.clone_from(upgrade);
                }
                i
            }
            HttpMessage::ConnectionClosedWithOutstandingRequest { exchange, .. } => {
                let i = self.row_for(stream, Some(*exchange));
                if let Some((row, _)) = i.and_then(|i| self.row_mut(stream, i)) {
                    // Only a FIN names a side; a reset or the capture's end is in the
                    // row's `closed` column.
                    row.unanswered_closed_by = m.unanswered_closed_by().map(|first| match first {
                        Dir::ToServer => Side::Client,
                        Dir::ToClient => Side::Server,
                    });
                }
                i
            }
            HttpMessage::DecodeError { .. } | HttpMessage::Resynchronized { .. } => None,
        };
        if let (Some(i), Some(rows)) = (touched, self.open.get_mut(&stream)) {
            rows.last_touched = Some(i);
        }
        self.release_answered(stream);
    }

    fn on_ntlm(&mut self, stream: u64, n: &NtlmEvent) {
        let Some(message_type) = n.message_type else {
            return;
        };
        let Some((row, _)) = self.open.get_mut(&stream).and_then(|rows| {
            let i = rows.last_touched?;
            rows.get_mut(i)
        }) else {
            return;
        };
        let user = n.user.as_ref().map(|u| match &n.domain {
            Some(d) if !d.is_empty() => format!("{d}\\{u}"),
            _ => u.clone(),
        });
        if let Some(c) = row
            .credentials
            .iter_mut()
            .find(|c| c.header == n.header && c.ntlm_message_type.is_none())
        {
            c.ntlm_message_type = Some(message_type);
            if c.user.is_none() {
                c.user = user;
            }
        } else if let Some(c) = row
            .challenges
            .iter_mut()
            .find(|c| c.header == n.header && c.ntlm_message_type.is_none())
        {
            c.ntlm_message_type = Some(message_type);
        }
    }
}

impl EventSink for HttpSummary {
    fn event(&mut self, e: &Event) {
        let Some(stream) = e.stream else { return };
        match &e.detail {
            Detail::Http(m) => self.on_http(e, stream, m),
            Detail::Ntlm(n) => self.on_ntlm(stream, n),
            Detail::Tcp(_) => {
                let open = &self.open;
                self.ends.observe(e, |s| open.contains_key(&s));
            }
            Detail::Tls(_) => {}
        }
    }

    fn flow(&mut self, flow: &FlowSummary) {
        // The connection left the flow table: no event of it follows, its rows are complete.
        self.end_stream(flow.stream);
    }
}

fn acts_as_proxy(row: &HttpExchangeRow) -> bool {
    matches!(row.target_form, Some("absolute" | "authority"))
        || row.status == Some(407)
        || row
            .challenges
            .iter()
            .any(|c| c.header == "Proxy-Authenticate")
        || row
            .credentials
            .iter()
            .any(|c| c.header == "Proxy-Authorization")
}

fn empty_row(
    stream: u64,
    exchange: Option<u32>,
    client: Option<SocketAddr>,
    server: Option<SocketAddr>,
) -> HttpExchangeRow {
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    HttpExchangeRow {
        stream,
        exchange,
        client: client.unwrap_or(unspecified),
        server: server.unwrap_or(unspecified),
        server_is_proxy: false,
        request_frame: None,
        response_frame: None,
        method: None,
        target: None,
        target_form: None,
        version: None,
        host: None,
        status: None,
        reason: None,
        response_version: None,
        interim_statuses: Vec::new(),
        challenges: Vec::new(),
        credentials: Vec::new(),
        request_keep_alive: None,
        response_keep_alive: None,
        request_body_len: None,
        response_body_len: None,
        duration_secs: None,
        tunnel: None,
        upgraded_to: None,
        unanswered_closed_by: None,
        last_on_connection: false,
        connection_end: None,
    }
}
