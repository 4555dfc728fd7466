//! Display filters on the `testdata/` captures, per frame and per event, checked against the
//! frames Wireshark shows for the same filter (facts from `testdata/README.md`).

use super::*;
use crate::filter::parse;
use crate::pipeline::{analyze_path, AnalyzerConfig};
use crate::timeline::EventSink;
use std::path::PathBuf;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

/// Runs the pipeline with both filters, like `frames -Y` and `timeline -Y` do.
struct Both {
    frames: FrameFilter,
    events: EventFilter,
    frame_hits: Vec<u64>,
    event_hits: Vec<(u64, &'static str)>,
}

impl EventSink for Both {
    fn event(&mut self, e: &Event) {
        self.frames.note_event(e);
        if self.events.matches(e) {
            self.event_hits.push((e.frame, e.proto()));
        }
    }
    fn frame(&mut self, f: &FrameSummary) {
        if self.frames.matches(f) {
            self.frame_hits.push(f.frame);
        }
    }
    fn wants_frames(&self) -> bool {
        true
    }
}

fn run(capture: &str, filter: &str) -> (Vec<u64>, Vec<(u64, &'static str)>) {
    let filter = parse(filter).expect("valid filter");
    let mut sink = Both {
        frames: FrameFilter::new(filter.clone()),
        events: EventFilter::new(filter),
        frame_hits: Vec::new(),
        event_hits: Vec::new(),
    };
    analyze_path(testdata(capture), &AnalyzerConfig::default(), &mut sink).unwrap();
    (sink.frame_hits, sink.event_hits)
}

fn frames(capture: &str, filter: &str) -> Vec<u64> {
    run(capture, filter).0
}

fn event_frames(capture: &str, filter: &str) -> Vec<u64> {
    run(capture, filter).1.into_iter().map(|(f, _)| f).collect()
}

/// The README's example: the 5061 connection and every HTTP message, including the intranet
/// fetches on port 80 (they are HTTP), but not the TCP-only frames of ports 80 and 8080.
#[test]
fn port_or_http_on_the_case_study() {
    let (frames, events) = run("case-study.pcapng", "tcp.port==5061 || http");
    assert_eq!(
        frames,
        [
            123, 125, 303, 304, 305, 306, 307, 311, 312, 315, 316, 317, 407, 408, 416, 417, 703,
            705, 959
        ]
    );
    let tcp_events: Vec<u64> = events
        .iter()
        .filter(|(_, p)| *p == "tcp")
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(tcp_events, [303, 304, 305, 959]);
    let ntlm: Vec<u64> = events
        .iter()
        .filter(|(_, p)| *p == "ntlm")
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(ntlm, [416, 417]);
    let http: Vec<u64> = events
        .iter()
        .filter(|(_, p)| *p == "http")
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(http, [123, 125, 407, 408, 416, 417, 703, 705]);
    assert_eq!(events.iter().filter(|(_, p)| *p == "tls").count(), 11);
}

#[test]
fn ntlm_fields_and_the_carrier() {
    assert_eq!(
        event_frames(
            "case-study.pcapng",
            "ntlmssp.messagetype == NTLMSSP_CHALLENGE"
        ),
        [417]
    );
    // The method belongs to the HTTP message that carried the token.
    let (frames, events) = run(
        "case-study.pcapng",
        "http.request.method == GET && ntlmssp.messagetype == 1",
    );
    assert_eq!(frames, [416]);
    assert_eq!(events, [(416, "ntlm")]);
    assert_eq!(
        event_frames(
            "ntlm-proxy-auth-ok.pcap",
            "ntlmssp.auth.username == \"jdoe\""
        ),
        [12]
    );
    assert_eq!(frames_of_ntlm_only("ntlm-proxy-auth-ok.pcap"), [8, 10, 12]);
}

fn frames_of_ntlm_only(capture: &str) -> Vec<u64> {
    frames(capture, "ntlmssp")
}

#[test]
fn tls_fields() {
    assert_eq!(
        frames("case-study.pcapng", "tls.handshake.type == 1"),
        [306]
    );
    assert_eq!(
        event_frames("case-study.pcapng", "tls.handshake.type == \"Certificate\""),
        [311, 315]
    );
    assert_eq!(
        frames(
            "https-connect.pcap",
            "tls.handshake.extensions_server_name contains \"secure\""
        ),
        [8]
    );
    assert_eq!(
        frames(
            "tls-alert.pcap",
            "tls.alert_message.desc == \"Handshake Failure\""
        ),
        [6]
    );
    // TLS inside a CONNECT tunnel is under the proxy's HTTP conversation.
    let tunnelled = event_frames("https-connect.pcap", "http && tls");
    assert!(
        tunnelled.contains(&8) && tunnelled.contains(&15),
        "{tunnelled:?}"
    );
    assert!(event_frames("case-study.pcapng", "http && tls").is_empty());
}

#[test]
fn http_fields() {
    assert_eq!(
        frames("case-study.pcapng", "http.response.code == 407"),
        [408, 417]
    );
    assert_eq!(
        frames(
            "case-study.pcapng",
            "http.request.uri contains \"pca3.crl\""
        ),
        [407, 416]
    );
    assert_eq!(
        frames("case-study.pcapng", "http.host == \"intranet.example.com\""),
        [123, 703]
    );
    assert_eq!(
        frames("case-study.pcapng", "http.request && tcp.dstport == 80"),
        [123, 703]
    );
}

#[test]
fn packet_level_fields() {
    assert_eq!(
        frames(
            "case-study.pcapng",
            "ip.src == 10.2.2.2 && tcp.flags.reset == 1"
        ),
        [959]
    );
    assert_eq!(
        event_frames("case-study.pcapng", "tcp.flags.reset == 1"),
        [959]
    );
    assert_eq!(
        event_frames(
            "case-study.pcapng",
            "tcp.flags.syn == 1 && tcp.flags.ack == 0"
        ),
        [120, 303, 404, 413, 700]
    );
    assert_eq!(frames("case-study.pcapng", "frame.number == 5"), [5]);
    assert_eq!(
        frames("case-study.pcapng", "tcp.stream == 3 && tcp.len > 0"),
        [416, 417]
    );
    // Every UDP datagram of the capture is DNS (tshark: 304 frames for both filters), listed
    // as DNS and still matched by `udp`; its ports are UDP ports, never TCP ones.
    assert_eq!(frames("case-study.pcapng", "udp").len(), 304);
    assert_eq!(frames("case-study.pcapng", "udp.port == 53").len(), 304);
    assert_eq!(frames("case-study.pcapng", "udp.srcport == 53").len(), 152);
    assert!(frames("case-study.pcapng", "tcp.port == 53").is_empty());
    let v6: Vec<u64> = (11..=20).collect();
    assert_eq!(frames("rawip.pcap", "ipv6"), v6);
    assert_eq!(frames("rawip.pcap", "ipv6.addr == 2001:db8:0:10::/64"), v6);
    assert_eq!(
        frames("rawip.pcap", "ip.dst == 172.16.0.1"),
        [1, 3, 4, 7, 8, 10]
    );
    assert_eq!(
        event_frames("rawip.pcap", "ipv6.src == 2001:db8:0:10::1"),
        [12, 16, 19]
    );
    // `!=` needs the field: IPv6 frames have no ip.addr.
    assert_eq!(frames("rawip.pcap", "ip.addr != 172.16.0.9").len(), 10);
    assert_eq!(frames("rawip.pcap", "!(ip.addr == 172.16.0.9)").len(), 20);
}

/// tshark's TCP analysis answers `tcp.analysis.*` for frames (tshark 4.0.17's `-Y
/// tcp.analysis.flags` lists frames 11, 13, 14, 19, 23 and 24 of this capture, whose markers
/// are in the CLI's `tests/tshark-tcp-markers.tsv`); an event never has them.
#[test]
fn tcp_analysis_fields_are_frames_only() {
    let capture = "tcp-retrans-reorder.pcap";
    assert_eq!(
        frames(capture, "tcp.analysis.flags"),
        [11, 13, 14, 19, 23, 24]
    );
    assert_eq!(frames(capture, "tcp.analysis.retransmission"), [11, 19]);
    assert_eq!(frames(capture, "tcp.analysis.lost_segment"), [13]);
    assert_eq!(frames(capture, "tcp.analysis.out_of_order"), [14]);
    assert_eq!(
        frames(
            capture,
            "tcp.analysis.keep_alive || tcp.analysis.keep_alive_ack"
        ),
        [23, 24]
    );
    assert_eq!(
        frames(
            capture,
            "tcp.analysis.flags && !tcp.analysis.keep_alive && tcp.len > 0"
        ),
        [11, 13, 14, 19]
    );
    assert!(frames(capture, "tcp.analysis.duplicate_ack").is_empty());
    assert!(event_frames(
        capture,
        "tcp.analysis.flags || tcp.analysis.duplicate_ack_num > 0"
    )
    .is_empty());
    // Only the label's absence is known of an event.
    assert_eq!(
        event_frames(capture, "http && !tcp.analysis.retransmission"),
        [18, 21]
    );
}

/// Header fields, as tshark 4.0.17 lists them for the case study: the CRL fetches say who
/// made them (`User-Agent: Entrust Certificate Revocation`), and the 407s' bodies are 179
/// bytes of HTML. An NTLM challenge has the fields of the 407 that carried it (the first 407
/// offers NTLM without a challenge).
#[test]
fn header_fields() {
    let capture = "case-study.pcapng";
    assert_eq!(
        frames(capture, "http.user_agent contains \"Revocation\""),
        [407, 416]
    );
    assert_eq!(frames(capture, "http.content_length == 179"), [408, 417]);
    assert_eq!(
        frames(capture, "http.content_type contains \"text/html\""),
        [125, 408, 417, 705]
    );
    assert_eq!(
        event_frames(
            capture,
            "ntlmssp.messagetype == 2 && http.content_length_header == \"179\""
        ),
        [417]
    );
    assert_eq!(
        frames("tcp-retrans-reorder.pcap", "http.content_length == 0"),
        [21]
    );
    assert!(frames(
        capture,
        "http.location || http.upgrade || http.transfer_encoding"
    )
    .is_empty());
}
