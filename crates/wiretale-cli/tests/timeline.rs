//! `wiretale timeline --format jsonl`: every event, each line the event's serde JSON.

mod support;

use std::path::Path;
use support::{repo, shared, wiretale};
use wiretale::pipeline::{analyze_path, AnalyzerConfig};
use wiretale::timeline::Collector;

/// The lines the library's events make when each is serialized by serde_json.
fn serde_lines(capture: &Path) -> String {
    let mut collector = Collector::default();
    analyze_path(capture, &AnalyzerConfig::default(), &mut collector).unwrap();
    assert!(!collector.events.is_empty(), "{}", capture.display());
    collector
        .events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect()
}

fn assert_jsonl_is_serdes(capture: &Path) {
    let out = wiretale(&["timeline", "--format", "jsonl", capture.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", capture.display());
    let expected = serde_lines(capture);
    let got = String::from_utf8(out.stdout).unwrap();
    if let Some(line) = expected.lines().zip(got.lines()).position(|(a, b)| a != b) {
        panic!(
            "{}: line {} differs\nserde: {}\ncli:   {}",
            capture.display(),
            line + 1,
            expected.lines().nth(line).unwrap(),
            got.lines().nth(line).unwrap()
        );
    }
    assert_eq!(
        got.lines().count(),
        expected.lines().count(),
        "{}",
        capture.display()
    );
    assert!(got == expected, "{}", capture.display());
}

#[test]
fn jsonl_lines_are_the_events_serde_json() {
    assert_jsonl_is_serdes(&repo().join("testdata/case-study.pcapng"));
    assert_jsonl_is_serdes(&repo().join("testdata/https-connect.pcap"));
}

/// More than one batch of lines (the writer holds 64 KiB before writing): none lost or
/// doubled at the batch edges or at the end. A generated capture of proxy, NTLM, TLS and
/// HTTP connections (about 400 kB of lines), and a real one when the shared corpus is there.
#[test]
fn jsonl_of_a_long_capture_is_complete() {
    use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};
    let mut capture = Vec::new();
    write_workload(
        Shape::Mixed,
        Size::Connections(200),
        Format::Pcap,
        &mut capture,
    )
    .unwrap();
    let file = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    std::fs::write(file.path(), &capture).unwrap();
    let out = wiretale(&[
        "timeline",
        "--format",
        "jsonl",
        file.path().to_str().unwrap(),
    ]);
    assert!(out.stdout.len() > 4 << 16, "{} bytes", out.stdout.len());
    assert_jsonl_is_serdes(file.path());
    if let Some(capture) = shared("large-http-espn-browse.pcapng") {
        assert_jsonl_is_serdes(&capture);
    }
}

/// Text times count from the capture's first frame, as Wireshark's Time column and the story
/// do, not from the first event: the case study's first event is at frame 120, 20 s in, and
/// its TLS connection starts at frame 303, 45.010 s in, with or without a filter and threads.
#[test]
fn text_times_count_from_the_first_frame() {
    let capture = repo().join("testdata/case-study.pcapng");
    let capture = capture.to_str().unwrap();
    for args in [
        vec!["timeline", capture],
        vec!["timeline", "--threads", "2", capture],
        vec!["timeline", "-Y", "tcp.stream == 1", capture],
    ] {
        let out = wiretale(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let line = |frame: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("Frame {frame} ")))
                .unwrap_or_else(|| panic!("{args:?}: no frame {frame} in\n{text}"))
                .to_string()
        };
        if !args.contains(&"-Y") {
            assert!(line("120").contains(" +20.000 s "), "{}", line("120"));
        }
        assert!(line("303").contains(" +45.010 s "), "{}", line("303"));
    }
}
