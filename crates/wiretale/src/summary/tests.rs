//! Tests of the summary tables on the `testdata/` captures (facts listed in
//! `testdata/README.md`) and on shared captures when present.

use super::*;
use crate::pipeline::{analyze_path, AnalyzerConfig};
use crate::proto::http::persistence::KeepAliveReason;
use crate::proto::http::HttpVersion;
use crate::proto::tls::Resumption;
use crate::test_support::shared_captures;
use crate::timeline::{Collector, Detail, Event};
use std::path::{Path, PathBuf};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn collect(path: &Path) -> Collector {
    let mut c = Collector::default();
    analyze_path(path, &AnalyzerConfig::default(), &mut c).expect("readable capture");
    c
}

fn addr(s: &str) -> std::net::SocketAddr {
    s.parse().expect("socket address")
}

fn tls(name: &str) -> TlsTable {
    let c = collect(&testdata(name));
    TlsSummary::from_events(&c.events, &c.flows)
}

/// Streaming through the sink and replaying collected events give the same table.
#[test]
fn streaming_equals_replay() {
    let path = testdata("case-study.pcapng");
    let mut streamed = TlsSummary::default();
    analyze_path(&path, &AnalyzerConfig::default(), &mut streamed).unwrap();
    assert_eq!(
        streamed.finish().connections,
        tls("case-study.pcapng").connections
    );
    let mut streamed = NtlmSummary::default();
    analyze_path(&path, &AnalyzerConfig::default(), &mut streamed).unwrap();
    let c = collect(&path);
    assert_eq!(
        streamed.finish().exchanges,
        NtlmSummary::from_events(&c.events).exchanges
    );
}

#[test]
fn tls_case_study_completes_then_sits_idle_until_reset() {
    let table = tls("case-study.pcapng");
    assert_eq!(table.connections.len(), 1);
    let row = &table.connections[0];
    assert_eq!(row.stream, 1);
    assert_eq!(row.client, addr("10.1.1.5:1161"));
    assert_eq!(row.server, addr("10.2.2.2:5061"));
    assert_eq!(row.tunnel, None);
    assert_eq!(row.sni, None);
    assert_eq!(row.versions_offered, ["TLS 1.0"]);
    assert_eq!(row.version, Some("TLS 1.0"));
    assert_eq!(row.cipher_suites_offered, 11);
    assert_eq!(
        row.cipher_suite.as_deref(),
        Some("TLS_RSA_WITH_RC4_128_SHA")
    );
    assert_eq!(row.resumption, None);
    let cert = row.server_certificate.as_ref().expect("certificate");
    assert_eq!(cert.frame, 311);
    assert_eq!(cert.chain_length, 1);
    assert_eq!(cert.leaf_common_name.as_deref(), Some("ocs.fg.example.com"));
    assert_eq!(cert.valid_at_capture, Some(true));
    assert_eq!(cert.crl_urls, ["http://crl.verisign.com/pca3.crl"]);
    assert_eq!(cert.ocsp_urls, ["http://ocsp.verisign.com"]);
    assert!(row.client_certificate_requested);
    assert_eq!(row.client_certificates, Some(0));
    let h = &row.handshake;
    assert!(h.completed);
    assert_eq!(h.client_hello_frame, Some(306));
    assert_eq!(h.server_hello_frame, Some(311));
    assert_eq!(h.client_finished_frame, Some(315));
    assert_eq!(h.server_finished_frame, Some(316));
    let d = h.duration_secs.expect("duration");
    assert!((d - 0.097).abs() < 1e-6, "{d}");
    assert_eq!(h.waiting_for, None);
    let last = h.last_message.as_ref().expect("last message");
    assert_eq!((last.frame, last.by), (316, Side::Server));
    assert!(row.alerts.is_empty());
    assert_eq!(row.client_application_data.bytes, 0);
    assert_eq!(row.server_application_data.bytes, 0);
    let end = row.connection_end.as_ref().expect("end");
    assert_eq!(
        (end.how, end.by, end.frame),
        (EndKind::Rst, Some(Side::Server), Some(959))
    );
    let idle = row.idle_before_end_secs.expect("idle");
    assert!((idle - 30.0).abs() < 1e-6, "{idle}");
    assert!(row.ja3.is_some() && row.ja4.is_some() && row.ja3s.is_some());
    assert!(row.trouble.is_empty());
}

/// Cutting the case study's events short shows who was expected to speak next.
#[test]
fn tls_incomplete_handshake_says_who_should_speak() {
    let c = collect(&testdata("case-study.pcapng"));
    let upto = |last: u64| -> Vec<Event> {
        c.events
            .iter()
            .filter(|e| e.frame <= last)
            .cloned()
            .collect()
    };
    let cases = [
        // After the ClientHello the server owes its hello.
        (306, "Client Hello", Side::Client, Side::Server),
        // After ServerHelloDone it is the client's turn.
        (311, "Server Hello Done", Side::Server, Side::Client),
        // After the client's Finished the server owes its ChangeCipherSpec and Finished.
        (
            315,
            "Encrypted Handshake Message",
            Side::Client,
            Side::Server,
        ),
    ];
    for (frame, name, by, waiting) in cases {
        let table = TlsSummary::from_events(&upto(frame), &[]);
        let h = &table.connections[0].handshake;
        assert!(!h.completed, "{frame}");
        let last = h.last_message.as_ref().unwrap();
        assert_eq!((last.frame, last.name.as_str(), last.by), (frame, name, by));
        assert_eq!(h.waiting_for, Some(waiting), "{frame}");
        assert_eq!(h.duration_secs, None);
    }
}

/// A connection picked up after its hellos: nothing is claimed about the handshake.
#[test]
fn tls_start_not_captured() {
    let c = collect(&testdata("case-study.pcapng"));
    let between = |first: u64, last: u64| -> Vec<Event> {
        c.events
            .iter()
            .filter(|e| (first..=last).contains(&e.frame))
            .cloned()
            .collect()
    };
    let table = TlsSummary::from_events(&between(312, 315), &c.flows);
    let row = &table.connections[0];
    assert!(!row.handshake.start_captured);
    assert!(!row.handshake.completed);
    assert_eq!(row.handshake.waiting_for, None);
    assert_eq!(
        row.client,
        addr("10.1.1.5:1161"),
        "roles from the flow summary"
    );
    assert_eq!(row.handshake.client_finished_frame, Some(315));
    // The client's empty Certificate is the client's, though no hello named the client.
    assert_eq!(row.client_certificates, Some(0));
    assert!(row.server_certificate.is_none());
    // Both Finished messages seen: complete, even without the hellos.
    let table = TlsSummary::from_events(&between(312, 959), &c.flows);
    let h = &table.connections[0].handshake;
    assert!(!h.start_captured);
    assert!(h.completed);
    assert_eq!(h.duration_secs, None);
}

#[test]
fn tls_alert_ends_the_handshake() {
    let table = tls("tls-alert.pcap");
    assert_eq!(table.connections.len(), 1);
    let row = &table.connections[0];
    assert_eq!(row.sni.as_deref(), Some("legacy.example.com"));
    assert_eq!(row.version, None);
    assert!(!row.handshake.completed);
    assert_eq!(row.handshake.waiting_for, None, "an alert ended it");
    assert_eq!(row.alerts.len(), 1);
    let a = &row.alerts[0];
    assert_eq!(
        (a.frame, a.by, a.level, a.description, a.description_name),
        (6, Side::Server, "fatal", 40, "handshake_failure")
    );
    let end = row.connection_end.as_ref().unwrap();
    assert_eq!((end.how, end.by), (EndKind::Fin, Some(Side::Server)));
}

#[test]
fn tls_in_connect_tunnel() {
    let table = tls("https-connect.pcap");
    assert_eq!(table.connections.len(), 1);
    let row = &table.connections[0];
    assert_eq!(row.tunnel.as_deref(), Some("secure.example.com:443"));
    assert_eq!(row.client, addr("10.1.1.5:50300"));
    assert_eq!(row.server, addr("10.3.3.3:8080"));
    assert_eq!(row.sni.as_deref(), Some("secure.example.com"));
    assert_eq!(row.version, Some("TLS 1.2"));
    let cert = row.server_certificate.as_ref().unwrap();
    assert_eq!(cert.chain_length, 2);
    assert_eq!(cert.leaf_common_name.as_deref(), Some("secure.example.com"));
    assert_eq!(cert.crl_urls.len(), 2);
    assert_eq!(cert.ocsp_urls.len(), 2);
    assert!(row.handshake.completed);
    assert_eq!(row.handshake.client_hello_frame, Some(8));
    assert_eq!(row.client_application_data.bytes, 144);
    assert_eq!(row.server_application_data.bytes, 3248);
    assert_eq!(row.encrypted_alerts, 1);
    assert!(!row.client_certificate_requested);
    let end = row.connection_end.as_ref().unwrap();
    assert_eq!(
        (end.how, end.by, end.frame),
        (EndKind::Fin, Some(Side::Client), Some(25))
    );
}

#[test]
fn tls_shared_captures_resumption_retry_and_client_certificates() {
    let Some(dir) = shared_captures() else {
        return;
    };
    let table = |name: &str| {
        let c = collect(&dir.join(name));
        TlsSummary::from_events(&c.events, &c.flows)
    };
    let t = table("tls10-session-id-resumption.pcap");
    assert_eq!(t.connections[0].resumption, Some(Resumption::SessionId));
    assert!(t.connections[0].resumption_offered);
    assert!(t.connections[0].handshake.completed);

    let t = table("tls13-psk-resumption.pcap");
    assert_eq!(t.connections[0].resumption, Some(Resumption::Tls13Psk));
    assert_eq!(t.connections[0].version, Some("TLS 1.3"));
    assert!(t.connections[0].handshake.completed);

    let t = table("tls13-hello-retry-request.pcap");
    let row = &t.connections[0];
    assert!(row.hello_retry_request);
    assert_eq!(row.client_hellos, 2);
    assert!(row.handshake.completed);
    assert_eq!(row.resumption, None);

    // SSLv2: SERVER-VERIFY (9), CLIENT-FINISHED (10), SERVER-FINISHED (11).
    let t = table("sslv2-only.pcap");
    let h = &t.connections[0].handshake;
    assert!(h.completed);
    assert_eq!(
        (h.client_finished_frame, h.server_finished_frame),
        (Some(10), Some(11))
    );
    assert_eq!(t.connections[0].version, Some("SSL 2.0"));

    // The server's encrypted alert (frame 33) comes after the client's FIN (frame 32): no
    // negative idle time.
    let t = table("tls12-missing-intermediate-alerts.pcap");
    assert_eq!(t.connections.len(), 3);
    assert_eq!(t.connections[1].idle_before_end_secs, None);
    assert_eq!(t.connections[1].encrypted_alerts, 2);

    let t = table("tls12-client-certificate.pcap");
    let row = &t.connections[0];
    assert!(row.client_certificate_requested);
    assert_eq!(row.client_certificates, Some(2));
    assert_eq!(row.version, Some("TLS 1.2"));
    assert!(row.versions_offered.contains(&"TLS 1.3"));
    assert_eq!(row.resumption, None, "a TLS 1.2 full handshake");
    assert!(row.handshake.completed);

    // Every shared capture summarises without trouble in the aggregator itself.
    for path in crate::test_support::shared_capture_files() {
        let c = collect(&path);
        let t = TlsSummary::from_events(&c.events, &c.flows);
        for row in &t.connections {
            if row.handshake.completed {
                assert!(row.handshake.duration_secs.is_some(), "{}", path.display());
            }
        }
    }
}

fn http(name: &str) -> HttpTable {
    HttpSummary::from_events(&collect(&testdata(name)).events)
}

#[test]
fn http_case_study_rows() {
    let table = http("case-study.pcapng");
    let frames: Vec<_> = table
        .exchanges
        .iter()
        .map(|r| (r.request_frame, r.response_frame, r.stream))
        .collect();
    assert_eq!(
        frames,
        [
            (Some(123), Some(125), 0),
            (Some(407), Some(408), 2),
            (Some(416), Some(417), 3),
            (Some(703), Some(705), 4)
        ]
    );
    let intranet = &table.exchanges[0];
    assert!(!intranet.server_is_proxy);
    assert_eq!(intranet.target_form, Some("origin"));
    assert_eq!(intranet.status, Some(200));

    let first = &table.exchanges[1];
    assert!(first.server_is_proxy);
    assert_eq!(first.method.as_deref(), Some("GET"));
    assert_eq!(
        first.target.as_deref(),
        Some("http://crl.verisign.com/pca3.crl")
    );
    assert_eq!(first.target_form, Some("absolute"));
    assert_eq!(first.version, Some(HttpVersion::Http10));
    assert_eq!(first.status, Some(407));
    assert!(first.credentials.is_empty());
    let schemes: Vec<_> = first
        .challenges
        .iter()
        .map(|c| (c.header, c.scheme.as_str(), c.realm.as_deref()))
        .collect();
    assert_eq!(
        schemes,
        [
            ("Proxy-Authenticate", "NTLM", None),
            ("Proxy-Authenticate", "BASIC", Some("FG"))
        ]
    );
    let ka = first.request_keep_alive.unwrap();
    assert_eq!(
        (ka.keep_alive, ka.reason),
        (false, KeepAliveReason::Http10Default)
    );
    assert!(!first.response_keep_alive.unwrap().keep_alive);
    assert!(first.last_on_connection);
    let end = first.connection_end.as_ref().unwrap();
    assert_eq!(
        (end.how, end.by, end.frame),
        (EndKind::Fin, Some(Side::Server), Some(409))
    );

    let second = &table.exchanges[2];
    assert_eq!(second.credentials.len(), 1);
    assert_eq!(second.credentials[0].header, "Proxy-Authorization");
    assert_eq!(second.credentials[0].ntlm_message_type, Some(1));
    assert_eq!(second.challenges.len(), 1);
    assert_eq!(second.challenges[0].ntlm_message_type, Some(2));
    assert!(second.response_keep_alive.unwrap().keep_alive);
    let end = second.connection_end.as_ref().unwrap();
    assert_eq!(
        (end.how, end.by, end.frame),
        (EndKind::Fin, Some(Side::Client), Some(418))
    );
}

#[test]
fn http_keep_alive_connection_has_one_last_exchange() {
    let table = http("ntlm-proxy-auth-ok.pcap");
    assert_eq!(table.exchanges.len(), 3);
    let last: Vec<bool> = table
        .exchanges
        .iter()
        .map(|r| r.last_on_connection)
        .collect();
    assert_eq!(last, [false, false, true]);
    assert!(table.exchanges[0].connection_end.is_none());
    let third = &table.exchanges[2];
    assert_eq!(third.status, Some(200));
    assert_eq!(third.credentials[0].ntlm_message_type, Some(3));
    assert_eq!(third.credentials[0].user.as_deref(), Some("MAPLE\\jdoe"));
    assert_eq!(third.exchange, Some(2));
}

#[test]
fn http_connect_row_records_the_tunnel() {
    let table = http("https-connect.pcap");
    assert_eq!(table.exchanges.len(), 1);
    let row = &table.exchanges[0];
    assert_eq!(row.method.as_deref(), Some("CONNECT"));
    assert_eq!(row.target_form, Some("authority"));
    assert_eq!(row.status, Some(200));
    assert_eq!(row.tunnel.as_deref(), Some("secure.example.com:443"));
    assert!(row.server_is_proxy);
}

#[test]
fn http_basic_credentials_show_the_user() {
    let Some(dir) = shared_captures() else {
        return;
    };
    let c = collect(&dir.join("squid-basic-proxy-auth-rejected-curl.pcap"));
    let table = HttpSummary::from_events(&c.events);
    let row = &table.exchanges[0];
    assert_eq!(row.credentials[0].scheme, "Basic");
    assert_eq!(row.credentials[0].user.as_deref(), Some("labuser"));
    assert_eq!(row.status, Some(407));
    assert!(row.server_is_proxy);
}

fn ntlm(name: &str) -> NtlmTable {
    NtlmSummary::from_events(&collect(&testdata(name)).events)
}

#[test]
fn ntlm_case_study_abandoned_after_type2() {
    let table = ntlm("case-study.pcapng");
    assert_eq!(table.exchanges.len(), 1);
    let row = &table.exchanges[0];
    assert_eq!(row.stream, 3);
    assert_eq!(row.client, addr("10.1.1.5:1163"));
    assert_eq!(row.server, addr("10.3.3.3:8080"));
    assert!(row.proxy);
    assert_eq!(row.scheme, "NTLM");
    let t1 = row.negotiate.as_ref().unwrap();
    assert_eq!(t1.frame, 416);
    assert_eq!(t1.domain.as_deref(), Some("MAPLE"));
    assert_eq!(t1.workstation.as_deref(), Some("T6CK943Y"));
    let t2 = row.challenge.as_ref().unwrap();
    assert_eq!(t2.frame, 417);
    assert_eq!(t2.challenge.as_deref(), Some("d1cb3331634e8638"));
    assert_eq!(t2.target.as_deref(), Some("FG"));
    assert_eq!(t2.status, Some(407));
    assert!(row.authenticate.is_none());
    assert_eq!(row.outcome, NtlmOutcome::AbandonedAfterType2);
    let end = row.connection_end.as_ref().unwrap();
    assert_eq!(
        (end.how, end.by, end.frame),
        (EndKind::Fin, Some(Side::Client), Some(418))
    );
}

#[test]
fn ntlm_proxy_auth_ok() {
    let table = ntlm("ntlm-proxy-auth-ok.pcap");
    assert_eq!(table.exchanges.len(), 1);
    let row = &table.exchanges[0];
    assert_eq!(row.negotiate.as_ref().unwrap().frame, 8);
    assert_eq!(row.challenge.as_ref().unwrap().frame, 10);
    let t3 = row.authenticate.as_ref().unwrap();
    assert_eq!(t3.frame, 12);
    assert_eq!(t3.stream, 0);
    assert_eq!(t3.user.as_deref(), Some("jdoe"));
    assert_eq!(t3.domain.as_deref(), Some("MAPLE"));
    assert_eq!(t3.response, Some("NTLMv2"));
    assert!(!row.type3_on_other_connection);
    assert_eq!(
        row.outcome,
        NtlmOutcome::Authenticated {
            status: 200,
            frame: 15
        }
    );
}

#[test]
fn ntlm_abandoned_fixture() {
    let table = ntlm("ntlm-proxy-abandoned.pcap");
    assert_eq!(table.exchanges.len(), 1);
    let row = &table.exchanges[0];
    assert_eq!(row.stream, 1);
    assert_eq!(row.outcome, NtlmOutcome::AbandonedAfterType2);
    assert_eq!(row.outcome.describe(), "abandoned after Type 2");
}

/// The Type 3 (and its answer) moved to a new connection from the same client host: the row
/// of the Type 2 gets it and says it switched.
#[test]
fn ntlm_type3_on_another_connection() {
    let mut events = collect(&testdata("ntlm-proxy-auth-ok.pcap")).events;
    for e in events.iter_mut().filter(|e| e.frame >= 12) {
        e.stream = Some(9);
        for a in [&mut e.src, &mut e.dst].into_iter().flatten() {
            if a.port() == 50100 {
                a.set_port(50111);
            }
        }
    }
    let table = NtlmSummary::from_events(&events);
    assert_eq!(table.exchanges.len(), 1);
    let row = &table.exchanges[0];
    assert_eq!(row.stream, 0);
    assert!(row.type3_on_other_connection);
    assert_eq!(row.authenticate.as_ref().unwrap().stream, 9);
    assert_eq!(
        row.outcome,
        NtlmOutcome::Authenticated {
            status: 200,
            frame: 15
        }
    );
}

/// A Type 3 answered by 407 again is a rejection; without its Type 2 it still gets a row.
#[test]
fn ntlm_rejected_and_missing_type2() {
    let mut events = collect(&testdata("ntlm-proxy-auth-ok.pcap")).events;
    for e in events.iter_mut() {
        if let Detail::Http(m) = &mut e.detail {
            if let crate::proto::http::HttpMessage::Response(r) = m.as_mut() {
                if e.frame == 15 {
                    r.head.status = 407;
                }
            }
        }
    }
    let rejected = NtlmSummary::from_events(&events);
    assert_eq!(
        rejected.exchanges[0].outcome,
        NtlmOutcome::Rejected {
            status: 407,
            frame: 15
        }
    );
    let without_type2: Vec<Event> = events
        .into_iter()
        .filter(|e| e.frame != 10 && e.frame != 8)
        .collect();
    let table = NtlmSummary::from_events(&without_type2);
    assert_eq!(table.exchanges.len(), 1);
    assert!(table.exchanges[0].challenge.is_none());
    assert!(table.exchanges[0].authenticate.is_some());
}

#[test]
fn ntlm_shared_captures() {
    let Some(dir) = shared_captures() else {
        return;
    };
    let table = |name: &str| NtlmSummary::from_events(&collect(&dir.join(name)).events);
    let t = table("squid-ntlm-http10-challenge-withheld-curl.pcap");
    assert_eq!(t.exchanges.len(), 1);
    assert_eq!(
        t.exchanges[0].outcome,
        NtlmOutcome::NoType2 {
            status: Some(407),
            frame: Some(6)
        }
    );
    let t = table("ntlm-synthetic-http-negotiate-multi.pcap");
    assert_eq!(t.exchanges.len(), 2);
    assert_eq!(t.exchanges[1].scheme, "Negotiate");
    assert!(!t.exchanges[1].proxy);
    assert!(t
        .exchanges
        .iter()
        .all(|r| matches!(r.outcome, NtlmOutcome::Authenticated { status: 200, .. })));
}

#[test]
fn rows_serialize_with_snake_case_keys() {
    let json = serde_json::to_value(tls("case-study.pcapng")).unwrap();
    let row = &json["connections"][0];
    assert_eq!(row["handshake"]["completed"], true);
    assert_eq!(row["connection_end"]["how"], "rst");
    assert_eq!(row["connection_end"]["by"], "server");
    assert_eq!(
        row["server_certificate"]["crl_urls"][0],
        "http://crl.verisign.com/pca3.crl"
    );
    let json = serde_json::to_value(ntlm("case-study.pcapng")).unwrap();
    assert_eq!(
        json["exchanges"][0]["outcome"]["result"],
        "abandoned_after_type2"
    );
}

/// The three summaries fed as `wiretale tls|http|ntlm` feed them: the complete rows are taken
/// after every event and connection summary. Notes the most rows each held at once.
#[derive(Default)]
struct Draining {
    tls: TlsSummary,
    http: HttpSummary,
    ntlm: NtlmSummary,
    tls_rows: Vec<TlsConnectionRow>,
    http_rows: Vec<HttpExchangeRow>,
    ntlm_rows: Vec<NtlmExchangeRow>,
    most_held: [usize; 3],
}

impl crate::timeline::EventSink for Draining {
    fn event(&mut self, e: &Event) {
        self.tls.event(e);
        self.http.event(e);
        self.ntlm.event(e);
        self.take();
    }
    fn flow(&mut self, f: &crate::tcp::FlowSummary) {
        self.tls.flow(f);
        self.http.flow(f);
        self.ntlm.flow(f);
        self.take();
    }
}

impl Draining {
    /// Notes the rows held, then takes the complete ones.
    fn take(&mut self) {
        let held = [
            self.tls.rows_held(),
            self.http.rows_held(),
            self.ntlm.rows_held(),
        ];
        for (most, held) in self.most_held.iter_mut().zip(held) {
            *most = (*most).max(held);
        }
        self.tls.drain_ended(|r| self.tls_rows.push(r));
        self.http.drain_ended(|r| self.http_rows.push(r));
        self.ntlm.drain_ended(|r| self.ntlm_rows.push(r));
    }

    /// The rows taken, completed and in table order, after the analysis: the same tables
    /// as `finish` without taking (every connection has left the flow table by then, so
    /// only NTLM rows can be left).
    fn into_tables(
        mut self,
    ) -> (
        Vec<TlsConnectionRow>,
        Vec<HttpExchangeRow>,
        Vec<NtlmExchangeRow>,
    ) {
        assert!(self.tls.finish().connections.is_empty(), "TLS rows left");
        // An abandoned exchange waits for a Type 3 on a new connection until enough newer
        // ones are made: the end of the analysis gives it.
        self.ntlm_rows.extend(self.ntlm.finish().exchanges);
        for row in &mut self.http_rows {
            row.server_is_proxy = self.http.is_proxy(row.server);
        }
        assert!(self.http.finish().exchanges.is_empty(), "HTTP rows left");
        // As `wiretale tls|http|ntlm` order them: ties (same first frame and connection) as
        // they were taken.
        self.tls_rows.sort_by_key(|r| (r.first_frame, r.stream));
        self.http_rows.sort_by_key(|r| (r.first_frame(), r.stream));
        self.ntlm_rows.sort_by_key(|r| (r.first_frame(), r.stream));
        (self.tls_rows, self.http_rows, self.ntlm_rows)
    }
}

/// Rows taken as their connections leave the flow table are the rows of the whole table
/// (replayed from collected events, so by another path), on every capture.
#[test]
fn rows_taken_as_connections_end_make_the_same_tables() {
    let mut files = crate::test_support::capture_files(&testdata(""));
    if let Some(dir) = shared_captures() {
        files.extend(crate::test_support::capture_files(&dir));
    }
    let (mut tls_rows, mut http_rows, mut ntlm_rows) = (0, 0, 0);
    for path in files {
        let c = collect(&path);
        let mut draining = Draining::default();
        analyze_path(&path, &AnalyzerConfig::default(), &mut draining).unwrap();
        let (tls, http, ntlm) = draining.into_tables();
        let name = path.display();
        assert_eq!(
            tls,
            TlsSummary::from_events(&c.events, &c.flows).connections,
            "{name}"
        );
        assert_eq!(
            http,
            HttpSummary::from_events(&c.events).exchanges,
            "{name}"
        );
        assert_eq!(
            ntlm,
            NtlmSummary::from_events(&c.events).exchanges,
            "{name}"
        );
        tls_rows += tls.len();
        http_rows += http.len();
        ntlm_rows += ntlm.len();
    }
    // The comparison saw rows of every kind, including a proxy's (testdata alone gives 4
    // TLS rows, the shared captures many more).
    assert!(
        tls_rows >= 4 && http_rows > 5 && ntlm_rows > 3,
        "{tls_rows} {http_rows} {ntlm_rows}"
    );
}

/// Taking the rows as connections end keeps memory to the connections in the flow table: on
/// 400 connections (32 open at a time, at most 8 closed ones lingering) no summary holds more
/// than a few dozen rows, and the tables are whole.
#[test]
fn rows_held_follow_the_open_connections_not_the_capture() {
    use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};
    let dir = std::env::temp_dir().join(format!("wiretale-summary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mixed.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let written = write_workload(Shape::Mixed, Size::Connections(400), Format::Pcap, file).unwrap();
    assert_eq!(written.connections, 400);
    let mut config = AnalyzerConfig::default();
    config.tcp.max_closed_flows = 8;
    let mut draining = Draining::default();
    analyze_path(&path, &config, &mut draining).unwrap();
    let most_held = draining.most_held;
    let (tls, http, ntlm) = draining.into_tables();
    std::fs::remove_dir_all(&dir).ok();
    // Every connection is TLS (direct or in a tunnel) or HTTP; NTLM on 30 % of them.
    assert!(
        tls.len() > 150 && http.len() > 400 && ntlm.len() > 80,
        "{} {} {}",
        tls.len(),
        http.len(),
        ntlm.len()
    );
    // 40 connections in the table at most (32 open, 8 lingering), a few exchanges each.
    for (held, total) in most_held.iter().zip([tls.len(), http.len(), ntlm.len()]) {
        assert!(*held <= 48, "held {held} of {total}");
    }
}

/// The HTTP rows of `cap` taken as `wiretale http` takes them (in its order), the table
/// replayed from the collected events, and the most rows the summary held at once.
fn http_rows_taken(
    cap: &wiretale_fixtures::Capture,
    name: &str,
) -> (Vec<HttpExchangeRow>, Vec<HttpExchangeRow>, usize) {
    let dir = std::env::temp_dir().join(format!("wiretale-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.pcap"));
    let options = wiretale_fixtures::PcapOptions::default();
    std::fs::write(&path, cap.to_pcap(&options).unwrap()).unwrap();
    let c = collect(&path);
    let mut draining = Draining::default();
    analyze_path(&path, &AnalyzerConfig::default(), &mut draining).unwrap();
    let most_held = draining.most_held[1];
    let (_, taken, _) = draining.into_tables();
    std::fs::remove_dir_all(&dir).ok();
    (
        taken,
        HttpSummary::from_events(&c.events).exchanges,
        most_held,
    )
}

/// A keep-alive connection does not hold its answered exchanges until it ends: on one
/// connection of 300 request/response pairs (with NTLM tokens on some, a pipelined pair, and a
/// last request left unanswered) the HTTP summary holds a handful of rows at a time, and the
/// rows taken are the table's.
#[test]
fn a_long_keep_alive_connection_hands_over_its_answered_exchanges() {
    use wiretale_fixtures::payloads::{http, ntlm};
    use wiretale_fixtures::{Capture, Dir, LinkType, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(addr("10.0.0.1:50000"), addr("10.0.0.2:8080"));
    s.handshake(&mut cap);
    let get = |i: usize, auth: Option<String>| {
        let target = format!("http://example.com/{i}");
        let mut headers = vec![("Host", "example.com")];
        if let Some(a) = &auth {
            headers.push(("Proxy-Authorization", a.as_str()));
        }
        http::request("GET", &target, "HTTP/1.1", &headers, b"")
    };
    let ok = http::response("HTTP/1.1", 200, "OK", &[("Content-Length", "2")], b"ok");
    for i in 0..300 {
        let auth = (i % 50 == 7).then(|| format!("NTLM {}", ntlm::CASE_STUDY_TYPE1));
        if i == 100 {
            // Two requests in one segment, then their two responses.
            let mut two = get(i, None);
            two.extend(get(i + 1000, None));
            s.send(&mut cap, Dir::ToServer, &two);
            s.send(&mut cap, Dir::ToClient, &ok);
        } else {
            s.send(&mut cap, Dir::ToServer, &get(i, auth));
        }
        s.send(&mut cap, Dir::ToClient, &ok);
    }
    s.send(&mut cap, Dir::ToServer, &get(300, None));
    s.close(&mut cap);
    let (http, table, most_held) = http_rows_taken(&cap, "keep-alive");
    assert_eq!(http.len(), 302);
    assert_eq!(http, table);
    assert!(most_held <= 4, "{most_held} rows held");
    let last = http.iter().filter(|r| r.last_on_connection).count();
    assert_eq!(last, 1);
    assert!(http
        .iter()
        .any(|r| r.credentials.iter().any(|c| c.ntlm_message_type == Some(1))));
}

/// A request the parser does not track (beyond its limit of outstanding requests) is never
/// answered: it does not keep the exchanges after it on its connection from being handed
/// over. 129 pipelined requests (the limit is 128) and their responses, then 1 000 ordinary
/// exchanges: the rows held stay at the burst's, and the rows taken are the table's.
#[test]
fn an_untracked_request_does_not_hold_back_later_exchanges() {
    use wiretale_fixtures::payloads::http;
    use wiretale_fixtures::{Capture, Dir, LinkType, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(addr("10.0.0.1:50000"), addr("10.0.0.2:80"));
    s.handshake(&mut cap);
    let get = |i: usize| {
        let target = format!("/{i}");
        http::request("GET", &target, "HTTP/1.1", &[("Host", "example.com")], b"")
    };
    let ok = http::response("HTTP/1.1", 200, "OK", &[("Content-Length", "2")], b"ok");
    let (mut burst, mut answers) = (Vec::new(), Vec::new());
    for i in 0..129 {
        burst.extend(get(i));
        answers.extend(ok.clone());
    }
    s.send(&mut cap, Dir::ToServer, &burst);
    s.send(&mut cap, Dir::ToClient, &answers);
    for i in 0..1000 {
        s.send(&mut cap, Dir::ToServer, &get(1000 + i));
        s.send(&mut cap, Dir::ToClient, &ok);
    }
    s.close(&mut cap);
    let (http, table, most_held) = http_rows_taken(&cap, "untracked");
    assert_eq!(http, table);
    // The untracked request's row, and the 129th response's (paired with no request).
    assert_eq!(http.len(), 1130);
    assert_eq!(http.iter().filter(|r| r.status.is_none()).count(), 1);
    assert!(most_held <= 135, "{most_held} rows held");
}
