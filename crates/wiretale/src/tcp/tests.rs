use super::*;
use crate::capture::CaptureReader;
use crate::net::{Decoded, NetDecoder};
use crate::test_support::{oracle_rows, shared_capture_files};
use std::collections::BTreeMap;

/// Records stream ids per frame and the bytes delivered per (stream, dir).
#[derive(Default)]
struct Collect {
    bytes: BTreeMap<(u64, usize), Vec<u8>>,
    events: Vec<(u64, u64, ConnEvent)>,
    summaries: Vec<FlowSummary>,
}

impl StreamHandler for Collect {
    type Conn = ();
    fn wants_segment_details(&self) -> bool {
        true
    }
    fn open(&mut self, _info: &ConnInfo) {}
    fn data(
        &mut self,
        _: &mut (),
        info: &ConnInfo,
        dir: Dir,
        input: &[u8],
        _: FrameMap<'_>,
    ) -> Feed {
        self.bytes
            .entry((info.stream, dir as usize))
            .or_default()
            .extend_from_slice(input);
        Feed {
            consumed: input.len(),
            skip: 0,
        }
    }
    fn gap(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: &Gap) {}
    fn end(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: EndReason, _: &[u8], _: FrameMap<'_>) {}
    fn event(&mut self, _: &mut (), info: &ConnInfo, frame: u64, _: Timestamp, event: ConnEvent) {
        self.events.push((frame, info.stream, event));
    }
    fn closed(&mut self, _: (), summary: FlowSummary) {
        self.summaries.push(summary);
    }
}

fn run(path: &std::path::Path) -> (BTreeMap<u64, u64>, Collect) {
    let mut reader = CaptureReader::open(path).unwrap();
    let mut net = NetDecoder::default();
    let mut handler = Collect::default();
    let mut tcp: TcpTracker<Collect> = TcpTracker::new(TcpConfig::default());
    let mut streams = BTreeMap::new();
    let mut last = Timestamp::default();
    while let Ok(Some(rec)) = reader.next_record() {
        last = rec.time;
        if let Decoded::Tcp(seg) = net.decode(&rec) {
            let info = tcp.segment(rec.frame, rec.time, &seg, &mut handler);
            streams.insert(rec.frame, info.stream);
        }
    }
    tcp.finish(&mut handler, last);
    (streams, handler)
}

/// `tcp.stream` of every TCP frame of every shared capture equals tshark's.
#[test]
fn stream_ids_match_tshark_on_every_shared_capture() {
    let mut failures = Vec::new();
    for path in shared_capture_files() {
        let oracle = oracle_rows(&path);
        let (streams, _) = run(&path);
        for row in &oracle {
            let frame: u64 = row["frame.number"].parse().unwrap();
            let want = row["tcp.stream"].as_str();
            let got = streams
                .get(&frame)
                .map(|s| s.to_string())
                .unwrap_or_default();
            if want != got {
                failures.push(format!(
                    "{} frame {frame}: tshark tcp.stream={want:?} wiretale={got:?}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Closed connections linger for their late packets, but only `max_closed_flows` of them: the
/// table stays small however many connections a capture holds.
#[test]
fn closed_connections_linger_up_to_the_cap() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    for port in 40_000..40_005u16 {
        let mut s = TcpSession::new(([10, 0, 0, 1], port).into(), ([10, 0, 0, 2], 80).into());
        s.handshake(&mut cap);
        s.send(&mut cap, FDir::ToServer, b"GET / HTTP/1.1\r\n\r\n");
        s.close(&mut cap); // FIN, FIN, then the last ACK: a packet after the close
    }
    let file = cap.to_pcap(&PcapOptions::default()).unwrap();
    let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    let mut net = NetDecoder::default();
    let mut handler = Collect::default();
    let config = TcpConfig {
        max_closed_flows: 2,
        ..TcpConfig::default()
    };
    let mut tcp: TcpTracker<Collect> = TcpTracker::new(config);
    let mut streams = Vec::new();
    let mut peak_in_table = 0;
    while let Ok(Some(rec)) = reader.next_record() {
        if let Decoded::Tcp(seg) = net.decode(&rec) {
            streams.push(tcp.segment(rec.frame, rec.time, &seg, &mut handler).stream);
            peak_in_table = peak_in_table.max(tcp.flows_in_table());
        }
    }
    // 8 frames per connection; every one, the last ACK included, in its own stream.
    let expected: Vec<u64> = (0..5).flat_map(|s| [s; 8]).collect();
    assert_eq!(streams, expected);
    assert_eq!(tcp.stats().retired_closed, 3);
    assert_eq!(peak_in_table, 3, "two closed ones and the open one");
    let retired: Vec<u64> = handler.summaries.iter().map(|s| s.stream).collect();
    assert_eq!(
        retired,
        [0, 1, 2],
        "summaries of retired connections come first"
    );
    // The retired ones were complete: their last ACK was counted before they left.
    assert!(handler.summaries.iter().all(|s| s.to_server.packets == 5));
    tcp.finish(&mut handler, Timestamp::default());
    assert_eq!(handler.summaries.len(), 5);
}

/// Runs the tracker over capture bytes made by the fixture builder.
fn run_bytes(pcap: Vec<u8>) -> (BTreeMap<u64, u64>, Collect) {
    let mut reader = CaptureReader::new(std::io::Cursor::new(pcap)).unwrap();
    let mut net = NetDecoder::default();
    let mut handler = Collect::default();
    let mut tcp: TcpTracker<Collect> = TcpTracker::new(TcpConfig::default());
    let mut streams = BTreeMap::new();
    let mut last = Timestamp::default();
    while let Ok(Some(rec)) = reader.next_record() {
        last = rec.time;
        if let Decoded::Tcp(seg) = net.decode(&rec) {
            let info = tcp.segment(rec.frame, rec.time, &seg, &mut handler);
            streams.insert(rec.frame, info.stream);
        }
    }
    tcp.finish(&mut handler, last);
    (streams, handler)
}

/// SYN refused with RST, then the same SYN again and a real connection (the Windows proxy
/// client in http-ntlm-wpad-401-smb.pcap, stream 19): one stream, as in tshark, and the
/// second connection's bytes are delivered instead of being dropped as late packets.
#[test]
fn connection_retried_with_the_same_syn_after_a_refusal_is_decoded() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "192.168.75.222:1060".parse().unwrap(),
        "192.168.75.1:3141".parse().unwrap(),
    );
    s.syn(&mut cap); // 1
    s.refuse(&mut cap); // 2
    s.handshake(&mut cap); // 3, 4, 5
    s.send(&mut cap, FDir::ToServer, b"CONNECT a:443 HTTP/1.0\r\n\r\n"); // 6 (+ ACK 7)
    s.send(&mut cap, FDir::ToClient, b"HTTP/1.0 404 Nope\r\n\r\n"); // 8 (+ ACK 9)
    s.close(&mut cap);
    let (streams, got) = run_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    assert!(streams.values().all(|&s| s == 0), "{streams:?}");
    assert_eq!(
        got.bytes
            .get(&(0, Dir::ToServer as usize))
            .map(Vec::as_slice),
        Some(&b"CONNECT a:443 HTTP/1.0\r\n\r\n"[..])
    );
    assert_eq!(
        got.bytes
            .get(&(0, Dir::ToClient as usize))
            .map(Vec::as_slice),
        Some(&b"HTTP/1.0 404 Nope\r\n\r\n"[..])
    );
    let kinds: Vec<(u64, &ConnEvent)> = got.events.iter().map(|(f, _, e)| (*f, e)).collect();
    assert!(matches!(kinds[0], (1, ConnEvent::Syn)), "{kinds:?}");
    assert!(matches!(
        kinds[1],
        (
            2,
            ConnEvent::Rst {
                dir: Dir::ToClient,
                ..
            }
        )
    ));
    assert!(matches!(kinds[2], (3, ConnEvent::Syn)), "{kinds:?}");
    assert!(matches!(kinds[3], (4, ConnEvent::SynAck)));
    assert!(matches!(kinds[4], (5, ConnEvent::Established { .. })));
    assert_eq!(got.summaries.len(), 1);
    let summary = &got.summaries[0];
    assert_eq!(summary.syns, 2);
    assert!(summary.established);
    assert!(matches!(summary.ending, Ending::Fin { both: true, .. }));
}

/// Counts `lingering` calls for a handler that asks for them at run time.
struct Lingers {
    late_too: bool,
    calls: Vec<(u64, bool)>,
}

impl StreamHandler for Lingers {
    type Conn = ();
    fn open(&mut self, _info: &ConnInfo) {}
    fn data(&mut self, _: &mut (), _: &ConnInfo, _: Dir, input: &[u8], _: FrameMap<'_>) -> Feed {
        Feed {
            consumed: input.len(),
            skip: 0,
        }
    }
    fn gap(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: &Gap) {}
    fn end(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: EndReason, _: &[u8], _: FrameMap<'_>) {}
    fn event(&mut self, _: &mut (), _: &ConnInfo, _: u64, _: Timestamp, _: ConnEvent) {}
    fn closed(&mut self, _: (), _: FlowSummary) {}
    fn wants_lingering(&self) -> bool {
        true
    }
    fn wants_late_lingering(&self) -> bool {
        self.late_too
    }
    fn lingering(&mut self, summary: FlowSummary, late: bool) {
        self.calls.push((summary.stream, late));
    }
}

#[test]
fn a_handler_that_wants_only_closings_is_not_told_of_late_packets() {
    // Short connections: each one's last ACK comes after both FINs, a late packet.
    let file = crate::test_support::short_connections_file(20);
    let run_with = |late_too: bool| {
        let mut reader = CaptureReader::open(file.path()).unwrap();
        let (mut net, mut tcp) = (NetDecoder::default(), TcpTracker::new(TcpConfig::default()));
        let mut handler = Lingers {
            late_too,
            calls: Vec::new(),
        };
        while let Ok(Some(rec)) = reader.next_record() {
            if let Decoded::Tcp(seg) = net.decode(&rec) {
                tcp.segment(rec.frame, rec.time, &seg, &mut handler);
            }
        }
        handler.calls
    };
    let all = run_with(true);
    let closings: Vec<_> = all.iter().filter(|(_, late)| !late).copied().collect();
    assert_eq!(closings.len(), 20);
    assert!(all.len() > closings.len(), "the workload has late packets");
    assert_eq!(run_with(false), closings);
}

/// A capture that starts mid-connection, the client acknowledging the server's data before
/// the server is seen sending anything (tcp-zerowindow-recovery.pcapng): the server's base
/// comes from the first acknowledgment of it, so the acks rise with the data acknowledged
/// and the server's next data continues from there, as in tshark (which shows `Ack=1`,
/// `Ack=1001`, `Ack=2001`, then `Seq=2001`), instead of every ack reading 1 and the data restarting at 1.
#[test]
fn relative_numbers_of_a_silent_side_count_from_its_first_acknowledgment() {
    use wiretale_fixtures::wire::tcp::TcpFlags as F;
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "192.168.0.20:2235".parse().unwrap(),
        "192.168.0.30:1720".parse().unwrap(),
    );
    let segment = |s: &TcpSession, dir: FDir, seq: u32, ack: u32| {
        let mut h = s.segment_header(dir);
        h.seq = seq;
        h.ack = ack;
        h.flags = F::ACK;
        h
    };
    let (client, server) = (3_000_000_000u32, 4_294_967_000u32); // the server's wraps
    for acked in [0u32, 1000, 2000] {
        let h = segment(&s, FDir::ToServer, client, server.wrapping_add(acked));
        s.send_raw(&mut cap, FDir::ToServer, h, b"");
    }
    let h = segment(&s, FDir::ToClient, server.wrapping_add(2000), client);
    s.send_raw(&mut cap, FDir::ToClient, h, &[0x55; 100]);
    let h = segment(&s, FDir::ToServer, client, server.wrapping_add(2100));
    s.send_raw(&mut cap, FDir::ToServer, h, b"");

    let pcap = cap.to_pcap(&PcapOptions::default()).unwrap();
    let mut reader = CaptureReader::new(std::io::Cursor::new(pcap)).unwrap();
    let mut net = NetDecoder::default();
    let mut handler = Collect::default();
    let mut tcp: TcpTracker<Collect> = TcpTracker::new(TcpConfig::default());
    let mut numbers = Vec::new();
    while let Ok(Some(rec)) = reader.next_record() {
        if let Decoded::Tcp(seg) = net.decode(&rec) {
            let info = tcp.segment(rec.frame, rec.time, &seg, &mut handler);
            numbers.push((info.relative_seq, info.relative_ack));
        }
    }
    assert_eq!(
        numbers,
        [
            (1, Some(1)),
            (1, Some(1001)),
            (1, Some(2001)),
            (2001, Some(1)),
            (1, Some(2101)),
        ]
    );
}

/// Runs the tracker over capture bytes and keeps what it said of each segment, by frame.
fn segment_infos(pcap: Vec<u8>) -> BTreeMap<u64, SegmentInfo> {
    let mut reader = CaptureReader::new(std::io::Cursor::new(pcap)).unwrap();
    let mut net = NetDecoder::default();
    let mut handler = Collect::default();
    let mut tcp: TcpTracker<Collect> = TcpTracker::new(TcpConfig::default());
    let mut infos = BTreeMap::new();
    while let Ok(Some(rec)) = reader.next_record() {
        if let Decoded::Tcp(seg) = net.decode(&rec) {
            infos.insert(
                rec.frame,
                tcp.segment(rec.frame, rec.time, &seg, &mut handler),
            );
        }
    }
    infos
}

/// tshark's `tcp.window_size`: the raw window shifted by the sender's window scale once both
/// SYNs carried the option (tcp-partial-overlap-vlan.pcap frame 3: 4096 << 5 = 131072), never
/// in a SYN itself, and raw when either SYN lacked the option or the handshake was not seen.
#[test]
fn windows_are_scaled_when_both_syns_carried_the_option() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let run = |client: Option<u8>, server: Option<u8>, handshake: bool| {
        let mut cap = Capture::new(LinkType::Ethernet);
        let mut s = TcpSession::new(
            "10.0.0.2:40000".parse().unwrap(),
            "10.0.0.1:80".parse().unwrap(),
        )
        .window_scale(client, server)
        .windows(4096, 1000);
        if handshake {
            s.handshake(&mut cap);
        }
        let request = s.send_segment(&mut cap, FDir::ToServer, b"GET / HTTP/1.1\r\n\r\n");
        let answer = s.ack(&mut cap, FDir::ToClient);
        let infos = segment_infos(cap.to_pcap(&PcapOptions::default()).unwrap());
        let window = |frame: u32| infos[&u64::from(frame)].window;
        let syns = handshake.then(|| (window(1), window(2)));
        (syns, window(request), window(answer))
    };
    // The fixture's SYNs advertise 64240 whatever the later windows.
    let syns = Some((64240, 64240));
    assert_eq!(run(Some(5), Some(7), true), (syns, 4096 << 5, 1000 << 7));
    assert_eq!(run(Some(5), None, true), (syns, 4096, 1000));
    assert_eq!(run(None, Some(7), true), (syns, 4096, 1000));
    assert_eq!(run(Some(5), Some(7), false), (None, 4096, 1000));
}

/// The tracker hands each segment tshark's markers (the rules themselves are tested in
/// `segment_analysis`): a SYN sent again, retransmitted bytes, data past a hole, a zero window,
/// a FIN sent again; nothing without segment details.
#[test]
fn segments_carry_tsharks_markers() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    let syn = s.syn(&mut cap);
    let syn_again = s.syn(&mut cap);
    let syn_ack = s.syn_ack(&mut cap);
    s.ack(&mut cap, FDir::ToServer);
    let data = s.send_segment(&mut cap, FDir::ToServer, b"first");
    let resent = s.retransmit(&mut cap, data);
    s.uncaptured(FDir::ToServer, b"lost");
    let after_hole = s.send_segment(&mut cap, FDir::ToServer, b"third");
    let zero = s.zero_window(&mut cap, FDir::ToClient);
    let mut fin_header = s.segment_header(FDir::ToClient);
    let fin = s.fin(&mut cap, FDir::ToClient);
    fin_header.flags =
        wiretale_fixtures::wire::tcp::TcpFlags::FIN | wiretale_fixtures::wire::tcp::TcpFlags::ACK;
    let fin_again = s.send_raw(&mut cap, FDir::ToClient, fin_header, b"");
    let pcap = cap.to_pcap(&PcapOptions::default()).unwrap();
    let infos = segment_infos(pcap.clone());
    let marks = |frame: u32| {
        infos[&u64::from(frame)]
            .analysis
            .markers()
            .collect::<Vec<_>>()
    };
    for frame in [syn, syn_ack, data, fin] {
        assert_eq!(marks(frame), [], "frame {frame}");
    }
    for frame in [syn_again, resent, fin_again] {
        assert_eq!(marks(frame), [Marker::Retransmission], "frame {frame}");
    }
    assert_eq!(marks(after_hole), [Marker::PreviousSegmentNotCaptured]);
    // The zero-window ACK also acknowledges the bytes the capture missed.
    assert_eq!(
        marks(zero),
        [Marker::ZeroWindow, Marker::AckedUnseenSegment]
    );

    // A handler that does not ask for them gets none, and the tracker keeps no state for them.
    let mut reader = CaptureReader::new(std::io::Cursor::new(pcap)).unwrap();
    let mut net = NetDecoder::default();
    let mut handler = Plain;
    let mut tcp: TcpTracker<Plain> = TcpTracker::new(TcpConfig::default());
    while let Ok(Some(rec)) = reader.next_record() {
        if let Decoded::Tcp(seg) = net.decode(&rec) {
            let info = tcp.segment(rec.frame, rec.time, &seg, &mut handler);
            assert!(info.analysis.is_empty(), "frame {}", rec.frame);
        }
    }
    let key = FlowKey::of(
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    let flow = tcp.flows.get(&key).expect("the connection is in the table");
    assert!(flow.seq_analysis.is_none());
}

/// A handler without segment details.
struct Plain;

impl StreamHandler for Plain {
    type Conn = ();
    fn open(&mut self, _info: &ConnInfo) {}
    fn data(&mut self, _: &mut (), _: &ConnInfo, _: Dir, input: &[u8], _: FrameMap<'_>) -> Feed {
        Feed {
            consumed: input.len(),
            skip: 0,
        }
    }
    fn gap(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: &Gap) {}
    fn end(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: EndReason, _: &[u8], _: FrameMap<'_>) {}
    fn event(&mut self, _: &mut (), _: &ConnInfo, _: u64, _: Timestamp, _: ConnEvent) {}
    fn closed(&mut self, _: (), _: FlowSummary) {}
}

/// tshark marks a SYN with a new initial sequence number on a known 4-tuple `[TCP Port numbers
/// reused]` however long ago that connection closed: the same when the table already let it
/// go (`max_closed_flows` 0, testdata/port-reuse.pcap frame 11), and only for such a SYN.
#[test]
fn ports_reused_after_the_table_let_the_connection_go() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/port-reuse.pcap");
    for max_closed_flows in [0, 4096] {
        let mut reader = CaptureReader::open(&path).unwrap();
        let mut net = NetDecoder::default();
        let mut handler = Collect::default();
        let config = TcpConfig {
            max_closed_flows,
            ..TcpConfig::default()
        };
        let mut tcp: TcpTracker<Collect> = TcpTracker::new(config);
        let mut reused = Vec::new();
        while let Ok(Some(rec)) = reader.next_record() {
            if let Decoded::Tcp(seg) = net.decode(&rec) {
                let info = tcp.segment(rec.frame, rec.time, &seg, &mut handler);
                if info.analysis.has(Marker::PortNumbersReused) {
                    reused.push(rec.frame);
                }
            }
        }
        assert_eq!(reused, [11], "max_closed_flows {max_closed_flows}");
    }
}

/// Zero-window episodes through the tracker: an event at the first zero window of an episode
/// (not at the zero-window ACKs that follow it) and at the reopening, with the probes
/// between; a window still closed when the peer resets ends closed at the RST, and a late
/// packet after it changes nothing.
#[test]
fn zero_window_episodes_are_events_and_summarised() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    s.handshake(&mut cap);
    s.send_segment(&mut cap, FDir::ToClient, b"first part");
    let zero = s.zero_window(&mut cap, FDir::ToServer);
    cap.advance(std::time::Duration::from_secs(1));
    // A one-byte probe and the client's answer, its window still zero.
    let (probe, still_zero) = s.keepalive(&mut cap, FDir::ToClient, true);
    let reopen = s.window_update(&mut cap, FDir::ToServer, 8192);
    s.send_segment(&mut cap, FDir::ToClient, b"second part");
    let zero_again = s.zero_window(&mut cap, FDir::ToServer);
    cap.advance(std::time::Duration::from_secs(5));
    let rst = s.rst(&mut cap, FDir::ToClient);
    cap.advance(std::time::Duration::from_secs(5));
    s.window_update(&mut cap, FDir::ToServer, 8192); // late: the connection is over
    let (_, got) = run_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    let windows: Vec<(u64, &ConnEvent)> = (got.events.iter())
        .filter(|(_, _, e)| {
            matches!(
                e,
                ConnEvent::ZeroWindow { .. } | ConnEvent::WindowReopened { .. }
            )
        })
        .map(|(f, _, e)| (*f, e))
        .collect();
    assert_eq!(windows.len(), 3, "{windows:?}");
    assert_eq!(
        windows[0],
        (
            u64::from(zero),
            &ConnEvent::ZeroWindow { dir: Dir::ToServer }
        )
    );
    assert!(u64::from(still_zero) > windows[0].0 && u64::from(probe) > windows[0].0);
    let (
        frame,
        ConnEvent::WindowReopened {
            dir: Dir::ToServer,
            closed_secs,
            probes: 1,
        },
    ) = windows[1]
    else {
        panic!("{windows:?}");
    };
    assert_eq!(frame, u64::from(reopen));
    assert!((1.0..1.1).contains(closed_secs), "{closed_secs}");
    assert_eq!(
        windows[2],
        (
            u64::from(zero_again),
            &ConnEvent::ZeroWindow { dir: Dir::ToServer }
        )
    );
    let summary = &got.summaries[0];
    let windows = summary.zero_window.as_deref().expect("zero windows");
    assert!(windows.to_client.is_none());
    let zw = windows.to_server.expect("the client's window");
    assert_eq!((zw.episodes, zw.probes, zw.not_reported), (2, 1, 0));
    assert!(zw.closed_at_end);
    assert_eq!(zw.first.reopened_frame, Some(u64::from(reopen)));
    assert_eq!(
        (zw.last.frame, zw.last.reopened_frame),
        (u64::from(zero_again), None)
    );
    assert!(
        (5.0..5.1).contains(&zw.last.closed_secs),
        "to the RST (frame {rst}), not the late packet: {}",
        zw.last.closed_secs
    );
    assert_eq!(zw.longest, zw.last);
    let json = serde_json::to_value(summary).unwrap();
    assert_eq!(json["zero_window"]["to_server"]["episodes"], 2);
    assert_eq!(
        json["zero_window"]["to_server"]["last"]["reopened_frame"],
        serde_json::Value::Null
    );
    assert!(json["zero_window"].get("to_client").is_none());
}

/// A connection without a zero window has no `zero_window` key in its summary's JSON.
#[test]
fn a_summary_without_zero_windows_leaves_the_key_out() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    s.handshake(&mut cap);
    s.send(&mut cap, FDir::ToServer, b"hello");
    s.rst(&mut cap, FDir::ToClient); // its window is zero: not a zero window
    let (_, got) = run_bytes(cap.to_pcap(&PcapOptions::default()).unwrap());
    assert!(got.summaries[0].zero_window.is_none());
    let json = serde_json::to_value(&got.summaries[0]).unwrap();
    assert!(json.get("zero_window").is_none(), "{json}");
}
