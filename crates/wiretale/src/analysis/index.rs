//! A per-connection index over the collected timeline: what the detectors and the story read.

use crate::capture::Timestamp;
use crate::proto::http::{AuthScheme as HttpAuthScheme, HttpMessage, HttpVersion, KeepAliveReason};
use crate::proto::tls::{HandshakeBody, TlsMessage};
use crate::tcp::{ConnEvent, Dir, Ending, FlowSummary};
use crate::timeline::{Detail, Event, NtlmEvent};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// One HTTP exchange (request and, when seen, its response) on a connection.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Connection.
    pub stream: u64,
    /// Index of the request on its connection.
    pub exchange: u32,
    /// Frame completing the request.
    pub request_frame: u64,
    /// Time of that frame.
    pub request_time: Timestamp,
    /// Method.
    pub method: String,
    /// Request target as sent.
    pub target: String,
    /// Absolute URL when it can be built (absolute-form, or Host + origin-form path).
    pub url: Option<String>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// The request asks to keep the connection open.
    pub request_keep_alive: bool,
    /// Why (header or version default), as serialized by the HTTP decoder.
    pub request_keep_alive_reason: String,
    /// Scheme of the credentials sent (`NTLM`, `Basic`, ...), if any.
    pub credentials: Option<String>,
    /// User name of Basic credentials.
    pub basic_user: Option<String>,
    /// NTLM message type carried by the request (1 or 3).
    pub ntlm_request: Option<u8>,
    /// Response, when seen.
    pub response: Option<ExchangeResponse>,
}

/// The final (non-1xx) response of an exchange.
#[derive(Debug, Clone)]
pub struct ExchangeResponse {
    /// Frame completing it.
    pub frame: u64,
    /// Time.
    pub time: Timestamp,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// The response keeps the connection open.
    pub keep_alive: bool,
    /// Why, as serialized by the HTTP decoder.
    pub keep_alive_reason: String,
    /// Authentication schemes offered (`WWW-`/`Proxy-Authenticate`).
    pub challenges: Vec<String>,
    /// The NTLM message type carried (2).
    pub ntlm_response: Option<u8>,
}

/// What is known of one TCP connection.
#[derive(Debug, Clone)]
pub struct ConnIndex {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Client.
    pub client: SocketAddr,
    /// Server.
    pub server: SocketAddr,
    /// The flow summary (counters, ending), when the connection left the table.
    pub flow: Option<FlowSummary>,
    /// Indexes into the event list, in order.
    pub events: Vec<usize>,
    /// HTTP exchanges.
    pub exchanges: Vec<Exchange>,
    /// The connection carried TLS.
    pub tls: bool,
    /// For TLS inside CONNECT: the tunnel.
    pub tunnel: Option<String>,
    /// The connection received absolute-form requests or CONNECT, or answered 407.
    pub is_proxy: bool,
    /// First FIN or RST: (frame, who, was it a RST).
    pub first_close: Option<(u64, Dir, bool)>,
    /// Time of the connection's last event or frame.
    pub last_time: Option<Timestamp>,
    /// The TLS handshake's progress, for a connection that carried TLS (computed once, when
    /// the index is built).
    pub tls_progress: Option<TlsProgress>,
}

impl ConnIndex {
    /// Role name of the server side: `proxy` or `server`.
    pub fn server_role(&self) -> &'static str {
        if self.is_proxy {
            "proxy"
        } else {
            "server"
        }
    }

    /// How the connection ended, if known.
    pub fn ending(&self) -> Option<Ending> {
        self.flow.as_ref().map(|f| f.ending)
    }
}

/// The whole capture, indexed by connection.
#[derive(Debug, Clone)]
pub struct Index<'a> {
    /// All events, in production order.
    pub events: &'a [Event],
    /// Connections by stream.
    pub conns: BTreeMap<u64, ConnIndex>,
    /// Time of the capture's last frame.
    pub capture_end: Option<Timestamp>,
}

fn version_str(v: HttpVersion) -> &'static str {
    match v {
        HttpVersion::Http10 => "HTTP/1.0",
        HttpVersion::Http11 => "HTTP/1.1",
    }
}

fn keep_alive_reason(r: &KeepAliveReason) -> String {
    match r {
        KeepAliveReason::Http11Default => "HTTP/1.1 keeps connections open by default",
        KeepAliveReason::ConnectionClose => "Connection: close",
        KeepAliveReason::ProxyConnectionClose => "Proxy-Connection: close",
        KeepAliveReason::Http10ConnectionKeepAlive => "HTTP/1.0 with Connection: keep-alive",
        KeepAliveReason::Http10ProxyConnectionKeepAlive => {
            "HTTP/1.0 with Proxy-Connection: keep-alive"
        }
        KeepAliveReason::Http10Default => {
            "HTTP/1.0 without a keep-alive header closes after one response"
        }
        KeepAliveReason::CloseDelimitedBody => "the body ends when the connection closes",
    }
    .to_string()
}

impl<'a> Index<'a> {
    /// Builds the index.
    pub fn new(events: &'a [Event], flows: &[FlowSummary], capture_end: Option<Timestamp>) -> Self {
        let mut conns: BTreeMap<u64, ConnIndex> = BTreeMap::new();
        for f in flows {
            conns.insert(
                f.stream,
                ConnIndex {
                    stream: f.stream,
                    client: f.client,
                    server: f.server,
                    flow: Some(f.clone()),
                    events: Vec::new(),
                    exchanges: Vec::new(),
                    tls: false,
                    tunnel: None,
                    is_proxy: false,
                    first_close: None,
                    last_time: Some(f.end),
                    tls_progress: None,
                },
            );
        }
        for (i, e) in events.iter().enumerate() {
            let Some(stream) = e.stream else { continue };
            let conn = conns.entry(stream).or_insert_with(|| ConnIndex {
                stream,
                client: e.src.unwrap_or_else(unspecified),
                server: e.dst.unwrap_or_else(unspecified),
                flow: None,
                events: Vec::new(),
                exchanges: Vec::new(),
                tls: false,
                tunnel: None,
                is_proxy: false,
                first_close: None,
                last_time: None,
                tls_progress: None,
            });
            conn.events.push(i);
            let from_client = e.src == Some(conn.client);
            let dir = if from_client {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            match &e.detail {
                Detail::Tcp(ConnEvent::Fin { .. }) if conn.first_close.is_none() => {
                    conn.first_close = Some((e.frame, dir, false));
                }
                Detail::Tcp(ConnEvent::Rst { .. }) if conn.first_close.is_none() => {
                    conn.first_close = Some((e.frame, dir, true));
                }
                Detail::Tls(_) => {
                    conn.tls = true;
                    if e.tunnel.is_some() {
                        conn.tunnel = e.tunnel.clone();
                    }
                }
                Detail::Http(m) => index_http(conn, e, m),
                Detail::Ntlm(n) => index_ntlm(conn, n),
                _ => {}
            }
        }
        let mut index = Index {
            events,
            conns,
            capture_end,
        };
        let progress: Vec<(u64, TlsProgress)> = index
            .conns
            .values()
            .filter(|c| c.tls)
            .map(|c| (c.stream, TlsProgress::of(&index, c)))
            .collect();
        for (stream, p) in progress {
            if let Some(c) = index.conns.get_mut(&stream) {
                c.tls_progress = Some(p);
            }
        }
        index
    }

    /// The event at `i`.
    pub fn event(&self, i: usize) -> Option<&Event> {
        self.events.get(i)
    }

    /// The connection carrying stream `stream`.
    pub fn conn(&self, stream: u64) -> Option<&ConnIndex> {
        self.conns.get(&stream)
    }

    /// Role of an address: `client`, `server` or `proxy` (the server side of a proxy
    /// connection), from what every connection says about it.
    pub fn role_of(&self, addr: SocketAddr) -> &'static str {
        let mut role = "client";
        for c in self.conns.values() {
            if c.server == addr {
                if c.is_proxy {
                    return "proxy";
                }
                role = "server";
            }
        }
        role
    }

    /// Every HTTP exchange of the capture, in request-frame order.
    pub fn exchanges(&self) -> Vec<&Exchange> {
        let mut all: Vec<&Exchange> = self.conns.values().flat_map(|c| &c.exchanges).collect();
        all.sort_by_key(|x| x.request_frame);
        all
    }

    /// Connections whose client has address `ip`.
    pub fn conns_of_client(&self, ip: IpAddr) -> impl Iterator<Item = &ConnIndex> {
        self.conns.values().filter(move |c| c.client.ip() == ip)
    }
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

fn index_http(conn: &mut ConnIndex, e: &Event, m: &HttpMessage) {
    match m {
        HttpMessage::Request(r) => {
            let method = r.head.method.clone();
            let absolute = r.head.target.contains("://");
            if absolute || method.eq_ignore_ascii_case("CONNECT") {
                conn.is_proxy = true;
            }
            let url = if absolute {
                Some(r.head.target.clone())
            } else {
                r.head
                    .headers
                    .get("host")
                    .filter(|_| r.head.target.starts_with('/'))
                    .map(|h| format!("http://{h}{}", r.head.target))
            };
            let cred = r.head.headers.credentials.first();
            conn.exchanges.push(Exchange {
                stream: conn.stream,
                exchange: r.exchange,
                request_frame: e.frame,
                request_time: e.time,
                method,
                target: r.head.target.clone(),
                url,
                version: version_str(r.head.version),
                request_keep_alive: r.keep_alive,
                request_keep_alive_reason: keep_alive_reason(&r.keep_alive_reason),
                credentials: cred.map(|c| c.scheme.clone()),
                basic_user: cred
                    .filter(|c| c.kind == HttpAuthScheme::Basic)
                    .and_then(|c| c.basic.as_ref())
                    .map(|b| b.user.clone()),
                ntlm_request: None,
                response: None,
            });
        }
        HttpMessage::Response(r) => {
            if r.head.status == 407 {
                conn.is_proxy = true;
            }
            if r.interim {
                return;
            }
            let resp = ExchangeResponse {
                frame: e.frame,
                time: e.time,
                status: r.head.status,
                reason: r.head.reason.clone(),
                version: version_str(r.head.version),
                keep_alive: r.keep_alive,
                keep_alive_reason: keep_alive_reason(&r.keep_alive_reason),
                challenges: r
                    .head
                    .headers
                    .challenges
                    .iter()
                    .map(|c| c.scheme.clone())
                    .collect(),
                ntlm_response: None,
            };
            let target = r.exchange.and_then(|x| {
                conn.exchanges
                    .iter_mut()
                    .rev()
                    .find(|ex| ex.exchange == x && ex.response.is_none())
            });
            if let Some(ex) = target {
                ex.response = Some(resp);
            }
        }
        _ => {}
    }
}

fn index_ntlm(conn: &mut ConnIndex, n: &NtlmEvent) {
    let Some(t) = n.message_type else { return };
    let Some(x) = n.exchange else { return };
    if let Some(ex) = conn.exchanges.iter_mut().rev().find(|ex| ex.exchange == x) {
        if t == 2 {
            if let Some(r) = ex.response.as_mut() {
                r.ntlm_response = Some(2);
            }
        } else {
            ex.ntlm_request = Some(t);
        }
    }
}

/// The TLS handshake as seen on one connection.
#[derive(Debug, Clone, Default)]
pub struct TlsProgress {
    /// Frame of the first ClientHello.
    pub client_hello: Option<u64>,
    /// SNI offered.
    pub sni: Option<String>,
    /// Frame of the ServerHello.
    pub server_hello: Option<u64>,
    /// Frame of the server's Certificate.
    pub certificate: Option<u64>,
    /// URLs the server's certificates name for revocation or issuers: (url, kind).
    pub cert_urls: Vec<(String, &'static str)>,
    /// Leaf certificate subject CN.
    pub leaf: Option<String>,
    /// ChangeCipherSpec frames: client, server.
    pub ccs: [Option<u64>; 2],
    /// Encrypted handshake frames (Finished): client, server.
    pub finished: [Option<u64>; 2],
    /// Application data seen: (first frame, records, bytes) per direction.
    pub app_data: [Option<(u64, u64, u64)>; 2],
    /// Alerts: (frame, from client, level name, description name, meaning, fatal).
    pub alerts: Vec<(u64, bool, String, String, String, bool)>,
    /// Last TLS event: (frame, from client, description, time).
    pub last: Option<(u64, bool, String, Timestamp)>,
    /// TLS 1.3 negotiated.
    pub tls13: bool,
}

impl TlsProgress {
    /// Builds it from a connection's events (the index keeps it in
    /// [`ConnIndex::tls_progress`]).
    pub fn of(index: &Index<'_>, conn: &ConnIndex) -> Self {
        let mut p = TlsProgress::default();
        for &i in &conn.events {
            let Some(e) = index.event(i) else { continue };
            let Detail::Tls(m) = &e.detail else { continue };
            let from_client = e.src == Some(conn.client);
            let side = usize::from(!from_client);
            match m {
                TlsMessage::Handshake(h) => match &h.body {
                    HandshakeBody::ClientHello(ch) => {
                        p.client_hello.get_or_insert(e.frame);
                        if p.sni.is_none() {
                            p.sni = ch.server_name.clone();
                        }
                    }
                    HandshakeBody::ServerHello(sh) if !sh.hello_retry_request => {
                        p.server_hello = Some(e.frame);
                        p.tls13 = sh.selected_version == 0x0304;
                    }
                    HandshakeBody::Certificate(chain) if !from_client => {
                        p.certificate = Some(e.frame);
                        p.leaf = chain
                            .certificates
                            .first()
                            .map(|c| c.subject_common_name.clone().unwrap_or(c.subject.clone()));
                        for c in &chain.certificates {
                            for u in &c.crl_urls {
                                p.cert_urls.push((u.clone(), "CRL distribution point"));
                            }
                            for u in &c.ocsp_urls {
                                p.cert_urls.push((u.clone(), "OCSP responder"));
                            }
                            for u in &c.ca_issuers_urls {
                                p.cert_urls.push((u.clone(), "CA issuers (AIA)"));
                            }
                        }
                    }
                    HandshakeBody::Sslv2ServerHello(_) => {
                        p.server_hello = Some(e.frame);
                    }
                    _ => {}
                },
                TlsMessage::ChangeCipherSpec { .. } => {
                    p.ccs[side].get_or_insert(e.frame);
                }
                TlsMessage::EncryptedHandshake(_) => {
                    p.finished[side].get_or_insert(e.frame);
                }
                TlsMessage::ApplicationData(a) => {
                    let slot = &mut p.app_data[side];
                    let (first, records, bytes) = slot.unwrap_or((e.frame, 0, 0));
                    *slot = Some((first, records + a.records, bytes + a.bytes));
                }
                TlsMessage::Alert(a) => p.alerts.push((
                    e.frame,
                    from_client,
                    a.level_name.to_string(),
                    a.description_name.to_string(),
                    a.meaning.to_string(),
                    a.level == 2,
                )),
                _ => {}
            }
            if !matches!(m, TlsMessage::ApplicationData(_)) {
                p.last = Some((e.frame, from_client, e.summary(), e.time));
            }
        }
        p
    }

    /// Both sides finished the handshake (TLS ≤ 1.2: CCS and encrypted Finished each way;
    /// TLS 1.3: encrypted handshake both ways).
    pub fn completed(&self) -> bool {
        let both = |x: &[Option<u64>; 2]| x[0].is_some() && x[1].is_some();
        if self.tls13 {
            both(&self.finished) || self.app_data[0].is_some()
        } else {
            both(&self.ccs) && both(&self.finished)
        }
    }

    /// Frame at which the handshake completed (the later Finished).
    pub fn completed_frame(&self) -> Option<u64> {
        if !self.completed() {
            return None;
        }
        match (self.finished[0], self.finished[1]) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether any application data flowed.
    pub fn has_app_data(&self) -> bool {
        self.app_data.iter().any(|a| a.is_some())
    }
}
