//! Unit and property tests of the stream parser on hand-built byte streams: record and
//! handshake boundaries, emit ranges, application-data skipping, gaps, garbage, caps.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;

use proptest::prelude::*;

use super::test_pcap::{read_flows, run, Delivery, Emitted, Flow};
use super::*;
use crate::proto::{ConnectionParser, Dir, EndReason, Feed};
use crate::test_support::shared_captures;

fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![content_type, 3, 3];
    out.extend(u16::try_from(body.len()).unwrap().to_be_bytes());
    out.extend(body);
    out
}

fn handshake(handshake_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![handshake_type];
    out.extend(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    out.extend(body);
    out
}

/// A minimal TLS 1.2 ClientHello body: one suite, null compression, no extensions.
fn client_hello_body() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([7u8; 32]);
    b.extend([0, 0, 2, 0xc0, 0x2f, 1, 0]);
    b
}

/// A minimal TLS 1.2 ServerHello body choosing 0xc02f.
fn server_hello_body() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([9u8; 32]);
    b.extend([0, 0xc0, 0x2f, 0]);
    b
}

type Collected = Vec<(Range<usize>, TlsMessage)>;

fn feed(parser: &mut TlsConnectionParser, dir: Dir, input: &[u8]) -> (Feed, Collected) {
    let mut out = Vec::new();
    let f = parser.feed(dir, input, &mut |r, m| out.push((r, m)));
    (f, out)
}

fn names(messages: &[(Range<usize>, TlsMessage)]) -> Vec<String> {
    messages
        .iter()
        .map(|(_, m)| match m {
            TlsMessage::Handshake(h) => h.handshake_name.to_owned(),
            TlsMessage::Alert(a) => format!("alert:{}", a.description_name),
            other => serde_json::to_value(other).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned(),
        })
        .collect()
}

#[test]
fn several_messages_in_one_record_share_its_range() {
    let mut flight = handshake(2, &server_hello_body());
    flight.extend(handshake(14, &[]));
    let bytes = record(22, &flight);
    let mut p = TlsConnectionParser::new();
    let (f, out) = feed(&mut p, Dir::ToClient, &bytes);
    assert_eq!(
        f,
        Feed {
            consumed: bytes.len(),
            skip: 0
        }
    );
    assert_eq!(names(&out), vec!["server_hello", "server_hello_done"]);
    assert!(out.iter().all(|(r, _)| *r == (0..bytes.len())));
    assert_eq!(
        p.state().cipher_suite.unwrap().name,
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
}

#[test]
fn fragmented_message_spans_from_first_to_completing_record() {
    let hello = handshake(1, &client_hello_body());
    let (a, rest) = hello.split_at(10);
    let (b, c) = rest.split_at(20);
    let mut bytes = record(22, a);
    let second_start = bytes.len();
    bytes.extend(record(22, b));
    let third_start = bytes.len();
    bytes.extend(record(22, c));
    // A second message starts in the same record as the end of the first.
    let mut tail = handshake(1, &client_hello_body());
    let tail_part = tail.split_off(6);
    let mut last = c.to_vec();
    last.extend(&tail);
    bytes.truncate(third_start);
    bytes.extend(record(22, &last));
    let fourth_start = bytes.len();
    bytes.extend(record(22, &tail_part));

    let mut p = TlsConnectionParser::new();
    // First two records alone: nothing complete, nothing consumed (the start must stay
    // addressable).
    let (f, out) = feed(&mut p, Dir::ToServer, &bytes[..third_start]);
    assert!(out.is_empty());
    assert_eq!(f.consumed, 0);
    assert!(second_start > 0);
    // Everything: the first hello spans records 1..=3, the second records 3..=4.
    let (f, out) = feed(&mut p, Dir::ToServer, &bytes);
    assert_eq!(f.consumed, bytes.len());
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0, 0..fourth_start);
    assert_eq!(out[1].0, third_start..bytes.len());
    match &out[0].1 {
        TlsMessage::Handshake(h) => assert!(h.fragmented),
        other => panic!("{other:?}"),
    }
    match &out[1].1 {
        TlsMessage::Handshake(h) => assert!(h.fragmented),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.state().client_hello_count, 2);
}

#[test]
fn application_data_is_skipped_not_buffered() {
    let mut p = TlsConnectionParser::new();
    let body = vec![0xabu8; 1000];
    let app = record(23, &body);
    // Header and 100 body bytes available: consume them, skip the other 900.
    let (f, out) = feed(&mut p, Dir::ToClient, &app[..105]);
    assert_eq!(
        f,
        Feed {
            consumed: 105,
            skip: 900
        }
    );
    assert!(out.is_empty());
    // Only part of the header: wait.
    let (f, _) = feed(&mut p, Dir::ToClient, &app[..3]);
    assert_eq!(
        f,
        Feed {
            consumed: 0,
            skip: 0
        }
    );
    // A whole record then the start of the next: the first is consumed whole, the second's
    // header and available bytes consumed, the rest skipped; consumed + skip covers both
    // records exactly.
    let mut two = app.clone();
    two.extend(&app[..50]);
    let (f, out) = feed(&mut p, Dir::ToClient, &two);
    assert_eq!(
        f,
        Feed {
            consumed: two.len(),
            skip: 955
        }
    );
    assert_eq!(f.consumed as u64 + f.skip, 2 * app.len() as u64);
    assert!(out.is_empty());
    // The next non-application record ends the run: one summary, just before it.
    let alert = record(21, &[1, 0]);
    let (f, out) = feed(&mut p, Dir::ToClient, &alert);
    assert_eq!(f.consumed, alert.len());
    assert_eq!(names(&out), vec!["application_data", "alert:close_notify"]);
    assert_eq!(out[0].0, 0..0);
    assert_eq!(
        out[0].1,
        TlsMessage::ApplicationData(ApplicationDataSummary {
            records: 3,
            bytes: 3000
        })
    );
    assert_eq!(p.state().server_application_data.records, 3);
}

#[test]
fn application_data_run_reported_at_end() {
    let mut p = TlsConnectionParser::new();
    let app = record(23, &[1, 2, 3]);
    let (f, out) = feed(&mut p, Dir::ToServer, &[app.clone(), app].concat());
    assert_eq!(f.consumed, 16);
    assert!(out.is_empty());
    let mut out = Vec::new();
    p.end(Dir::ToServer, EndReason::Fin, &[], &mut |r, m| {
        out.push((r, m))
    });
    assert_eq!(
        out,
        vec![(
            0..0,
            TlsMessage::ApplicationData(ApplicationDataSummary {
                records: 2,
                bytes: 6
            })
        )]
    );
}

#[test]
fn encryption_after_change_cipher_spec() {
    let mut p = TlsConnectionParser::new();
    let mut client = record(22, &handshake(1, &client_hello_body()));
    let (_, _) = feed(&mut p, Dir::ToServer, &client);
    let server = record(22, &handshake(2, &server_hello_body()));
    let _ = feed(&mut p, Dir::ToClient, &server);
    client = record(20, &[1]);
    client.extend(record(22, &[0x5c; 40])); // encrypted Finished (first byte unknown type)
    client.extend(record(22, &[0x14; 40])); // looks like "finished" but is encrypted
    client.extend(record(21, &[0x33; 26]));
    let (_, out) = feed(&mut p, Dir::ToServer, &client);
    assert_eq!(
        names(&out),
        vec![
            "change_cipher_spec",
            "encrypted_handshake",
            "encrypted_handshake",
            "encrypted_alert"
        ]
    );
    let state = p.state();
    assert!(state.client_change_cipher_spec && state.client_finished);
    assert!(!state.completed);
    let server = [record(20, &[1]), record(22, &[0x77; 40])].concat();
    let _ = feed(&mut p, Dir::ToClient, &server);
    assert!(p.state().completed);
}

#[test]
fn gap_then_resync_at_next_header() {
    let mut p = TlsConnectionParser::new();
    let hello = record(22, &handshake(1, &client_hello_body()));
    let _ = feed(&mut p, Dir::ToServer, &hello);
    p.gap(Dir::ToServer, 500);
    // The tail of a lost record, then two good records.
    let mut bytes = vec![0x42u8; 37];
    bytes.extend(record(21, &[2, 40]));
    bytes.extend(record(23, &[0; 8]));
    let (f, out) = feed(&mut p, Dir::ToServer, &bytes);
    assert_eq!(f.consumed, bytes.len());
    assert_eq!(names(&out), vec!["resync", "alert:handshake_failure"]);
    assert_eq!(
        out[0],
        (
            0..37,
            TlsMessage::Resync(Resync {
                skipped_bytes: 37,
                reason: "gap"
            })
        )
    );
    assert_eq!(p.state().resyncs, 1);
}

/// Regression (hostile-shape test tls_record_length_beyond_the_maximum_is_not_waited_for):
/// after an implausible record header the parser searched for a boundary until the direction
/// ended and then dropped the searched bytes without any message.
#[test]
fn bytes_searched_until_the_end_are_reported() {
    let mut p = TlsConnectionParser::new();
    let hello = record(22, &handshake(1, &client_hello_body()));
    let _ = feed(&mut p, Dir::ToServer, &hello);
    let mut hostile = vec![22, 3, 3, 0xff, 0xff];
    hostile.extend([0u8; 995]);
    let (f, out) = feed(&mut p, Dir::ToServer, &hostile);
    assert!(out.is_empty(), "{out:?}");
    let rest = &hostile[f.consumed..];
    let mut ended = Vec::new();
    p.end(Dir::ToServer, EndReason::Fin, rest, &mut |r, m| {
        ended.push((r, m))
    });
    assert_eq!(
        ended,
        vec![(
            0..0,
            TlsMessage::Resync(Resync {
                skipped_bytes: 1000,
                reason: "invalid_record"
            })
        )]
    );
}

/// Regression (found by an analyst-view audit, http-connect-fail.pcap): a short non-TLS
/// answer reported at the end of its direction quoted the bytes left after the scan for a
/// record header, not the first bytes sent (`00000500` for `05 00 00 05 00`).
#[test]
fn not_tls_at_the_end_quotes_the_first_bytes_sent() {
    let mut p = TlsConnectionParser::new();
    let answer = [5u8, 0, 0, 5, 0];
    let (f, out) = feed(&mut p, Dir::ToClient, &answer);
    assert!(out.is_empty(), "{out:?}");
    let rest = &answer[f.consumed..];
    let mut ended = Vec::new();
    p.end(Dir::ToClient, EndReason::Fin, rest, &mut |_, m| {
        ended.push(m)
    });
    match ended.as_slice() {
        [TlsMessage::NotTls(n)] => {
            assert_eq!(n.first_bytes, "0500000500");
            assert_eq!(n.reason, "no_record_header");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gap_inside_a_handshake_message_reports_it_truncated() {
    let mut p = TlsConnectionParser::new();
    let hello = record(22, &handshake(1, &client_hello_body()));
    let _ = feed(&mut p, Dir::ToServer, &hello[..20]);
    let half = handshake(11, &[0u8; 3000]);
    let (_, out) = feed(&mut p, Dir::ToClient, &record(22, &half[..1000]));
    assert!(out.is_empty());
    p.gap(Dir::ToClient, 100);
    let (_, out) = feed(&mut p, Dir::ToClient, &record(21, &[2, 42]));
    assert_eq!(names(&out), vec!["truncated", "alert:bad_certificate"]);
    match &out[0].1 {
        TlsMessage::Truncated(t) => {
            assert_eq!(t.cause, "gap");
            assert_eq!(t.handshake_type, Some(11));
            assert_eq!(t.expected, 3004);
            assert_eq!(t.available, 1000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn plaintext_is_not_tls_once_then_ignored() {
    let mut p = TlsConnectionParser::new();
    let request = b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n";
    let (f, out) = feed(&mut p, Dir::ToServer, request);
    assert_eq!(f.consumed, request.len());
    assert_eq!(out.len(), 1);
    match &out[0].1 {
        TlsMessage::NotTls(n) => {
            assert_eq!(n.reason, "plaintext");
            assert_eq!(n.text_preview.as_deref(), Some("GET /index.html HTTP/1.1"));
        }
        other => panic!("{other:?}"),
    }
    let (f, out) = feed(&mut p, Dir::ToServer, &[22, 3, 1, 0, 5, 1, 2, 3, 4, 5]);
    assert_eq!(f.consumed, 10);
    assert!(out.is_empty());
    assert!(p.state().client_not_tls);
}

#[test]
fn binary_garbage_is_not_tls_after_a_bounded_scan() {
    let mut p = TlsConnectionParser::new();
    let garbage = vec![0x01u8; 4096];
    let mut reported = 0;
    let mut fed = 0u64;
    let mut held: Vec<u8> = Vec::new();
    while reported == 0 {
        held.extend(&garbage);
        fed += garbage.len() as u64;
        let (f, out) = feed(&mut p, Dir::ToClient, &held);
        held.drain(..f.consumed);
        assert!(held.len() < 8, "scanned bytes are consumed");
        reported += out.len();
        assert!(fed < START_SCAN_LIMIT_FOR_TESTS + 8192);
    }
    assert!(p.state().server_not_tls);
}

const START_SCAN_LIMIT_FOR_TESTS: u64 = super::stream::START_SCAN_LIMIT;

#[test]
fn midstream_start_resyncs() {
    let mut p = TlsConnectionParser::new();
    let mut bytes = vec![0x99u8, 0x12, 0xfe, 0x00, 0x77, 0x31];
    bytes.extend(record(23, &[5; 30]));
    bytes.extend(record(21, &[1, 0]));
    let (f, out) = feed(&mut p, Dir::ToClient, &bytes);
    assert_eq!(f.consumed, bytes.len());
    assert_eq!(
        names(&out),
        vec!["resync", "application_data", "alert:close_notify"]
    );
}

#[test]
fn message_over_the_cap_is_dropped_and_the_next_decoded() {
    let config = TlsParserConfig {
        max_handshake_message: 100,
    };
    let mut p = TlsConnectionParser::with_config(config);
    let big = handshake(11, &[0u8; 150]);
    let mut bytes = record(22, &big[..60]);
    bytes.extend(record(22, &big[60..]));
    bytes.extend(record(22, &handshake(14, &[])));
    let (f, out) = feed(&mut p, Dir::ToClient, &bytes);
    assert_eq!(f.consumed, bytes.len());
    assert_eq!(
        names(&out),
        vec!["handshake_too_large", "server_hello_done"]
    );
    assert_eq!(out[0].0, 0..65);
}

#[test]
fn end_inside_a_record_or_message_is_truncated() {
    let mut p = TlsConnectionParser::new();
    let hello = record(22, &handshake(1, &client_hello_body()));
    let (f, _) = feed(&mut p, Dir::ToServer, &hello[..30]);
    assert_eq!(f.consumed, 0);
    let mut out = Vec::new();
    p.end(
        Dir::ToServer,
        EndReason::Reset,
        &hello[..30],
        &mut |r, m| out.push((r, m)),
    );
    assert_eq!(
        out,
        vec![(
            0..0,
            TlsMessage::Truncated(Truncated {
                what: "record",
                handshake_type: None,
                expected: hello.len() as u64,
                available: 30,
                cause: "end"
            })
        )]
    );
}

#[test]
fn tls13_server_flight_is_encrypted_handshake_until_client_finishes() {
    let mut p = TlsConnectionParser::new();
    let _ = feed(
        &mut p,
        Dir::ToServer,
        &record(22, &handshake(1, &client_hello_body())),
    );
    let mut sh = vec![3, 3];
    sh.extend([1u8; 32]);
    sh.extend([0, 0x13, 0x01, 0, 0, 6, 0, 0x2b, 0, 2, 3, 4]);
    let mut server = record(22, &handshake(2, &sh));
    server.extend(record(20, &[1]));
    server.extend(record(23, &[0; 300]));
    server.extend(record(23, &[0; 50]));
    let (_, out) = feed(&mut p, Dir::ToClient, &server);
    assert_eq!(
        names(&out),
        vec![
            "server_hello",
            "change_cipher_spec",
            "encrypted_handshake",
            "encrypted_handshake"
        ]
    );
    let client = [record(20, &[1]), record(23, &[0; 60]), record(23, &[0; 90])].concat();
    let (_, out) = feed(&mut p, Dir::ToServer, &client);
    assert_eq!(
        names(&out),
        vec!["change_cipher_spec", "encrypted_handshake"]
    );
    let state = p.state();
    assert!(state.completed);
    assert_eq!(state.negotiated_version, Some(0x0304));
    assert_eq!(state.client_application_data.records, 1);
}

fn synthetic_flow(deliveries: Vec<(Dir, Vec<u8>)>) -> Flow {
    let ep = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
    Flow {
        client: ep,
        server: ep,
        deliveries: deliveries
            .into_iter()
            .enumerate()
            .map(|(i, (dir, data))| Delivery {
                frame: u32::try_from(i + 1).unwrap(),
                dir,
                data,
            })
            .collect(),
    }
}

fn messages_of(flow: &Flow) -> Vec<TlsMessage> {
    let mut p = TlsConnectionParser::new();
    run(&mut p, flow).into_iter().map(|e| e.message).collect()
}

/// Splits each delivery of `flow` at the given cut points (taken modulo its length).
fn resplit(flow: &Flow, cuts: &[usize]) -> Flow {
    let mut deliveries = Vec::new();
    let mut cut_iter = cuts.iter().cycle();
    for d in &flow.deliveries {
        let mut rest = d.data.as_slice();
        while !rest.is_empty() {
            let n = cut_iter.next().map_or(rest.len(), |c| c % rest.len() + 1);
            let (head, tail) = rest.split_at(n.min(rest.len()));
            deliveries.push(Delivery {
                frame: d.frame,
                dir: d.dir,
                data: head.to_vec(),
            });
            rest = tail;
        }
    }
    Flow {
        client: flow.client,
        server: flow.server,
        deliveries,
    }
}

#[test]
fn one_byte_at_a_time_equals_whole() {
    let mut server = record(
        22,
        &[handshake(2, &server_hello_body()), handshake(14, &[])].concat(),
    );
    server.extend(record(20, &[1]));
    server.extend(record(22, &[0x55; 40]));
    server.extend(record(23, &[0; 700]));
    server.extend(record(21, &[0x11; 26]));
    let client = [
        record(22, &handshake(1, &client_hello_body())),
        record(22, &handshake(16, &[1; 66])),
        record(20, &[1]),
        record(22, &[0x66; 40]),
        record(23, &[0; 300]),
    ]
    .concat();
    let whole = synthetic_flow(vec![(Dir::ToServer, client), (Dir::ToClient, server)]);
    let bytewise = resplit(&whole, &[0]);
    assert!(bytewise.deliveries.len() > 1000);
    let expected = messages_of(&whole);
    let kinds: Vec<String> = expected
        .iter()
        .map(|m| {
            serde_json::to_value(m).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "handshake",
            "handshake",
            "change_cipher_spec",
            "encrypted_handshake",
            "handshake",
            "handshake",
            "change_cipher_spec",
            "encrypted_handshake",
            "application_data",
            "encrypted_alert",
            "application_data",
        ]
    );
    assert_eq!(messages_of(&bytewise), expected);
}

fn emitted_messages(v: Vec<Emitted<TlsMessage>>) -> Vec<TlsMessage> {
    v.into_iter().map(|e| e.message).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Arbitrary bytes, split arbitrarily, in both directions, with gaps: no panic, the
    /// contract holds (checked by the harness), and the parser finishes.
    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..20),
        gap_after in proptest::option::of(0usize..20),
    ) {
        let mut p = TlsConnectionParser::new();
        let mut held = [Vec::new(), Vec::new()];
        let mut skip = [0u64, 0];
        for (i, (to_server, data)) in chunks.iter().enumerate() {
            let (dir, k) = if *to_server { (Dir::ToServer, 0) } else { (Dir::ToClient, 1) };
            if gap_after == Some(i) {
                p.gap(dir, 17);
                held[k].clear();
                skip[k] = 0;
            }
            let s = skip[k].min(data.len() as u64) as usize;
            skip[k] -= s as u64;
            held[k].extend_from_slice(&data[s..]);
            let len = held[k].len();
            let f = p.feed(dir, &held[k], &mut |r, _| {
                assert!(r.start <= r.end && r.end <= len);
            });
            prop_assert!(f.consumed <= len);
            held[k].drain(..f.consumed);
            let in_buf = f.skip.min(held[k].len() as u64) as usize;
            held[k].drain(..in_buf);
            skip[k] = f.skip - in_buf as u64;
        }
        for (k, dir) in [(0, Dir::ToServer), (1, Dir::ToClient)] {
            p.end(dir, EndReason::CaptureEnd, &held[k], &mut |r, _| {
                assert!(r.end <= held[k].len());
            });
        }
        let _ = serde_json::to_string(&p.state()).unwrap();
    }

    /// Plausible-looking records with random bodies (handshake types chosen from the real
    /// ones) exercise the decoders deeper than uniform noise does.
    #[test]
    fn random_records_never_panic(
        records in proptest::collection::vec(
            (20u8..=24, 0u8..=4, prop_oneof![Just(0u8), Just(1), Just(2), Just(4), Just(11),
                Just(12), Just(13), Just(15), Just(16), Just(20), Just(22), Just(24), any::<u8>()],
             proptest::collection::vec(any::<u8>(), 0..200)), 1..12),
        cuts in proptest::collection::vec(0usize..64, 1..8),
    ) {
        let mut bytes = Vec::new();
        for (ct, minor, ht, body) in &records {
            let mut payload = body.clone();
            if *ct == 22 {
                payload = handshake(*ht, body);
            }
            bytes.extend([*ct, 3, *minor]);
            bytes.extend(u16::try_from(payload.len()).unwrap().to_be_bytes());
            bytes.extend(payload);
        }
        let flow = synthetic_flow(vec![(Dir::ToClient, bytes.clone()), (Dir::ToServer, bytes)]);
        let whole = messages_of(&flow);
        let split = messages_of(&resplit(&flow, &cuts));
        prop_assert_eq!(whole, split);
    }

    /// Real server and client streams split at arbitrary points report the same messages.
    #[test]
    fn real_streams_any_split(cuts in proptest::collection::vec(0usize..3000, 1..10)) {
        if let Some(dir) = shared_captures() {
            for file in ["tls12-client-certificate.pcap", "tls10-sslv2-compat-hello.pcap"] {
                let flow = &read_flows(&dir.join(file))[0];
                let mut a = TlsConnectionParser::new();
                let mut b = TlsConnectionParser::new();
                let whole = emitted_messages(run(&mut a, flow));
                let split = emitted_messages(run(&mut b, &resplit(flow, &cuts)));
                prop_assert_eq!(whole, split);
                prop_assert_eq!(a.state(), b.state());
            }
        }
    }
}
