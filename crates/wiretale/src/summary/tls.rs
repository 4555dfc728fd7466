//! One row per TLS connection, built from the connection's TLS events: hellos, certificate,
//! Finished messages, alerts and application-data summaries.

use super::ends::EndTracker;
use super::{push_capped, push_unique, ConnectionEnd, Side, MAX_LIST, MAX_ROWS};
use crate::capture::Timestamp;
use crate::proto::tls::names::{is_grease, version_name};
use crate::proto::tls::{
    ApplicationDataSummary, CertificateChain, CertificateInfo, HandshakeBody, Resumption,
    TlsMessage,
};
use crate::tcp::FlowSummary;
use crate::timeline::summary::title;
use crate::timeline::{Detail, Event, EventSink};
use serde::Serialize;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

/// The server's certificate chain, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertificateSummary {
    /// Frame of the Certificate message.
    pub frame: u64,
    /// Certificates in the message.
    pub chain_length: usize,
    /// Common name of the first (leaf) certificate.
    pub leaf_common_name: Option<String>,
    /// Subject of the leaf.
    pub leaf_subject: Option<String>,
    /// Issuer of the leaf.
    pub leaf_issuer: Option<String>,
    /// End of the leaf's validity (RFC 3339).
    pub leaf_not_after: Option<String>,
    /// The leaf is self-signed.
    pub leaf_self_signed: bool,
    /// Every decoded certificate of the chain was within its validity period at the time of
    /// the Certificate message (`None` when no certificate could be decoded).
    pub valid_at_capture: Option<bool>,
    /// The certificates that were not, e.g. `CN=old.example.com expired 2019-01-01T00:00:00Z`.
    pub invalid_at_capture: Vec<String>,
    /// Certificates that could not be decoded.
    pub undecodable: usize,
    /// CRL distribution point URLs named by any certificate of the chain.
    pub crl_urls: Vec<String>,
    /// OCSP responder URLs named by any certificate of the chain.
    pub ocsp_urls: Vec<String>,
    /// CA issuer URLs (authorityInfoAccess) named by any certificate of the chain.
    pub ca_issuers_urls: Vec<String>,
}

/// The last TLS message of a connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastTlsMessage {
    /// Frame that completed it.
    pub frame: u64,
    /// Its time.
    pub time: Timestamp,
    /// Who sent it.
    pub by: Side,
    /// What it was (`Server Hello Done`, `Encrypted Handshake Message`, ...).
    pub name: String,
}

/// How far the handshake got.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandshakeProgress {
    /// Both Finished messages were seen (for TLS ≤ 1.2 the encrypted handshake record after
    /// each side's ChangeCipherSpec; for TLS 1.3 each side's first encrypted handshake record).
    pub completed: bool,
    /// The capture shows the start of the handshake (a ClientHello or ServerHello); when it
    /// does not (a connection picked up mid-way), `completed` and `waiting_for` say nothing.
    pub start_captured: bool,
    /// Frame of the (first) ClientHello.
    pub client_hello_frame: Option<u64>,
    /// Frame of the ServerHello.
    pub server_hello_frame: Option<u64>,
    /// Frame of the client's Finished.
    pub client_finished_frame: Option<u64>,
    /// Frame of the server's Finished.
    pub server_finished_frame: Option<u64>,
    /// Seconds from the ClientHello to the later Finished (completed handshakes only).
    pub duration_secs: Option<f64>,
    /// The last TLS message seen (application data included).
    pub last_message: Option<LastTlsMessage>,
    /// For a handshake that did not complete and was not ended by an alert: who was expected
    /// to send the next handshake message, judged from the last one (a ClientHello, a
    /// ServerHelloDone, a HelloRetryRequest or a Finished ends a flight and hands over to the
    /// other side; anything else means the sender had more to send).
    pub waiting_for: Option<Side>,
}

/// An alert and who sent it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertSeen {
    /// Frame of the alert.
    pub frame: u64,
    /// Sender.
    pub by: Side,
    /// `warning` or `fatal`.
    pub level: &'static str,
    /// Description number.
    pub description: u8,
    /// Its name (`handshake_failure`).
    pub description_name: &'static str,
}

/// One TLS connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsConnectionRow {
    /// `tcp.stream`.
    pub stream: u64,
    /// The side that sent the ClientHello.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub client: SocketAddr,
    /// The other side (for a tunnel: the proxy).
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub server: SocketAddr,
    /// For TLS inside an HTTP CONNECT tunnel: the tunnel's `host:port`.
    pub tunnel: Option<String>,
    /// Frame of the first TLS message.
    pub first_frame: u64,
    /// Server name (SNI) asked for.
    pub sni: Option<String>,
    /// Versions the client offered (supported_versions, else its hello version), GREASE left out.
    pub versions_offered: Vec<&'static str>,
    /// The version the server chose.
    pub version: Option<&'static str>,
    /// Number of cipher suites offered.
    pub cipher_suites_offered: usize,
    /// The cipher suite chosen (IANA name, or hex when unregistered).
    pub cipher_suite: Option<String>,
    /// ALPN protocols offered.
    pub alpn_offered: Vec<String>,
    /// ALPN protocol chosen.
    pub alpn: Option<String>,
    /// The client tried to resume (session id with TLS ≤ 1.2, a session ticket, or a PSK).
    pub resumption_offered: bool,
    /// How the server resumed, if it did.
    pub resumption: Option<Resumption>,
    /// The server answered with a HelloRetryRequest.
    pub hello_retry_request: bool,
    /// ClientHellos seen (2 after a HelloRetryRequest).
    pub client_hellos: u32,
    /// The server's certificate chain (TLS 1.3 encrypts it: absent there).
    pub server_certificate: Option<CertificateSummary>,
    /// The server asked for a client certificate (CertificateRequest: mutual TLS).
    pub client_certificate_requested: bool,
    /// Certificates in the client's Certificate message (0: it sent an empty one).
    pub client_certificates: Option<usize>,
    /// Handshake progress.
    pub handshake: HandshakeProgress,
    /// Plaintext alerts, in order.
    pub alerts: Vec<AlertSeen>,
    /// Alerts sent after encryption started (content hidden).
    pub encrypted_alerts: u32,
    /// Application data sent by the client.
    pub client_application_data: ApplicationDataSummary,
    /// Application data sent by the server.
    pub server_application_data: ApplicationDataSummary,
    /// JA3 hash of the ClientHello.
    pub ja3: Option<String>,
    /// JA4 fingerprint of the ClientHello.
    pub ja4: Option<String>,
    /// JA3S hash of the ServerHello.
    pub ja3s: Option<String>,
    /// How the TCP connection ended.
    pub connection_end: Option<ConnectionEnd>,
    /// Seconds from the last TLS message to the FIN or RST that ended the connection (or, for a
    /// connection open at the end, to the end of the capture); absent when the connection's
    /// first FIN came before the last TLS message.
    pub idle_before_end_secs: Option<f64>,
    /// Decoding trouble: resynchronisations, truncated records, a direction that is not TLS.
    pub trouble: Vec<String>,
}

/// The TLS table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsTable {
    /// One row per connection, by first frame.
    pub connections: Vec<TlsConnectionRow>,
    /// Events of connections beyond [`MAX_ROWS`] (not summarised).
    pub events_over_cap: u64,
}

#[derive(Debug, Clone)]
struct RawLast {
    frame: u64,
    time: Timestamp,
    sender: Option<SocketAddr>,
    name: String,
    ends_flight: bool,
    alert: bool,
}

#[derive(Debug, Clone)]
struct RawAlert {
    frame: u64,
    sender: Option<SocketAddr>,
    level_name: &'static str,
    description: u8,
    description_name: &'static str,
}

/// A connection being summarised. Sides are kept as sender addresses until the end, because
/// the client is known for sure only once a hello (or the flow summary) says so.
#[derive(Debug, Clone)]
struct Conn {
    stream: u64,
    first_frame: u64,
    first_src: Option<SocketAddr>,
    first_dst: Option<SocketAddr>,
    hello_client: Option<SocketAddr>,
    flow_client: Option<SocketAddr>,
    tunnel: Option<String>,
    client_hello: Option<(u64, Timestamp)>,
    client_hellos: u32,
    server_hello_frame: Option<u64>,
    sni: Option<String>,
    versions_offered: Vec<&'static str>,
    version: Option<&'static str>,
    cipher_suites_offered: usize,
    cipher_suite: Option<String>,
    alpn_offered: Vec<String>,
    alpn: Option<String>,
    client_session_id: String,
    client_ticket_len: usize,
    selected_version: Option<u16>,
    resumption_offered: bool,
    resumption: Option<Resumption>,
    hello_retry_request: bool,
    server_full_handshake: bool,
    /// Certificate messages by sender (the first of each), sorted out at the end.
    certificates: Vec<(Option<SocketAddr>, CertificateSummary)>,
    certificate_requested: bool,
    finished: Vec<(Option<SocketAddr>, u64, Timestamp)>,
    last: Option<RawLast>,
    alerts: Vec<RawAlert>,
    fatal_alert: bool,
    encrypted_alerts: u32,
    application_data: Vec<(Option<SocketAddr>, ApplicationDataSummary)>,
    ja3: Option<String>,
    ja4: Option<String>,
    ja3s: Option<String>,
    trouble: Vec<String>,
}

/// Builds the TLS table from events (an [`EventSink`]).
#[derive(Debug, Default, Clone)]
pub struct TlsSummary {
    /// Connections still in the flow table, by stream.
    open: HashMap<u64, Conn>,
    /// Rows of connections that left it, not taken yet ([`TlsSummary::drain_ended`]).
    ended: Vec<TlsConnectionRow>,
    ends: EndTracker,
    events_over_cap: u64,
}

impl TlsSummary {
    /// Summarises already collected events and flow summaries.
    pub fn from_events(events: &[Event], flows: &[FlowSummary]) -> TlsTable {
        let mut summary = TlsSummary::default();
        for e in events {
            summary.event(e);
        }
        for f in flows {
            summary.flow(f);
        }
        summary.finish()
    }

    /// The table: the rows not taken by [`TlsSummary::drain_ended`], by first frame.
    pub fn finish(self) -> TlsTable {
        let TlsSummary {
            open,
            mut ended,
            ends,
            events_over_cap,
        } = self;
        ended.extend(open.into_values().map(|c| c.into_row(&ends)));
        ended.sort_by_key(|r| (r.first_frame, r.stream));
        TlsTable {
            connections: ended,
            events_over_cap,
        }
    }

    /// Hands `each` the row of every connection that has left the flow table since the last
    /// call (complete: nothing more comes for it), in the order they left, and forgets them:
    /// a caller that writes rows out as they come (`wiretale tls` keeps them on disk) needs
    /// memory only for the connections open at a time: rows are lost to [`MAX_ROWS`] (which
    /// counts the rows held) only when that many connections are in the flow table at once.
    /// [`TlsSummary::finish`] then gives the rest.
    ///
    /// ```no_run
    /// use wiretale::pipeline::{analyze_path, AnalyzerConfig};
    /// use wiretale::summary::TlsSummary;
    /// use wiretale::tcp::FlowSummary;
    /// use wiretale::timeline::{Event, EventSink};
    ///
    /// /// Prints each row as its connection leaves the flow table.
    /// struct Printing(TlsSummary);
    ///
    /// impl EventSink for Printing {
    ///     fn event(&mut self, e: &Event) {
    ///         self.0.event(e);
    ///     }
    ///     fn flow(&mut self, f: &FlowSummary) {
    ///         self.0.flow(f);
    ///         self.0.drain_ended(|row| println!("stream {}: SNI {:?}", row.stream, row.sni));
    ///     }
    /// }
    ///
    /// let mut sink = Printing(TlsSummary::default());
    /// analyze_path("trace.pcap", &AnalyzerConfig::default(), &mut sink)?;
    /// // Every connection leaves the table by the end of the capture: nothing is left.
    /// assert!(sink.0.finish().connections.is_empty());
    /// # Ok::<(), wiretale::capture::CaptureError>(())
    /// ```
    pub fn drain_ended(&mut self, mut each: impl FnMut(TlsConnectionRow)) {
        for row in self.ended.drain(..) {
            each(row);
        }
    }

    /// Rows held: of connections open, and ended but not taken.
    #[cfg(test)]
    pub(super) fn rows_held(&self) -> usize {
        self.open.len() + self.ended.len()
    }

    /// Events of connections that found the table full ([`MAX_ROWS`] rows held) so far.
    pub fn events_over_cap(&self) -> u64 {
        self.events_over_cap
    }

    fn conn(&mut self, e: &Event, stream: u64) -> Option<&mut Conn> {
        let held = self.open.len() + self.ended.len();
        match self.open.entry(stream) {
            Entry::Occupied(o) => Some(o.into_mut()),
            Entry::Vacant(v) => {
                if held >= MAX_ROWS {
                    self.events_over_cap = self.events_over_cap.saturating_add(1);
                    return None;
                }
                Some(v.insert(Conn::new(stream, e)))
            }
        }
    }
}

impl EventSink for TlsSummary {
    fn event(&mut self, e: &Event) {
        let Some(stream) = e.stream else { return };
        match &e.detail {
            Detail::Tls(m) => {
                if let Some(conn) = self.conn(e, stream) {
                    conn.on_tls(e, m);
                }
            }
            Detail::Tcp(_) => {
                let open = &self.open;
                self.ends.observe(e, |s| open.contains_key(&s));
            }
            Detail::Http(_) | Detail::Ntlm(_) => {}
        }
    }

    fn flow(&mut self, flow: &FlowSummary) {
        // The connection left the flow table: no event of it follows, its row is complete.
        if let Some(mut conn) = self.open.remove(&flow.stream) {
            conn.flow_client = Some(flow.client);
            self.ended.push(conn.into_row(&self.ends));
            self.ends.forget(flow.stream);
        }
    }
}

/// Whether a handshake message of this type is the last of its sender's flight, so the other
/// side speaks next: ClientHello, ServerHelloDone, Finished.
fn type_ends_flight(handshake_type: u8) -> bool {
    matches!(handshake_type, 1 | 14 | 20)
}

fn summarise_chain(e: &Event, chain: &CertificateChain) -> CertificateSummary {
    let leaf = chain.certificates.first();
    let at = e.time.secs;
    let mut summary = CertificateSummary {
        frame: e.frame,
        chain_length: chain.count,
        leaf_common_name: leaf.and_then(|c| c.subject_common_name.clone()),
        leaf_subject: leaf.map(|c| c.subject.clone()),
        leaf_issuer: leaf.map(|c| c.issuer.clone()),
        leaf_not_after: leaf.map(|c| c.not_after.clone()),
        leaf_self_signed: leaf.is_some_and(|c| c.self_signed),
        valid_at_capture: leaf.map(|_| true),
        invalid_at_capture: Vec::new(),
        undecodable: chain.undecodable.len(),
        crl_urls: Vec::new(),
        ocsp_urls: Vec::new(),
        ca_issuers_urls: Vec::new(),
    };
    for cert in &chain.certificates {
        if !cert.valid_at(at) {
            summary.valid_at_capture = Some(false);
            push_capped(&mut summary.invalid_at_capture, invalid_reason(cert, at));
        }
        for url in &cert.crl_urls {
            push_unique(&mut summary.crl_urls, url.clone());
        }
        for url in &cert.ocsp_urls {
            push_unique(&mut summary.ocsp_urls, url.clone());
        }
        for url in &cert.ca_issuers_urls {
            push_unique(&mut summary.ca_issuers_urls, url.clone());
        }
    }
    summary
}

fn invalid_reason(cert: &CertificateInfo, at: i64) -> String {
    let name = cert
        .subject_common_name
        .as_deref()
        .unwrap_or(cert.subject.as_str());
    if at < cert.not_before_epoch {
        format!("{name} not valid before {}", cert.not_before)
    } else {
        format!("{name} expired {}", cert.not_after)
    }
}

impl Conn {
    fn new(stream: u64, e: &Event) -> Conn {
        Conn {
            stream,
            first_frame: e.frame,
            first_src: e.src,
            first_dst: e.dst,
            hello_client: None,
            flow_client: None,
            tunnel: None,
            client_hello: None,
            client_hellos: 0,
            server_hello_frame: None,
            sni: None,
            versions_offered: Vec::new(),
            version: None,
            cipher_suites_offered: 0,
            cipher_suite: None,
            alpn_offered: Vec::new(),
            alpn: None,
            client_session_id: String::new(),
            client_ticket_len: 0,
            selected_version: None,
            resumption_offered: false,
            resumption: None,
            hello_retry_request: false,
            server_full_handshake: false,
            certificates: Vec::new(),
            certificate_requested: false,
            finished: Vec::new(),
            last: None,
            alerts: Vec::new(),
            fatal_alert: false,
            encrypted_alerts: 0,
            application_data: Vec::new(),
            ja3: None,
            ja4: None,
            ja3s: None,
            trouble: Vec::new(),
        }
    }

    /// Whether `sender` is the client as far as known so far (a ClientHello's sender).
    fn sent_by_client(&self, sender: Option<SocketAddr>) -> bool {
        self.hello_client.is_some() && self.hello_client == sender
    }

    fn note_last(&mut self, e: &Event, name: String, ends_flight: bool, alert: bool) {
        self.last = Some(RawLast {
            frame: e.frame,
            time: e.time,
            sender: e.src,
            name,
            ends_flight,
            alert,
        });
    }

    /// Keeps the first Certificate message of each side; which one is the server's is decided
    /// at the end, when the client is known.
    fn note_certificate(&mut self, e: &Event, chain: &CertificateChain) {
        if self.certificates.iter().all(|(s, _)| *s != e.src) && self.certificates.len() < 2 {
            self.certificates.push((e.src, summarise_chain(e, chain)));
        }
    }

    fn mark_finished(&mut self, e: &Event) {
        if self.finished.iter().all(|(s, _, _)| *s != e.src) && self.finished.len() < 2 {
            self.finished.push((e.src, e.frame, e.time));
        }
    }

    fn on_tls(&mut self, e: &Event, m: &TlsMessage) {
        if self.tunnel.is_none() {
            self.tunnel.clone_from(&e.tunnel);
        }
        match m {
            TlsMessage::Handshake(h) => {
                let ends_flight = self.on_handshake(e, h.handshake_type, &h.body);
                self.note_last(e, title(h.handshake_name), ends_flight, false);
            }
            TlsMessage::EncryptedHandshake(r) => {
                match r.reason {
                    "after_change_cipher_spec" | "tls13_after_server_hello" => {
                        self.mark_finished(e)
                    }
                    // SSLv2: SERVER-VERIFY, CLIENT-FINISHED, SERVER-FINISHED: the server's
                    // Finished is its encrypted message after the client's.
                    "sslv2_after_master_key"
                        if self.sent_by_client(e.src) || !self.finished.is_empty() =>
                    {
                        self.mark_finished(e)
                    }
                    _ => {}
                }
                self.note_last(e, "Encrypted Handshake Message".into(), true, false);
            }
            TlsMessage::ChangeCipherSpec { .. } => {
                let from_server = !self.sent_by_client(e.src);
                let abbreviated =
                    from_server && self.server_hello_frame.is_some() && !self.server_full_handshake;
                if abbreviated
                    && self.resumption.is_none()
                    && self.client_ticket_len > 0
                    && self.selected_version.is_some_and(|v| v < 0x0304)
                {
                    self.resumption = Some(Resumption::SessionTicket);
                }
                self.note_last(e, "Change Cipher Spec".into(), false, false);
            }
            TlsMessage::Alert(a) => {
                if a.level == 2 {
                    self.fatal_alert = true;
                }
                if self.alerts.len() < MAX_LIST {
                    self.alerts.push(RawAlert {
                        frame: e.frame,
                        sender: e.src,
                        level_name: a.level_name,
                        description: a.description,
                        description_name: a.description_name,
                    });
                }
                let name = format!("Alert ({}): {}", a.level_name, a.description_name);
                self.note_last(e, name, false, true);
            }
            TlsMessage::EncryptedAlert(_) => {
                self.encrypted_alerts = self.encrypted_alerts.saturating_add(1);
                self.note_last(e, "Encrypted Alert".into(), false, true);
            }
            TlsMessage::ApplicationData(a) => {
                let known = self.application_data.len();
                match self.application_data.iter_mut().find(|(s, _)| *s == e.src) {
                    Some((_, total)) => {
                        total.records = total.records.saturating_add(a.records);
                        total.bytes = total.bytes.saturating_add(a.bytes);
                    }
                    None if known < 2 => self.application_data.push((e.src, *a)),
                    None => {}
                }
                self.note_last(e, "Application Data".into(), false, false);
            }
            TlsMessage::Heartbeat(_) => {}
            TlsMessage::HandshakeTooLarge(h) => {
                push_capped(
                    &mut self.trouble,
                    format!(
                        "frame {}: {} of {} bytes too large to decode",
                        e.frame,
                        title(h.handshake_name),
                        h.declared_length
                    ),
                );
                let ends_flight = type_ends_flight(h.handshake_type);
                self.note_last(e, title(h.handshake_name), ends_flight, false);
            }
            TlsMessage::Truncated(t) => push_capped(
                &mut self.trouble,
                format!(
                    "frame {}: truncated {} ({} of {} bytes, {})",
                    e.frame, t.what, t.available, t.expected, t.cause
                ),
            ),
            TlsMessage::Resync(r) => push_capped(
                &mut self.trouble,
                format!(
                    "frame {}: skipped {} bytes to resynchronise ({})",
                    e.frame, r.skipped_bytes, r.reason
                ),
            ),
            TlsMessage::NotTls(n) => {
                let who = e.src.map(|a| a.to_string()).unwrap_or_default();
                push_capped(
                    &mut self.trouble,
                    format!("frame {}: {who} does not speak TLS ({})", e.frame, n.reason),
                );
            }
        }
    }

    /// Updates the connection from a handshake message; answers whether it ends its sender's
    /// flight.
    fn on_handshake(&mut self, e: &Event, handshake_type: u8, body: &HandshakeBody) -> bool {
        match body {
            HandshakeBody::ClientHello(ch) => {
                self.client_hellos = self.client_hellos.saturating_add(1);
                if self.client_hello.is_none() {
                    self.client_hello = Some((e.frame, e.time));
                    self.hello_client = e.src;
                    self.sni.clone_from(&ch.server_name);
                    for v in ch.supported_versions.iter().filter(|v| !is_grease(**v)) {
                        push_unique(&mut self.versions_offered, version_name(*v));
                    }
                    if self.versions_offered.is_empty() {
                        self.versions_offered.push(version_name(ch.legacy_version));
                    }
                    self.cipher_suites_offered = ch.cipher_suites.len();
                    self.alpn_offered = ch.alpn.iter().take(MAX_LIST).cloned().collect();
                    self.client_session_id.clone_from(&ch.session_id);
                    self.client_ticket_len = ch.session_ticket_length.unwrap_or(0);
                    self.resumption_offered = ch.offers_psk
                        || self.client_ticket_len > 0
                        || (!ch.session_id.is_empty() && ch.highest_version < 0x0304);
                    self.ja3 = ch.ja3.as_ref().map(|j| j.hash.clone());
                    self.ja4.clone_from(&ch.ja4);
                }
                true
            }
            HandshakeBody::ServerHello(sh) => {
                if self.hello_client.is_none() {
                    self.hello_client = e.dst;
                }
                self.version = Some(sh.selected_version_name);
                self.selected_version = Some(sh.selected_version);
                self.cipher_suite = Some(
                    sh.cipher_suite
                        .name
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("0x{:04x}", sh.cipher_suite.id)),
                );
                if sh.hello_retry_request {
                    self.hello_retry_request = true;
                    return true;
                }
                self.server_hello_frame = Some(e.frame);
                self.alpn.clone_from(&sh.alpn);
                self.ja3s = Some(sh.ja3s.hash.clone());
                if sh.psk_selected {
                    self.resumption = Some(Resumption::Tls13Psk);
                } else if sh.selected_version < 0x0304
                    && !self.client_session_id.is_empty()
                    && self.client_session_id == sh.session_id
                {
                    self.resumption = Some(Resumption::SessionId);
                }
                false
            }
            HandshakeBody::Sslv2ServerHello(sh) => {
                if self.hello_client.is_none() {
                    self.hello_client = e.dst;
                }
                self.version = Some(version_name(0x0002));
                self.server_hello_frame = Some(e.frame);
                if sh.session_id_hit {
                    self.resumption = Some(Resumption::SessionId);
                }
                if let Some(cert) = &sh.certificate {
                    let chain = CertificateChain {
                        count: 1,
                        certificates: vec![cert.clone()],
                        undecodable: Vec::new(),
                    };
                    self.note_certificate(e, &chain);
                }
                true
            }
            HandshakeBody::Sslv2ClientMasterKey(cmk) => {
                self.cipher_suite = Some(cmk.cipher_spec.name.to_string());
                true
            }
            HandshakeBody::Certificate(chain) => {
                if self.hello_client.is_some() && !self.sent_by_client(e.src) {
                    self.server_full_handshake = true;
                }
                self.note_certificate(e, chain);
                false
            }
            HandshakeBody::ServerKeyExchange(_) => {
                self.server_full_handshake = true;
                false
            }
            HandshakeBody::CertificateRequest(_) => {
                self.certificate_requested = true;
                false
            }
            HandshakeBody::Finished { .. } => {
                self.mark_finished(e);
                true
            }
            _ => {
                if handshake_type == 14 {
                    self.server_full_handshake = true;
                }
                type_ends_flight(handshake_type)
            }
        }
    }

    fn into_row(self, ends: &EndTracker) -> TlsConnectionRow {
        let client = self
            .hello_client
            .or(self.flow_client)
            .or(self.first_src)
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
        let server = if self.first_src == Some(client) {
            self.first_dst
        } else {
            self.first_src
        }
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
        let side = |sender: Option<SocketAddr>| Side::of(sender, client);
        let finished_by = |s: Side| {
            self.finished
                .iter()
                .find(|(sender, _, _)| side(*sender) == s)
                .map(|(_, frame, time)| (*frame, *time))
        };
        let certificate_of = |s: Side| {
            self.certificates
                .iter()
                .find(|(sender, _)| side(*sender) == s)
                .map(|(_, c)| c)
        };
        let server_certificate = certificate_of(Side::Server).cloned();
        let client_certificates = certificate_of(Side::Client).map(|c| c.chain_length);
        let client_finished = finished_by(Side::Client);
        let server_finished = finished_by(Side::Server);
        let completed = client_finished.is_some() && server_finished.is_some();
        let duration_secs = match (self.client_hello, client_finished, server_finished) {
            (Some((_, start)), Some((_, c)), Some((_, s))) => Some(c.max(s).seconds_since(start)),
            _ => None,
        };
        let start_captured = self.client_hello.is_some() || self.server_hello_frame.is_some();
        let waiting_for = match &self.last {
            Some(last) if start_captured && !completed && !self.fatal_alert && !last.alert => {
                let by = side(last.sender);
                Some(if last.ends_flight { by.other() } else { by })
            }
            _ => None,
        };
        let connection_end = ends.resolve(self.stream, client);
        let idle_before_end_secs = match (&self.last, &connection_end) {
            (Some(last), Some(end)) => match end.time {
                Some(t) => Some(t.seconds_since(last.time)),
                None => end.idle_secs,
            },
            _ => None,
        }
        // The last TLS message may complete after the FIN (the other side's data).
        .filter(|idle| *idle >= 0.0);
        let app = |s: Side| {
            self.application_data
                .iter()
                .find(|(sender, _)| side(*sender) == s)
                .map(|(_, a)| *a)
                .unwrap_or_default()
        };
        TlsConnectionRow {
            stream: self.stream,
            client,
            server,
            tunnel: self.tunnel,
            first_frame: self.first_frame,
            sni: self.sni,
            versions_offered: self.versions_offered,
            version: self.version,
            cipher_suites_offered: self.cipher_suites_offered,
            cipher_suite: self.cipher_suite,
            alpn_offered: self.alpn_offered,
            alpn: self.alpn,
            resumption_offered: self.resumption_offered,
            resumption: self.resumption,
            hello_retry_request: self.hello_retry_request,
            client_hellos: self.client_hellos,
            server_certificate,
            client_certificate_requested: self.certificate_requested,
            client_certificates,
            handshake: HandshakeProgress {
                completed,
                start_captured,
                client_hello_frame: self.client_hello.map(|(f, _)| f),
                server_hello_frame: self.server_hello_frame,
                client_finished_frame: client_finished.map(|(f, _)| f),
                server_finished_frame: server_finished.map(|(f, _)| f),
                duration_secs,
                last_message: self.last.as_ref().map(|l| LastTlsMessage {
                    frame: l.frame,
                    time: l.time,
                    by: side(l.sender),
                    name: l.name.clone(),
                }),
                waiting_for,
            },
            alerts: self
                .alerts
                .iter()
                .map(|a| AlertSeen {
                    frame: a.frame,
                    by: side(a.sender),
                    level: a.level_name,
                    description: a.description,
                    description_name: a.description_name,
                })
                .collect(),
            encrypted_alerts: self.encrypted_alerts,
            client_application_data: app(Side::Client),
            server_application_data: app(Side::Server),
            ja3: self.ja3,
            ja4: self.ja4,
            ja3s: self.ja3s,
            connection_end,
            idle_before_end_secs,
            trouble: self.trouble,
        }
    }
}
