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
