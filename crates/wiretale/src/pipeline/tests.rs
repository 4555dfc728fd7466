use super::*;
use crate::test_support::shared_capture_files;
use crate::timeline::Collector;

/// Frames read = frames analysed + frames skipped, on every shared capture.
#[test]
fn every_frame_is_accounted_for() {
    for path in shared_capture_files() {
        let mut sink = Collector::default();
        let report = analyze_path(&path, &AnalyzerConfig::default(), &mut sink).unwrap();
        let s = &report.stats;
        assert_eq!(
            s.frames_read,
            s.frames_tcp + s.frames_skipped(),
            "{}",
            path.display()
        );
        assert_eq!(s.frames_tcp, s.tcp.segments);
        // Every stream appears in exactly one flow summary.
        let mut streams: Vec<u64> = sink.flows.iter().map(|f| f.stream).collect();
        streams.sort_unstable();
        let n = streams.len();
        streams.dedup();
        assert_eq!(n, streams.len(), "{}", path.display());
        assert_eq!(n as u64, s.tcp.streams, "{}", path.display());
    }
}

/// `Event::proto` and the per-protocol counts in `Stats::events` name each event as its JSON
/// does (the `proto` tag serde writes), for all four protocols.
#[test]
fn event_protocols_are_named_and_counted_as_serialized() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/case-study.pcapng"
    );
    let mut sink = Collector::default();
    let report = analyze_path(path, &AnalyzerConfig::default(), &mut sink).unwrap();
    let mut counted = std::collections::BTreeMap::new();
    for e in &sink.events {
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["proto"], e.proto(), "frame {}", e.frame);
        *counted.entry(e.proto()).or_insert(0u64) += 1;
    }
    assert_eq!(report.stats.events, counted);
    assert_eq!(
        counted.keys().copied().collect::<Vec<_>>(),
        ["http", "ntlm", "tcp", "tls"]
    );
}

#[test]
fn damaged_capture_keeps_frames_before_the_damage() {
    let Some(dir) = crate::test_support::shared_captures() else {
        return;
    };
    let bytes = std::fs::read(dir.join("tls12-openssl.pcap")).unwrap();
    let cut = bytes.len() - 100;
    let mut reader = CaptureReader::new(std::io::Cursor::new(bytes[..cut].to_vec())).unwrap();
    let mut sink = Collector::default();
    let report = analyze(&mut reader, &AnalyzerConfig::default(), &mut sink);
    let err = report.error.expect("damage reported");
    assert_eq!(err.frame, report.stats.frames_read + 1);
    assert!(err.offset > 0);
    assert!(!sink.events.is_empty());
}

/// A record in the middle of a capture whose length field is damaged costs that record only:
/// the damage is in the stats (where, what, how many bytes skipped), the records after it are
/// analysed and numbered on, nothing is left as the report's error; the same with threads.
#[test]
fn damage_in_the_middle_is_read_past() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/ntlm-proxy-abandoned.pcap");
    let bytes = std::fs::read(path).unwrap();
    let mut offsets = Vec::new();
    let mut reader = CaptureReader::new(std::io::Cursor::new(&bytes)).unwrap();
    while let Some(r) = reader.next_record().unwrap() {
        offsets.push((r.file_offset as usize, r.data.len()));
    }
    let (intact, victim) = (offsets.len(), offsets.len() / 2);
    let (at, len) = offsets[victim];
    let mut damaged = bytes.clone();
    damaged[at + 8..at + 12].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    let mut reports = Vec::new();
    for threads in [1, 2] {
        let config = AnalyzerConfig {
            threads,
            ..AnalyzerConfig::default()
        };
        let mut reader = CaptureReader::new(std::io::Cursor::new(&damaged)).unwrap();
        let mut sink = Collector::default();
        let report = analyze(&mut reader, &config, &mut sink);
        assert!(report.error.is_none(), "{:?}", report.error);
        let s = &report.stats;
        assert_eq!(s.frames_read as usize, intact - 1);
        assert_eq!((s.damaged_places, s.damaged_bytes), (1, 16 + len as u64));
        let place = &s.damage[0];
        assert_eq!((place.frame, place.offset), (victim as u64 + 1, at as u64));
        assert_eq!(place.resumed_at, Some((at + 16 + len) as u64));
        let last = sink.events.iter().map(|e| e.frame).max().unwrap();
        assert!(
            last as usize > victim + 1,
            "events after the damage: last {last}"
        );
        reports.push(serde_json::to_string(&report.stats).unwrap());
    }
    assert_eq!(reports[0], reports[1]);
}

/// Analyses capture bytes made by the fixture builder.
fn analyze_bytes(pcap: Vec<u8>) -> Collector {
    let mut reader = CaptureReader::new(std::io::Cursor::new(pcap)).unwrap();
    let mut sink = Collector::default();
    let report = analyze(&mut reader, &AnalyzerConfig::default(), &mut sink);
    assert!(report.error.is_none());
    sink
}

/// A connection picked up mid-way whose first packet is the server's response, between ports
/// that say nothing about roles (http-ntlm-wpad-401-smb.pcap, stream 2): the TCP layer guesses
/// the responder is the client; the content corrects it and the response is decoded.
#[test]
fn midstream_response_from_the_guessed_client_is_decoded() {
    use crate::proto::http::HttpMessage;
    use crate::timeline::Detail;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let server: std::net::SocketAddr = "192.168.75.1:3141".parse().unwrap();
    let mut s = TcpSession::new("192.168.75.222:1037".parse().unwrap(), server);
    s.send(
        &mut cap,
        FDir::ToClient,
        b"HTTP/1.0 404 No address\r\nContent-Length: 5\r\n\r\nsorry",
    ); // frame 1 (+ ACK 2)
    s.close(&mut cap);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let responses: Vec<_> = sink
        .events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Http(m) => match m.as_ref() {
                HttpMessage::Response(r) => Some((e.frame, e.src, r.head.status)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(responses, vec![(1, Some(server), 404)]);
}

/// (frame, frames, src) of the events `pick` selects.
fn where_reported(
    sink: &Collector,
    pick: impl Fn(&crate::timeline::Detail) -> bool,
) -> Vec<(u64, Vec<u64>, Option<std::net::SocketAddr>)> {
    sink.events
        .iter()
        .filter(|e| pick(&e.detail))
        .map(|e| (e.frame, e.frames.to_vec(), e.src))
        .collect()
}

/// A close-delimited response is complete at the server's FIN: reported there (as tshark
/// does, http-ntlm-wpad-401-smb.pcap frame 743), not at its last data frame.
#[test]
fn close_delimited_response_is_reported_at_the_fin_that_completes_it() {
    use crate::proto::http::HttpMessage;
    use crate::timeline::Detail;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let server: std::net::SocketAddr = "10.0.0.1:80".parse().unwrap();
    let mut s = TcpSession::new("10.0.0.2:40000".parse().unwrap(), server);
    s.handshake(&mut cap); // 1-3
    s.send(&mut cap, FDir::ToServer, b"GET / HTTP/1.0\r\n\r\n"); // 4 (+ ACK 5)
    s.send(
        &mut cap,
        FDir::ToClient,
        b"HTTP/1.0 200 OK\r\n\r\nbody until close",
    ); // 6 (+ ACK 7)
    let fin = s.fin(&mut cap, FDir::ToClient); // 8
    s.fin(&mut cap, FDir::ToServer);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let got = where_reported(
        &sink,
        |d| matches!(d, Detail::Http(m) if matches!(m.as_ref(), HttpMessage::Response(_))),
    );
    assert_eq!(
        got,
        vec![(u64::from(fin), vec![6, u64::from(fin)], Some(server))]
    );
}

/// A TLS 1.2 connection from 10.0.0.2:40000 to 10.0.0.1:443 through its TCP handshake and
/// both hellos, ready for application data.
fn tls_session(cap: &mut wiretale_fixtures::Capture) -> wiretale_fixtures::TcpSession {
    use wiretale_fixtures::payloads::tls;
    use wiretale_fixtures::{Dir as FDir, TcpSession};
    let mut s = TcpSession::new(
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:443".parse().unwrap(),
    );
    s.handshake(cap);
    let hello = tls::ClientHello::new(0x0303, 1).encode().unwrap();
    s.send(
        cap,
        FDir::ToServer,
        &tls::record(22, 0x0303, &hello).unwrap(),
    );
    let hello = tls::ServerHello::new(0x0303, 0xc02f, 7).encode().unwrap();
    s.send(
        cap,
        FDir::ToClient,
        &tls::record(22, 0x0303, &hello).unwrap(),
    );
    s
}

/// The summary of a direction's application data, reported when the connection ends, is at
/// that direction's last data frame, not at whichever frame of the connection came last
/// (tls13-psk-resumption.pcap put the client's summary at a server frame).
#[test]
fn application_data_summary_at_the_end_is_at_its_own_directions_frame() {
    use crate::proto::tls::TlsMessage;
    use crate::timeline::Detail;
    use wiretale_fixtures::payloads::tls;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let client: std::net::SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let server: std::net::SocketAddr = "10.0.0.1:443".parse().unwrap();
    let mut s = TcpSession::new(client, server);
    s.handshake(&mut cap); // 1-3
    let hello = tls::ClientHello::new(0x0303, 1).encode().unwrap();
    s.send(
        &mut cap,
        FDir::ToServer,
        &tls::record(22, 0x0303, &hello).unwrap(),
    ); // 4, 5
    let hello = tls::ServerHello::new(0x0303, 0xc02f, 7).encode().unwrap();
    s.send(
        &mut cap,
        FDir::ToClient,
        &tls::record(22, 0x0303, &hello).unwrap(),
    ); // 6, 7
    let data = tls::record(23, 0x0303, &[0xab; 40]).unwrap();
    let client_data = s.send(&mut cap, FDir::ToServer, &data); // 8, 9
    let server_data = s.send(&mut cap, FDir::ToClient, &data); // 10, 11
    s.close(&mut cap);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let got = where_reported(&sink, |d| {
        matches!(d, Detail::Tls(TlsMessage::ApplicationData(_)))
    });
    let first = |sent: &wiretale_fixtures::session::Sent| u64::from(sent.data[0]);
    assert_eq!(
        got,
        vec![
            (first(&client_data), vec![first(&client_data)], Some(client)),
            (first(&server_data), vec![first(&server_data)], Some(server)),
        ]
    );
}

/// A capture holding the handshake of a connection from 10.0.0.2:40000 to 10.0.0.1:`port`,
/// with the session to go on with (the new tests' common start).
fn handshaken(
    port: u16,
) -> (
    wiretale_fixtures::Capture,
    wiretale_fixtures::TcpSession,
    std::net::SocketAddr,
    std::net::SocketAddr,
) {
    let mut cap = wiretale_fixtures::Capture::new(wiretale_fixtures::LinkType::Ethernet);
    let client: std::net::SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let server = std::net::SocketAddr::from(([10, 0, 0, 1], port));
    let mut s = wiretale_fixtures::TcpSession::new(client, server);
    s.handshake(&mut cap);
    (cap, s, client, server)
}

/// The bytes of a protocol not decoded are told in runs, turn by turn like TLS application
/// data: a run ends when the other side sends, after a pause of its own side, or when the
/// connection ends (before the note that it was reset); a text protocol's first line is
/// previewed.
#[test]
fn bytes_not_decoded_are_told_in_runs_with_a_preview_of_text() {
    use crate::tcp::ConnEvent;
    use crate::timeline::Detail;
    use std::time::Duration;
    use wiretale_fixtures::{Dir as FDir, PcapOptions};
    let (mut cap, mut s, client, server) = handshaken(25);
    // Longer than the sniffers' 64 bytes: the protocol is decided on the banner.
    let banner = format!("220 {} ESMTP ready\r\n", "m".repeat(60));
    let banner = s.send(&mut cap, FDir::ToClient, banner.as_bytes());
    let ehlo = s.send(&mut cap, FDir::ToServer, b"EHLO client.example\r\n");
    // A reply spread over two segments, then a second one after a pause: two runs.
    let reply = s.send(&mut cap, FDir::ToClient, &[b'x'; 2000]);
    assert_eq!(reply.data.len(), 2);
    cap.advance(Duration::from_secs(3));
    let late = s.send(&mut cap, FDir::ToClient, &[0u8, 1, 2, 3]);
    // The client's last bytes are still a run when the server resets the connection.
    let last = s.send(&mut cap, FDir::ToServer, b"QUIT\r\n");
    let rst = s.rst(&mut cap, FDir::ToClient);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let told: Vec<_> = sink
        .events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Tcp(ConnEvent::Data {
                dir,
                bytes,
                preview,
            }) => Some((e.frames.to_vec(), e.src, *dir, *bytes, preview.clone())),
            Detail::Tcp(ConnEvent::Rst { .. }) => Some((
                e.frames.to_vec(),
                None,
                crate::tcp::Dir::ToClient,
                0,
                Some("RST".into()),
            )),
            _ => None,
        })
        .collect();
    let f = |frame: u32| u64::from(frame);
    let text = |t: &str| Some(t.to_string());
    assert_eq!(
        told,
        vec![
            (
                vec![f(banner.data[0])],
                Some(server),
                crate::tcp::Dir::ToClient,
                78,
                text(&format!(
                    "220 {}…",
                    &format!("{} ESMTP ready", "m".repeat(60))[..56]
                ))
            ),
            (
                vec![f(ehlo.data[0])],
                Some(client),
                crate::tcp::Dir::ToServer,
                21,
                text("EHLO client.example")
            ),
            (
                vec![f(reply.data[0]), f(reply.data[1])],
                Some(server),
                crate::tcp::Dir::ToClient,
                2000,
                text(&format!("{}…", "x".repeat(60)))
            ),
            (
                vec![f(late.data[0])],
                Some(server),
                crate::tcp::Dir::ToClient,
                4,
                None
            ),
            (
                vec![f(last.data[0])],
                Some(client),
                crate::tcp::Dir::ToServer,
                6,
                text("QUIT")
            ),
            (
                vec![f(rst)],
                None,
                crate::tcp::Dir::ToClient,
                0,
                text("RST")
            ),
        ]
    );
}

/// What follows an HTTP `Upgrade` (a WebSocket) is not decoded, but told as runs of bytes
/// after the `101 Switching Protocols`, the first one starting in the segment of the 101.
#[test]
fn bytes_after_an_upgrade_are_told_as_runs() {
    use crate::proto::http::HttpMessage;
    use crate::tcp::ConnEvent;
    use crate::timeline::Detail;
    use wiretale_fixtures::{Dir as FDir, PcapOptions};
    let (mut cap, mut s, _, _) = handshaken(80);
    s.send(
        &mut cap,
        FDir::ToServer,
        b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    // The 101 and the server's first WebSocket frame in one segment.
    let mut answer =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            .to_vec();
    answer.extend_from_slice(&[0x81, 0x05, b'h', b'e', b'l', b'l', b'o']);
    let switched = s.send(&mut cap, FDir::ToClient, &answer);
    let frame = s.send(
        &mut cap,
        FDir::ToServer,
        &[0x81, 0x82, 1, 2, 3, 4, 0x68, 0x6b],
    );
    s.close(&mut cap);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let told: Vec<_> = sink
        .events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Http(m) => match m.as_ref() {
                HttpMessage::Response(r) => Some((e.frame, format!("{}", r.head.status))),
                _ => None,
            },
            Detail::Tcp(ConnEvent::Data { bytes, .. }) => Some((e.frame, format!("{bytes} bytes"))),
            _ => None,
        })
        .collect();
    let f = |frame: u32| u64::from(frame);
    assert_eq!(
        told,
        vec![
            (f(switched.data[0]), "101".to_string()),
            (f(switched.data[0]), "7 bytes".to_string()),
            (f(frame.data[0]), "8 bytes".to_string()),
        ]
    );
}

/// A conversation too short to tell its protocol by (the sniffers want more bytes) is told
/// when its directions end: the bytes each side held are its runs.
#[test]
fn bytes_too_few_to_decide_on_are_told_when_the_connection_ends() {
    use crate::tcp::{ConnEvent, Dir};
    use crate::timeline::Detail;
    use wiretale_fixtures::{Dir as FDir, PcapOptions};
    let (mut cap, mut s, _, _) = handshaken(6379);
    let ping = s.send(&mut cap, FDir::ToServer, b"PING\r\n");
    let pong = s.send(&mut cap, FDir::ToClient, b"+PONG\r\n");
    s.close(&mut cap);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let told: Vec<_> = sink
        .events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Tcp(ConnEvent::Data {
                dir,
                bytes,
                preview,
            }) => Some((e.frame, *dir, *bytes, preview.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        told,
        vec![
            (
                u64::from(ping.data[0]),
                Dir::ToServer,
                6,
                Some("PING".to_string())
            ),
            (
                u64::from(pong.data[0]),
                Dir::ToClient,
                7,
                Some("+PONG".to_string())
            ),
        ]
    );
}

/// Runs of application data end where the turn passes to the other side or after a pause,
/// and each is reported at the frame that completed its last record: a request's records and
/// its response's are told in the order they were sent, not when the connection closes
/// (case-study-working.pcapng told the client's requests of frames 95 and 97 at frame 145,
/// after the server's answers).
#[test]
fn application_data_runs_end_at_each_turn_and_pause() {
    use crate::proto::tls::TlsMessage;
    use crate::timeline::Detail;
    use std::time::Duration;
    use wiretale_fixtures::payloads::tls;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = tls_session(&mut cap);
    let (client, server) = (s.client(), s.server());
    let small = tls::record(23, 0x0303, &[0xab; 40]).unwrap();
    let request = s.send(&mut cap, FDir::ToServer, &small);
    // A response of two records, the first one spread over three segments (its body is
    // skipped unseen: the frame of its end is known from the skip running out).
    let big = tls::record(23, 0x0303, &[0xcd; 4000]).unwrap();
    let response = s.send(&mut cap, FDir::ToClient, &big);
    assert_eq!(response.data.len(), 3);
    let response_end = s.send(&mut cap, FDir::ToClient, &small);
    let second = s.send(&mut cap, FDir::ToServer, &small);
    // The same side again after a pause: a run of its own.
    cap.advance(Duration::from_secs(2));
    let after_pause = s.send(&mut cap, FDir::ToServer, &small);
    s.close(&mut cap);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let runs: Vec<_> = sink
        .events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Tls(TlsMessage::ApplicationData(a)) => {
                Some((e.frame, e.frames.to_vec(), e.src, a.records, a.bytes))
            }
            _ => None,
        })
        .collect();
    let f = |frame: u32| u64::from(frame);
    assert_eq!(
        runs,
        vec![
            (
                f(request.data[0]),
                vec![f(request.data[0])],
                Some(client),
                1,
                40
            ),
            (
                f(response_end.data[0]),
                vec![f(response.data[0]), f(response_end.data[0])],
                Some(server),
                2,
                4040
            ),
            (
                f(second.data[0]),
                vec![f(second.data[0])],
                Some(client),
                1,
                40
            ),
            (
                f(after_pause.data[0]),
                vec![f(after_pause.data[0])],
                Some(client),
                1,
                40
            ),
        ]
    );
    // Told where they belong: in frame order, times those of their frames.
    let told: Vec<u64> = runs.iter().map(|r| r.0).collect();
    assert!(told.windows(2).all(|w| w[0] < w[1]), "{told:?}");
    for e in &sink.events {
        if let Detail::Tls(TlsMessage::ApplicationData(_)) = e.detail {
            let frame = cap.frame(u32::try_from(e.frame).unwrap()).unwrap();
            let expected = (frame.timestamp.secs(), frame.timestamp.subsec_nanos());
            assert_eq!(
                (u64::try_from(e.time.secs).unwrap(), e.time.nanos),
                expected,
                "frame {}",
                e.frame
            );
        }
    }
}

/// A response record whose body is still arriving when the client speaks again belongs to
/// the run the turn ends; the rest of its body starts no run of its own.
#[test]
fn a_record_still_arriving_when_the_turn_passes_stays_in_its_run() {
    use crate::proto::tls::TlsMessage;
    use crate::timeline::Detail;
    use wiretale_fixtures::payloads::tls;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = tls_session(&mut cap);
    let big = tls::record(23, 0x0303, &[0xcd; 4000]).unwrap();
    let (head, tail) = big.split_at(1000);
    let first = s.send(&mut cap, FDir::ToClient, head);
    let small = tls::record(23, 0x0303, &[0xab; 40]).unwrap();
    s.send(&mut cap, FDir::ToServer, &small);
    s.send(&mut cap, FDir::ToClient, tail);
    s.close(&mut cap);
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let runs: Vec<_> = sink
        .events
        .iter()
        .filter_map(|e| match &e.detail {
            Detail::Tls(TlsMessage::ApplicationData(a)) => Some((e.frame, a.records, a.bytes)),
            _ => None,
        })
        .collect();
    assert_eq!(runs[0], (u64::from(first.data[0]), 1, 4000), "{runs:?}");
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!((runs[1].1, runs[1].2), (1, 40));
}

/// The note that the server closed with a request unanswered is at the server's FIN and
/// carried by no earlier frame (http-basic-auth-401-browser.pcap listed the frame of the
/// previous response in its `frames`).
#[test]
fn unanswered_request_note_is_at_the_closing_fin_alone() {
    use crate::proto::http::HttpMessage;
    use crate::timeline::Detail;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let server: std::net::SocketAddr = "10.0.0.1:80".parse().unwrap();
    let mut s = TcpSession::new("10.0.0.2:40000".parse().unwrap(), server);
    s.handshake(&mut cap); // 1-3
    s.send(
        &mut cap,
        FDir::ToServer,
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
    ); // 4, 5
    s.send(
        &mut cap,
        FDir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ); // 6, 7
    s.send(
        &mut cap,
        FDir::ToServer,
        b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    ); // 8, 9
    let fin = u64::from(s.fin(&mut cap, FDir::ToClient)); // 10
    let sink = analyze_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let got = where_reported(
        &sink,
        |d| matches!(d, Detail::Http(m) if matches!(m.as_ref(), HttpMessage::ConnectionClosedWithOutstandingRequest { .. })),
    );
    assert_eq!(got, vec![(fin, vec![fin], Some(server))]);
}

/// A frame in which a TLS record ends is listed as TLS with the record in its Info, as tshark
/// lists it, application-data records included: they are not events (a run is summarized
/// once), and their bodies are skipped unseen, so the frame that completes a record the
/// parser skipped is learnt from the reassembler's skip running out there. Before, such
/// frames were listed as bare TCP (case-study-working.pcapng frames 95-98, 145-146).
#[test]
fn frames_that_carry_tls_records_are_listed_as_tls() {
    use wiretale_fixtures::payloads::tls;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = tls_session(&mut cap);
    let data = |len: usize| tls::record(23, 0x0303, &vec![0xab; len]).unwrap();
    let mut want = Vec::new();
    // One record in one segment.
    let frame = s.send_segment(&mut cap, FDir::ToServer, &data(40));
    want.push((frame, "TLS", "Application Data".to_string()));
    // One record over three segments: the parser skips its body; it ends in the third.
    let long = data(3000);
    for (part, label) in [(0..1000, None), (1000..2000, None), (2000..3005, Some(()))] {
        let frame = s.send_segment(&mut cap, FDir::ToClient, &long[part]);
        match label {
            Some(()) => want.push((frame, "TLS", "Application Data".to_string())),
            None => want.push((frame, "TCP", String::new())),
        }
    }
    // Two records in one segment, then a record and an alert: in order, and without the
    // summary of the run the alert ends (it describes earlier frames).
    let two = [data(10), data(20)].concat();
    let frame = s.send_segment(&mut cap, FDir::ToServer, &two);
    want.push((
        frame,
        "TLS",
        "Application Data, Application Data".to_string(),
    ));
    let with_alert = [data(10), tls::alert_record(0x0303, 1, 0)].concat();
    let frame = s.send_segment(&mut cap, FDir::ToServer, &with_alert);
    want.push((
        frame,
        "TLS",
        "Application Data, Alert (warning)".to_string(),
    ));
    // The end of a skipped record and the start of the next, which ends in the next segment.
    let pair = [data(100), data(100)].concat();
    let frame = s.send_segment(&mut cap, FDir::ToClient, &pair[..50]);
    want.push((frame, "TCP", String::new()));
    let frame = s.send_segment(&mut cap, FDir::ToClient, &pair[50..150]);
    want.push((frame, "TLS", "Application Data".to_string()));
    let frame = s.send_segment(&mut cap, FDir::ToClient, &pair[150..]);
    want.push((frame, "TLS", "Application Data".to_string()));
    s.close(&mut cap);

    let pcap = cap.to_pcap(&PcapOptions::default()).unwrap();
    for threads in [1, 2] {
        let mut reader = CaptureReader::new(std::io::Cursor::new(pcap.clone())).unwrap();
        let mut sink = Collector {
            keep_frames: true,
            ..Collector::default()
        };
        let config = AnalyzerConfig {
            threads,
            ..AnalyzerConfig::default()
        };
        let report = analyze(&mut reader, &config, &mut sink);
        assert!(report.error.is_none());
        for (frame, protocol, info) in &want {
            let f = sink
                .frames
                .iter()
                .find(|f| f.frame == u64::from(*frame))
                .unwrap();
            let what = format!("threads {threads}, frame {frame}: {:?}", f.info);
            assert_eq!(f.protocol, *protocol, "{what}");
            if protocol == &"TLS" {
                // The alert's own summary goes on after its level.
                assert!(f.info.starts_with(info.as_str()), "{what}");
            }
        }
    }
}
