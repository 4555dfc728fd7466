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
