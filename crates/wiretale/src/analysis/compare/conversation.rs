//! A capture described without addresses, ports or frame numbers: conversations (the
//! connections that serve one purpose) and the protocol steps in them.
//!
//! A connection's [`Identity`] is what it is for: the server's role and service port, the
//! protocol, and a name (TLS SNI, the host and path of the first HTTP request, a CONNECT
//! authority). Connections with one identity form one [`Conversation`]; its steps are those of
//! its connections one connection after the other (in order of their first frame), so an
//! exchange that one capture runs on one connection and another spreads over several still
//! lines up step for step.

use crate::analysis::index::ConnIndex;
use crate::analysis::Analysis;
use crate::capture::Timestamp;
use crate::proto::http::{HttpMessage, KeepAliveReason};
use crate::proto::tls::{ApplicationDataSummary, HandshakeBody, TlsMessage};
use crate::tcp::{ConnEvent, Dir};
use crate::timeline::{Detail, Event, NtlmEvent};
use serde::Serialize;
use std::collections::BTreeMap;

/// Placeholder in step keys for "the conversation's own URL or authority", so two captures
/// fetching different URLs in the same way still align when their conversations are paired.
const SAME_NAME: &str = "<conversation>";

/// What a connection is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Identity {
    /// Role of the server side: `server` or `proxy`.
    pub role: &'static str,
    /// The server's TCP port.
    pub service_port: u16,
    /// `tls`, `http`, `connect` (an HTTP CONNECT tunnel) or `tcp` (nothing decoded).
    pub protocol: &'static str,
    /// TLS SNI, HTTP host and path of the first request (no query), or CONNECT authority;
    /// lower-case host.
    pub name: Option<String>,
}

impl Identity {
    /// For people, e.g. `proxy :8080 HTTP crl.verisign.com/pca3.crl`.
    pub fn label(&self) -> String {
        let proto = match self.protocol {
            "tls" => "TLS",
            "http" => "HTTP",
            "connect" => "CONNECT",
            _ => "TCP",
        };
        match &self.name {
            Some(n) => format!("{} :{} {proto} {n}", self.role, self.service_port),
            None => format!("{} :{} {proto}", self.role, self.service_port),
        }
    }
}

/// What a step is, for alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Opening a connection (SYN, SYN-ACK).
    Setup,
    /// A protocol message (TLS, HTTP, NTLM). These are what conversations are aligned on.
    Message,
    /// How a connection ended: FIN, RST, unanswered SYN, still open at the capture's end.
    End,
}

/// One protocol step of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Frame that completed it.
    pub frame: u64,
    /// Capture time of that frame.
    pub time: Timestamp,
    /// Seconds since the capture's first frame.
    pub offset_secs: f64,
    /// TCP stream.
    pub stream: u64,
    /// Who acted: `client`, `server`, `proxy`, or `capture` (the capture ended).
    pub actor: &'static str,
    /// `tcp`, `tls`, `http` or `ntlm`.
    pub proto: &'static str,
    /// Setup, message or end.
    pub kind: StepKind,
    /// What the step is, without addresses, frames or times: equal keys align.
    pub key: String,
    /// For people, e.g. `client sends GET http://crl.verisign.com/pca3.crl HTTP/1.0 with NTLM Type 1`.
    pub text: String,
    /// Properties compared between aligned steps (HTTP version, keep-alive, TLS version, ...).
    pub attrs: BTreeMap<&'static str, String>,
    /// For a connection still open at the capture's end: seconds from its last packet to the
    /// end of the capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_secs: Option<f64>,
    /// The frame and time of the step's last event: later than `frame` for a step of runs
    /// of application data (one step for them all), where the silence after the step starts.
    #[serde(skip)]
    pub(crate) last: (u64, Timestamp),
    /// For a step of several runs of application data: the longest silence between two of
    /// them (seconds, from frame, to frame).
    #[serde(skip)]
    pub(crate) longest_gap_inside: Option<(f64, u64, u64)>,
}

impl Step {
    /// An ending that signals trouble: a reset, or a SYN nobody answered.
    pub fn is_abnormal_end(&self) -> bool {
        self.kind == StepKind::End && (self.key.starts_with("tcp rst") || self.key == NO_ANSWER)
    }
}

const NO_ANSWER: &str = "tcp no answer";

/// The connections of one capture that share an identity, and their steps.
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    /// What it is.
    pub identity: Identity,
    /// Its TCP streams, in order of their first frame.
    pub streams: Vec<u64>,
    /// First frame of its first connection.
    pub first_frame: u64,
    /// Last frame of any of its connections.
    pub last_frame: u64,
    /// The steps: each connection's in frame order, connection after connection.
    pub steps: Vec<Step>,
    /// Steps were dropped at the cap.
    pub truncated: bool,
    /// Seconds from the first Client Hello to the completed handshake (later Finished), for
    /// the first connection whose TLS handshake completed.
    pub tls_handshake_secs: Option<f64>,
}

/// Describes a capture as conversations, in order of their first frame. At most `max_steps`
/// steps are kept per conversation.
pub fn conversations(analysis: &Analysis, max_steps: usize) -> Vec<Conversation> {
    let index = analysis.index();
    let start = analysis
        .report
        .stats
        .first_time
        .or_else(|| analysis.events.first().map(|e| e.time))
        .unwrap_or_default();
    // Each connection's events, in production order.
    let mut events_of: BTreeMap<u64, Vec<&Event>> = BTreeMap::new();
    for e in &analysis.events {
        if let Some(stream) = e.stream {
            events_of.entry(stream).or_default().push(e);
        }
    }
    let mut groups: BTreeMap<Identity, Vec<(u64, u64, &ConnIndex)>> = BTreeMap::new();
    for conn in index.conns.values() {
        let first = first_frame(conn);
        groups
            .entry(identify(conn))
            .or_default()
            .push((first, conn.stream, conn));
    }
    let mut out: Vec<Conversation> = groups
        .into_iter()
        .map(|(identity, mut conns)| {
            conns.sort_by_key(|&(first, stream, _)| (first, stream));
            let mut conv = Conversation {
                streams: conns.iter().map(|&(_, s, _)| s).collect(),
                first_frame: conns.first().map(|&(f, _, _)| f).unwrap_or(0),
                last_frame: 0,
                steps: Vec::new(),
                truncated: false,
                tls_handshake_secs: None,
                identity,
            };
            for &(first, _, conn) in &conns {
                let last = conn.flow.as_ref().map(|f| f.last_frame).unwrap_or(first);
                conv.last_frame = conv.last_frame.max(last);
                let events = events_of.remove(&conn.stream).unwrap_or_default();
                let steps = conn_steps(conn, events, &conv.identity, start);
                conv.last_frame = conv
                    .last_frame
                    .max(steps.iter().map(|s| s.frame).max().unwrap_or(0));
                for s in steps {
                    if conv.steps.len() >= max_steps {
                        conv.truncated = true;
                        break;
                    }
                    conv.steps.push(s);
                }
                if conv.tls_handshake_secs.is_none() && conn.tls {
                    conv.tls_handshake_secs =
                        conn.tls_progress.as_ref().and_then(|p| p.handshake_secs());
                }
            }
            conv
        })
        .collect();
    out.sort_by(|a, b| (a.first_frame, &a.identity).cmp(&(b.first_frame, &b.identity)));
    out
}

/// A connection's first frame: its flow's, or its first event's without a flow summary.
pub(super) fn first_frame(conn: &ConnIndex) -> u64 {
    (conn.flow.as_ref().map(|f| f.first_frame))
        .or(conn.first_event_frame)
        .unwrap_or(0)
}

/// The identity of one connection.
pub(super) fn identify(conn: &ConnIndex) -> Identity {
    let role = conn.server_role();
    let service_port = conn.server.port();
    let connect = conn
        .exchanges
        .iter()
        .find(|x| x.method.eq_ignore_ascii_case("CONNECT"));
    let (protocol, name) = if let Some(x) = connect {
        ("connect", Some(x.target.to_ascii_lowercase()))
    } else if conn.tls {
        let sni = conn.tls_progress.as_ref().and_then(|p| p.sni.clone());
        ("tls", sni.map(|s| s.to_ascii_lowercase()))
    } else if let Some(x) = conn.exchanges.first() {
        let name = x
            .url
            .as_deref()
            .map(host_and_path)
            .unwrap_or_else(|| strip_query(&x.target).to_string());
        ("http", Some(name))
    } else {
        ("tcp", None)
    };
    Identity {
        role,
        service_port,
        protocol,
        name,
    }
}

fn strip_query(s: &str) -> &str {
    s.split(['?', '#']).next().unwrap_or(s)
}

/// `http://CRL.VeriSign.com:80/pca3.crl?x` → `crl.verisign.com/pca3.crl`.
fn host_and_path(url: &str) -> String {
    let url = strip_query(url.trim());
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let host = host.to_ascii_lowercase();
    let host = match (scheme.to_ascii_lowercase().as_str(), host.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
        _ => host,
    };
    format!("{host}{path}")
}

fn keep_alive(yes: bool, why: &KeepAliveReason) -> String {
    let why = match why {
        KeepAliveReason::Http11Default => "HTTP/1.1 default",
        KeepAliveReason::Http11ConnectionKeepAlive => "HTTP/1.1 with Connection: keep-alive",
        KeepAliveReason::Http11ProxyConnectionKeepAlive => {
            "HTTP/1.1 with Proxy-Connection: keep-alive"
        }
        KeepAliveReason::ConnectionClose => "Connection: close",
        KeepAliveReason::ProxyConnectionClose => "Proxy-Connection: close",
        KeepAliveReason::Http10ConnectionKeepAlive => "HTTP/1.0 with Connection: keep-alive",
        KeepAliveReason::Http10ProxyConnectionKeepAlive => {
            "HTTP/1.0 with Proxy-Connection: keep-alive"
        }
        KeepAliveReason::Http10Default => "HTTP/1.0 default",
        KeepAliveReason::CloseDelimitedBody => "body ends at close",
    };
    format!("{} ({why})", if yes { "yes" } else { "no" })
}

/// Builds one connection's steps.
struct StepBuilder<'c> {
    conn: &'c ConnIndex,
    identity: &'c Identity,
    start: Timestamp,
    steps: Vec<Step>,
    /// The last step's application data when it is a run of it: each actor's sum, in the
    /// order they first sent.
    app_data: Vec<(&'static str, ApplicationDataSummary)>,
    /// The same for runs of bytes not decoded: each actor's bytes.
    data: Vec<(&'static str, u64)>,
}

/// The key of a step of bytes not decoded.
const DATA_KEY: &str = "tcp data";

/// `client sends 190 bytes not decoded; server sends 47 bytes`.
fn data_text(sums: &[(&'static str, u64)]) -> String {
    let mut text = String::new();
    for (i, (actor, bytes)) in sums.iter().enumerate() {
        let unit = if *bytes == 1 { "byte" } else { "bytes" };
        if i == 0 {
            text.push_str(&format!("{actor} sends {bytes} {unit} not decoded"));
        } else {
            text.push_str(&format!("; {actor} sends {bytes} {unit}"));
        }
    }
    text
}

/// The key of a step of application data.
const APPLICATION_DATA_KEY: &str = "tls application_data";

/// `client sends TLS application data (3 records, 1956 bytes); server sends 1 record, 860
/// bytes`.
fn application_data_text(sums: &[(&'static str, ApplicationDataSummary)]) -> String {
    let mut text = String::new();
    for (i, (actor, sum)) in sums.iter().enumerate() {
        let records = if sum.records == 1 {
            "record"
        } else {
            "records"
        };
        let (n, bytes) = (sum.records, sum.bytes);
        if i == 0 {
            text.push_str(&format!(
                "{actor} sends TLS application data ({n} {records}, {bytes} bytes)"
            ));
        } else {
            text.push_str(&format!("; {actor} sends {n} {records}, {bytes} bytes"));
        }
    }
    text
}

impl StepBuilder<'_> {
    fn actor(&self, e: &Event) -> &'static str {
        if e.src == Some(self.conn.client) {
            "client"
        } else {
            self.conn.server_role()
        }
    }

    fn who(&self, dir: Dir) -> &'static str {
        match dir {
            Dir::ToServer => "client",
            Dir::ToClient => self.conn.server_role(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        e: &Event,
        actor: &'static str,
        proto: &'static str,
        kind: StepKind,
        key: String,
        text: String,
        attrs: BTreeMap<&'static str, String>,
    ) {
        self.steps.push(Step {
            frame: e.frame,
            time: e.time,
            offset_secs: e.time.seconds_since(self.start),
            stream: self.conn.stream,
            actor,
            proto,
            kind,
            key,
            text,
            attrs,
            idle_secs: None,
            last: (e.frame, e.time),
            longest_gap_inside: None,
        });
    }

    /// Makes `e`, a run of data that continues the last step (a step of runs of its kind),
    /// part of that step: its text becomes `text`, its last event `e`, and the silence
    /// before `e` counts towards the longest inside it.
    fn extend_run_step(&mut self, e: &Event, text: String) {
        if let Some(prev) = self.steps.last_mut() {
            prev.text = text;
            let (last_frame, last_time) = prev.last;
            let gap = e.time.seconds_since(last_time);
            if prev.longest_gap_inside.is_none_or(|(g, _, _)| gap > g) {
                prev.longest_gap_inside = Some((gap, last_frame, e.frame));
            }
            prev.last = (e.frame, e.time);
        }
    }

    /// A run of bytes not decoded: like runs of TLS application data, the runs in a row
    /// (either way) are one step, with each side's bytes added up.
    fn data(&mut self, e: &Event, dir: Dir, bytes: u64) {
        let actor = self.who(dir);
        let continues = self.steps.last().is_some_and(|prev| prev.key == DATA_KEY);
        if !continues {
            self.data.clear();
        }
        match self.data.iter_mut().find(|(who, _)| *who == actor) {
            Some((_, sum)) => *sum = sum.saturating_add(bytes),
            None => self.data.push((actor, bytes)),
        }
        let text = data_text(&self.data);
        if continues {
            self.extend_run_step(e, text);
        } else {
            let key = DATA_KEY.to_string();
            self.push(
                e,
                actor,
                "tcp",
                StepKind::Message,
                key,
                text,
                BTreeMap::new(),
            );
        }
    }

    fn tcp(&mut self, e: &Event, c: &ConnEvent) {
        if let ConnEvent::Data { dir, bytes, .. } = c {
            self.data(e, *dir, *bytes);
            return;
        }
        let (actor, key, text) = match c {
            ConnEvent::Syn => (
                "client",
                "tcp open".to_string(),
                "client opens a connection (SYN)".to_string(),
            ),
            ConnEvent::SynAck => {
                let who = self.conn.server_role();
                (
                    who,
                    "tcp accept".to_string(),
                    format!("{who} accepts the connection (SYN-ACK)"),
                )
            }
            ConnEvent::Fin { dir } => {
                let who = self.who(*dir);
                (
                    who,
                    format!("tcp fin {who}"),
                    format!("{who} closes the connection (FIN)"),
                )
            }
            ConnEvent::Rst { dir, idle_secs } => {
                let who = self.who(*dir);
                (
                    who,
                    format!("tcp rst {who}"),
                    format!("{who} resets the connection (RST) after {idle_secs:.1} s idle"),
                )
            }
            ConnEvent::OpenAtEnd { idle_secs, .. } => (
                "capture",
                "tcp open at end".to_string(),
                format!(
                    "the connection is still open when the capture ends ({idle_secs:.1} s idle)"
                ),
            ),
            // Capture damage and table caps are findings' business, not behaviour.
            _ => return,
        };
        let kind = match c {
            ConnEvent::Syn | ConnEvent::SynAck => StepKind::Setup,
            _ => StepKind::End,
        };
        self.push(e, actor, "tcp", kind, key, text, BTreeMap::new());
        if let (ConnEvent::OpenAtEnd { idle_secs, .. }, Some(step)) = (c, self.steps.last_mut()) {
            step.idle_secs = Some(*idle_secs);
        }
    }

    fn tls(&mut self, e: &Event, m: &TlsMessage) {
        let actor = self.actor(e);
        let side = if actor == "client" {
            "client"
        } else {
            "server"
        };
        let mut attrs = BTreeMap::new();
        let (key, text) = match m {
            TlsMessage::Handshake(h) => {
                match &h.body {
                    HandshakeBody::ClientHello(ch) => {
                        attrs.insert("tls_offered_version", ch.highest_version_name.to_string());
                        // What else the client offers, in words where a list is short, and as
                        // its JA4 fingerprint (version, SNI, counts of suites and extensions,
                        // ALPN, then hashes of the sorted lists), which differs whenever the
                        // suites or extensions offered do.
                        let suites = ch
                            .cipher_suites
                            .iter()
                            .filter(|c| !crate::proto::tls::names::is_grease(c.id))
                            .count();
                        attrs.insert("tls_offered_cipher_suites", suites.to_string());
                        let alpn = if ch.alpn.is_empty() {
                            "none".to_string()
                        } else {
                            ch.alpn.join(", ")
                        };
                        attrs.insert("tls_offered_alpn", alpn);
                        if let Some(ja4) = &ch.ja4 {
                            attrs.insert("tls_client_hello_ja4", ja4.clone());
                        }
                    }
                    HandshakeBody::ServerHello(sh) => {
                        attrs.insert("tls_version", sh.selected_version_name.to_string());
                        attrs.insert(
                            "tls_cipher_suite",
                            sh.cipher_suite.name.unwrap_or("unknown").to_string(),
                        );
                    }
                    HandshakeBody::Certificate(chain) if actor != "client" => {
                        attrs.insert("certificate_chain_length", chain.count.to_string());
                        if let Some(leaf) = chain.certificates.first() {
                            attrs.insert(
                                "certificate_subject",
                                leaf.subject_common_name
                                    .clone()
                                    .unwrap_or_else(|| leaf.subject.clone()),
                            );
                        }
                    }
                    _ => {}
                }
                (
                    format!("tls {side} {}", h.handshake_name),
                    format!("{actor} sends TLS {}", e.summary()),
                )
            }
            TlsMessage::EncryptedHandshake(_) => (
                format!("tls {side} encrypted_handshake"),
                format!("{actor} sends TLS Encrypted Handshake Message"),
            ),
            TlsMessage::ChangeCipherSpec { .. } => (
                format!("tls {side} change_cipher_spec"),
                format!("{actor} sends TLS Change Cipher Spec"),
            ),
            TlsMessage::Alert(a) => (
                format!("tls {side} alert {} {}", a.level_name, a.description_name),
                format!("{actor} sends TLS {}", e.summary()),
            ),
            TlsMessage::EncryptedAlert(_) => (
                format!("tls {side} encrypted_alert"),
                format!("{actor} sends a TLS Encrypted Alert"),
            ),
            TlsMessage::ApplicationData(a) => {
                // Runs of application data (either way) are one step, with each side's
                // records and bytes added up: how much and in which turns is the
                // application's business, not the handshake's.
                let continues = self
                    .steps
                    .last()
                    .is_some_and(|prev| prev.key == APPLICATION_DATA_KEY);
                if !continues {
                    self.app_data.clear();
                }
                match self.app_data.iter_mut().find(|(who, _)| *who == actor) {
                    Some((_, sum)) => {
                        sum.records = sum.records.saturating_add(a.records);
                        sum.bytes = sum.bytes.saturating_add(a.bytes);
                    }
                    None => self.app_data.push((actor, *a)),
                }
                let text = application_data_text(&self.app_data);
                if continues {
                    self.extend_run_step(e, text);
                    return;
                }
                (APPLICATION_DATA_KEY.to_string(), text)
            }
            // Decoder bookkeeping and damage, not behaviour.
            _ => return,
        };
        // Several records of the same kind in a row (TLS 1.3 encrypted handshake) are one step.
        if let Some(prev) = self.steps.last() {
            if prev.key == key && prev.proto == "tls" && !key.contains("alert") {
                return;
            }
        }
        self.push(e, actor, "tls", StepKind::Message, key, text, attrs);
    }

    fn http(&mut self, e: &Event, m: &HttpMessage) {
        let actor = self.actor(e);
        let mut attrs = BTreeMap::new();
        let (key, text) = match m {
            HttpMessage::Request(r) => {
                attrs.insert("http_version", r.head.version.as_str().to_string());
                attrs.insert("keep_alive", keep_alive(r.keep_alive, &r.keep_alive_reason));
                let target = self.target_key(&r.head.method, &r.head.target, e);
                let mut key = format!("http {actor} {} {target}", r.head.method);
                let mut text = format!(
                    "{actor} sends {} {} {}",
                    r.head.method,
                    r.head.target,
                    r.head.version.as_str()
                );
                if let Some(c) = r.head.headers.credentials.first() {
                    // Replaced by the NTLM step's precise words when the token decodes.
                    key.push_str(&format!(" with {} credentials", c.scheme));
                    text.push_str(&format!(" with {} credentials", c.scheme));
                }
                (key, text)
            }
            HttpMessage::Response(r) => {
                if r.interim {
                    return;
                }
                attrs.insert("http_version", r.head.version.as_str().to_string());
                attrs.insert("keep_alive", keep_alive(r.keep_alive, &r.keep_alive_reason));
                let offers: Vec<&str> = r
                    .head
                    .headers
                    .challenges
                    .iter()
                    .map(|c| c.scheme.as_str())
                    .collect();
                if !offers.is_empty() {
                    attrs.insert("auth_offered", offers.join(", "));
                }
                let mut text = format!(
                    "{actor} answers {} {} {}",
                    r.head.version.as_str(),
                    r.head.status,
                    r.head.reason
                );
                if !offers.is_empty() {
                    text.push_str(&format!(" (offers {})", offers.join(", ")));
                }
                (format!("http {actor} {}", r.head.status), text)
            }
            HttpMessage::TunnelEstablished {
                authority, status, ..
            } => (
                format!("http {actor} tunnel established"),
                format!("{actor} opens the tunnel to {authority} ({status})"),
            ),
            HttpMessage::ProtocolSwitched { upgrade, .. } => {
                let to = upgrade.as_deref().unwrap_or("?").to_ascii_lowercase();
                (
                    format!("http {actor} switched to {to}"),
                    format!("{actor} switches protocols to {to}"),
                )
            }
            HttpMessage::ConnectionClosedWithOutstandingRequest {
                method,
                target,
                first_to_close,
                ..
            } => {
                let who = self.who(*first_to_close);
                let target = self.target_key(method, target, e);
                (
                    format!("http unanswered {method} {target}"),
                    format!("the {who} closed the connection with {method} unanswered"),
                )
            }
            _ => return,
        };
        self.push(e, actor, "http", StepKind::Message, key, text, attrs);
    }

    /// The request target as it goes into a key: the conversation's own name as a
    /// placeholder, anything else as host and path.
    fn target_key(&self, method: &str, target: &str, e: &Event) -> String {
        let name = if method.eq_ignore_ascii_case("CONNECT") {
            target.to_ascii_lowercase()
        } else if target.contains("://") {
            host_and_path(target)
        } else {
            let host = match &e.detail {
                Detail::Http(m) => match m.as_ref() {
                    HttpMessage::Request(r) => r.head.headers.get("host").map(str::to_string),
                    _ => None,
                },
                _ => None,
            };
            match host {
                Some(h) if target.starts_with('/') => host_and_path(&format!("http://{h}{target}")),
                _ => strip_query(target).to_string(),
            }
        };
        if self.identity.name.as_deref() == Some(name.as_str()) {
            SAME_NAME.to_string()
        } else {
            name
        }
    }

    fn ntlm(&mut self, e: &Event, n: &NtlmEvent) {
        let actor = self.actor(e);
        let token = match n.message_type {
            Some(2) => "NTLM Type 2 challenge".to_string(),
            Some(t) => format!("NTLM Type {t}"),
            None => format!("{} {} token", n.scheme.as_str(), n.kind),
        };
        if let Some(prev) = self.steps.last_mut() {
            if prev.proto == "http" && prev.frame == e.frame && prev.actor == actor {
                for s in [&mut prev.key, &mut prev.text] {
                    // The decoded token replaces the generic "with NTLM credentials".
                    if let Some(i) = s.rfind(" with ") {
                        if s.get(i..).is_some_and(|t| t.ends_with(" credentials")) {
                            s.truncate(i);
                        }
                    }
                    s.push_str(" with ");
                    s.push_str(&token);
                }
                return;
            }
        }
        self.push(
            e,
            actor,
            "ntlm",
            StepKind::Message,
            format!("ntlm {actor} {token}"),
            format!("{actor} sends {token}"),
            BTreeMap::new(),
        );
    }
}

/// The steps of one connection, in frame order.
///
/// `recorder::starts_a_step` lists the events this always turns into a step of their own
/// (never merged into the one before, never dropped); a change to the merging rules here
/// must keep that list true (the recorder's equivalence tests with small caps catch it).
pub(super) fn conn_steps(
    conn: &ConnIndex,
    mut events: Vec<&Event>,
    identity: &Identity,
    start: Timestamp,
) -> Vec<Step> {
    // Stable: events of one frame keep their production order (HTTP before its NTLM token).
    events.sort_by_key(|e| e.frame);
    let mut b = StepBuilder {
        conn,
        identity,
        start,
        steps: Vec::new(),
        app_data: Vec::new(),
        data: Vec::new(),
    };
    for e in events {
        match &e.detail {
            Detail::Tcp(c) => b.tcp(e, c),
            Detail::Tls(m) => b.tls(e, m),
            Detail::Http(m) => b.http(e, m),
            Detail::Ntlm(n) => b.ntlm(e, n),
        }
    }
    // A SYN that nobody answered (and nobody refused) ends the connection without an event.
    if let Some(f) = &conn.flow {
        let refused = b.steps.iter().any(|s| s.key.starts_with("tcp rst"));
        if f.syns > 0 && !f.syn_ack && !refused {
            b.steps.retain(|s| s.key != "tcp open at end");
            b.steps.push(Step {
                frame: f.last_frame,
                time: f.end,
                offset_secs: f.end.seconds_since(start),
                stream: conn.stream,
                actor: "client",
                proto: "tcp",
                kind: StepKind::End,
                key: NO_ANSWER.to_string(),
                text: format!(
                    "the client's SYN got no answer ({} SYN{})",
                    f.syns,
                    if f.syns == 1 { "" } else { "s" }
                ),
                attrs: BTreeMap::new(),
                idle_secs: None,
                last: (f.last_frame, f.end),
                longest_gap_inside: None,
            });
        }
    }
    b.steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_host_and_path() {
        assert_eq!(
            host_and_path("HTTP://CRL.VeriSign.com:80/pca3.crl?x=1"),
            "crl.verisign.com/pca3.crl"
        );
        assert_eq!(host_and_path("https://a.example:8443"), "a.example:8443/");
        assert_eq!(host_and_path("https://a.example:443/x#f"), "a.example/x");
    }

    #[test]
    fn labels() {
        let id = Identity {
            role: "proxy",
            service_port: 8080,
            protocol: "http",
            name: Some("crl.verisign.com/pca3.crl".into()),
        };
        assert_eq!(id.label(), "proxy :8080 HTTP crl.verisign.com/pca3.crl");
        let id = Identity {
            role: "server",
            service_port: 5061,
            protocol: "tls",
            name: None,
        };
        assert_eq!(id.label(), "server :5061 TLS");
    }
}
