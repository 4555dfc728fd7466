//! The TLS and HTTP limits of `AnalyzerConfig` reach every decoder the pipeline creates, and
//! what they cut shows in `Stats::limits`; every frame is accounted for once, by reason.

use super::*;
use crate::proto::http::{HttpError, HttpMessage};
use crate::proto::tls::TlsMessage;
use crate::timeline::{Collector, Detail};
use std::path::PathBuf;
use wiretale_fixtures::payloads::{certs, tls as ftls};
use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn run_file(name: &str, config: &AnalyzerConfig) -> (Collector, Report) {
    let mut sink = Collector::default();
    let report = analyze_path(testdata(name), config, &mut sink).unwrap();
    (sink, report)
}

fn run_bytes(bytes: Vec<u8>, config: &AnalyzerConfig) -> (Collector, Report) {
    let mut reader = CaptureReader::new(std::io::Cursor::new(bytes)).unwrap();
    let mut sink = Collector::default();
    let report = analyze(&mut reader, config, &mut sink);
    assert!(report.error.is_none());
    (sink, report)
}

/// `(frame, tunnel, declared length)` of every `handshake_too_large`.
fn too_large(sink: &Collector) -> Vec<(u64, Option<String>, u32)> {
    sink.events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Tls(TlsMessage::HandshakeTooLarge(h)) => {
                Some((e.frame, e.tunnel.clone(), h.declared_length))
            }
            _ => None,
        })
        .collect()
}

/// `(frame, error)` of every HTTP decoding error, inside a message or on its own.
fn http_errors(sink: &Collector) -> Vec<(u64, HttpError)> {
    sink.events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Http(m) => match m.as_ref() {
                HttpMessage::DecodeError { error, .. } => Some((e.frame, error.clone())),
                HttpMessage::Request(r) => match &r.completion {
                    crate::proto::http::Completion::Error { error } => {
                        Some((e.frame, error.clone()))
                    }
                    _ => None,
                },
                HttpMessage::Response(r) => match &r.completion {
                    crate::proto::http::Completion::Error { error } => {
                        Some((e.frame, error.clone()))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn with_tls_cap(max_handshake_message: usize) -> AnalyzerConfig {
    AnalyzerConfig {
        tls: crate::proto::tls::TlsParserConfig {
            max_handshake_message,
        },
        ..AnalyzerConfig::default()
    }
}

/// The certificate chain of https-connect.pcap (frame 11, inside a CONNECT tunnel) is decoded
/// with the default cap and reported as too large with a 1 KiB one (the 258-byte ClientKeyExchange still fits).
#[test]
fn tls_handshake_cap_reaches_tls_inside_connect_tunnels() {
    let (sink, report) = run_file("https-connect.pcap", &AnalyzerConfig::default());
    assert!(too_large(&sink).is_empty());
    assert!(report.stats.limits.is_empty(), "{:?}", report.stats.limits);

    let (sink, report) = run_file("https-connect.pcap", &with_tls_cap(1024));
    let hits = too_large(&sink);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let (frame, tunnel, declared) = &hits[0];
    assert_eq!(*frame, 11);
    assert_eq!(tunnel.as_deref(), Some("secure.example.com:443"));
    assert!(*declared > 1024);
    assert_eq!(
        report.stats.limits.get(&Limit::HandshakeTooLarge),
        Some(&LimitHits {
            count: 1,
            first_frame: Some(11),
            value: 1024,
        })
    );
    assert_eq!(report.stats.limits.len(), 1, "{:?}", report.stats.limits);
}

/// A TLS server on port 8443 sending ClientHello / ServerHello / Certificate: the
/// configured cap applies whether the protocol is found from the bytes or forced by port.
fn tls_server_capture() -> Vec<u8> {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "10.0.0.1:50000".parse().unwrap(),
        "10.0.0.2:8443".parse().unwrap(),
    );
    s.handshake(&mut cap);
    let hello = ftls::ClientHello::new(0x0303, 1).encode().unwrap();
    s.send(
        &mut cap,
        FDir::ToServer,
        &ftls::records(22, 0x0301, &hello).unwrap(),
    );
    let mut flight = ftls::ServerHello::new(0x0303, 0x002f, 2).encode().unwrap();
    flight.extend(ftls::certificate(&[certs::HTTPS_SERVER, certs::HTTPS_INTERMEDIATE]).unwrap());
    flight.extend(ftls::server_hello_done());
    s.send(
        &mut cap,
        FDir::ToClient,
        &ftls::records(22, 0x0303, &flight).unwrap(),
    );
    s.close(&mut cap);
    cap.to_pcap(&PcapOptions::default()).unwrap()
}

#[test]
fn tls_handshake_cap_reaches_detected_and_forced_tls() {
    let (sink, report) = run_bytes(tls_server_capture(), &AnalyzerConfig::default());
    assert!(too_large(&sink).is_empty());
    assert!(report.stats.limits.is_empty());

    let detected = with_tls_cap(512);
    let forced = AnalyzerConfig {
        decode_as: vec![DecodeAs {
            port: 8443,
            protocol: AppProtocol::Tls,
        }],
        ..with_tls_cap(512)
    };
    for config in [detected, forced] {
        let (sink, report) = run_bytes(tls_server_capture(), &config);
        let hits = too_large(&sink);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].1, None);
        let first = report.stats.limits[&Limit::HandshakeTooLarge];
        assert_eq!(first.count, 1);
        assert_eq!(first.first_frame, Some(hits[0].0));
    }
}

/// The heads of ntlm-proxy-auth-ok.pcap are longer than 64 bytes and have more than one
/// header field.
#[test]
fn http_caps_reach_the_http_decoder() {
    let (sink, report) = run_file("ntlm-proxy-auth-ok.pcap", &AnalyzerConfig::default());
    assert!(http_errors(&sink).is_empty());
    assert!(report.stats.limits.is_empty());

    let mut config = AnalyzerConfig::default();
    config.http.max_head_len = 64;
    let (sink, report) = run_file("ntlm-proxy-auth-ok.pcap", &config);
    let errors = http_errors(&sink);
    assert!(
        errors
            .first()
            .is_some_and(|(f, e)| *f == 4 && *e == HttpError::HeadTooLarge { limit: 64 }),
        "{errors:?}"
    );
    let hits = report.stats.limits[&Limit::HeadTooLarge];
    assert_eq!(hits.first_frame, Some(4));
    let counted = errors
        .iter()
        .filter(|(_, e)| matches!(e, HttpError::HeadTooLarge { .. }))
        .count() as u64;
    assert_eq!(hits.count, counted);

    let mut config = AnalyzerConfig::default();
    config.http.max_headers = 1;
    let (sink, report) = run_file("ntlm-proxy-auth-ok.pcap", &config);
    let errors = http_errors(&sink);
    assert!(
        errors
            .iter()
            .all(|(_, e)| *e == HttpError::TooManyHeaders { limit: 1 }),
        "{errors:?}"
    );
    assert_eq!(errors.first().map(|e| e.0), Some(4));
    assert_eq!(
        report.stats.limits[&Limit::TooManyHeaders],
        LimitHits {
            count: errors.len() as u64,
            first_frame: Some(4),
            value: 1,
        }
    );
}

/// Limits serialise under `stats.limits` by snake_case name.
#[test]
fn limits_serialise_by_name() {
    let (_, report) = run_file("https-connect.pcap", &with_tls_cap(1024));
    let json = serde_json::to_value(&report.stats).unwrap();
    assert_eq!(
        json["limits"]["handshake_too_large"],
        serde_json::json!({"count": 1, "first_frame": 11, "value": 1024})
    );
}

/// `Limit::name` is its serialized name, for every limit.
#[test]
fn limit_names_are_their_serialized_names() {
    for limit in Limit::ALL {
        assert_eq!(
            serde_json::to_value(limit).unwrap(),
            serde_json::json!(limit.name())
        );
    }
}

/// An Ethernet frame.
fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 packet (checksum left zero; `fragment`: flags and offset field).
fn ipv4(protocol: u8, fragment: u16, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap();
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34]);
    p.extend_from_slice(&fragment.to_be_bytes());
    p.extend_from_slice(&[64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(payload);
    p
}

/// One frame of each kind the pipeline does not analyse as TCP, between the frames of a TCP
/// connection: each is counted once under its reason, at its frame, and the counts add up.
#[test]
fn every_frame_is_counted_once_by_reason() {
    use crate::net::SkipReason;
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "10.0.0.1:50000".parse().unwrap(),
        "10.0.0.2:80".parse().unwrap(),
    );
    s.handshake(&mut cap);
    let mut tcp_header = vec![0u8; 20];
    tcp_header[12] = 0x20; // data offset 2 words: below the minimum of 5
    let udp = [0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
    let odd: Vec<(Vec<u8>, SkipReason)> = vec![
        (ethernet(0x0806, &[0u8; 28]), SkipReason::NonIp),
        (ethernet(0x0800, &ipv4(17, 0, &udp)), SkipReason::NonTcp),
        (
            ethernet(0x0800, &[0x45, 0, 0, 40, 0, 0]),
            SkipReason::Truncated,
        ),
        (
            ethernet(0x0800, &ipv4(6, 0, &tcp_header)),
            SkipReason::Malformed,
        ),
        // More fragments follow (MF), never sent: held.
        (
            ethernet(0x0800, &ipv4(6, 0x2000, &[0u8; 24])),
            SkipReason::IpFragment,
        ),
    ];
    let mut want = Vec::new();
    for (bytes, reason) in odd {
        let n = cap.push_link_frame(0, bytes, "odd");
        want.push((u64::from(n), reason));
    }
    s.send(
        &mut cap,
        FDir::ToServer,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    s.close(&mut cap);
    let mut bytes = cap.to_pcap(&PcapOptions::default()).unwrap();
    let total = cap.frames().len() as u64;

    let mut reader = CaptureReader::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let mut sink = Collector {
        keep_frames: true,
        ..Collector::default()
    };
    let report = analyze(&mut reader, &AnalyzerConfig::default(), &mut sink);
    let stats = &report.stats;
    assert_eq!(stats.frames_read, total);
    assert_eq!(stats.frames_tcp, total - want.len() as u64);
    assert_eq!(stats.frames_read, stats.frames_tcp + stats.frames_skipped());
    // The fragment was held (its frame's reason), and its datagram never completed: the
    // totals, settled at the end, count it as never reassembled.
    let by_reason: std::collections::BTreeMap<SkipReason, u64> = (want.iter())
        .map(|&(_, r)| match r {
            SkipReason::IpFragment => (SkipReason::IpFragmentUnassembled, 1),
            r => (r, 1),
        })
        .collect();
    assert_eq!(stats.skipped, by_reason);
    let skipped: Vec<(u64, SkipReason)> = sink
        .frames
        .iter()
        .filter_map(|f| f.skipped.map(|r| (f.frame, r)))
        .collect();
    assert_eq!(skipped, want);
    assert_eq!(sink.frames.len() as u64, total);

    // The same frames on a link type wiretale does not decode (802.11): all skipped as such.
    bytes[20..24].copy_from_slice(&105u32.to_le_bytes());
    let mut reader = CaptureReader::new(std::io::Cursor::new(bytes)).unwrap();
    let report = analyze(
        &mut reader,
        &AnalyzerConfig::default(),
        &mut Collector::default(),
    );
    assert_eq!(report.stats.frames_read, total);
    assert_eq!(report.stats.frames_tcp, 0);
    assert_eq!(
        report.stats.skipped,
        [(SkipReason::UnsupportedLinkType, total)]
            .into_iter()
            .collect()
    );
}
