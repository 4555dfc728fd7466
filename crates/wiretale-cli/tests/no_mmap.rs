//! `--no-mmap` changes how the capture is read, never what is printed: the real binary's
//! output with and without it, byte for byte (exit code and stderr too), on commands that read
//! one capture and on `compare`, including a capture damaged part-way.

mod support;

use support::{repo, wiretale};

fn assert_same_without_mmap(args: &[&str]) {
    let mapped = wiretale(args);
    let mut unmapped_args = args.to_vec();
    unmapped_args.insert(1, "--no-mmap");
    let unmapped = wiretale(&unmapped_args);
    assert!(!mapped.stdout.is_empty(), "{args:?} printed nothing");
    assert_eq!(mapped.status.code(), unmapped.status.code(), "{args:?}");
    assert!(mapped.stdout == unmapped.stdout, "{args:?}: stdout differs");
    assert_eq!(
        String::from_utf8_lossy(&mapped.stderr),
        String::from_utf8_lossy(&unmapped.stderr),
        "{args:?}"
    );
}

#[test]
fn every_command_prints_the_same_with_and_without_a_memory_map() {
    assert_same_without_mmap(&["story", "testdata/case-study.pcapng"]);
    assert_same_without_mmap(&["frames", "--format", "jsonl", "testdata/sll2.pcap"]);
    assert_same_without_mmap(&["flows", "testdata/port-reuse.pcap"]);
    assert_same_without_mmap(&[
        "compare",
        "testdata/case-study-working.pcapng",
        "testdata/case-study.pcapng",
    ]);
}

#[test]
fn a_capture_damaged_part_way_ends_the_same_with_and_without_a_memory_map() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(repo().join("testdata/ntlm-proxy-abandoned.pcap")).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let cut = cut.to_str().unwrap();
    assert_same_without_mmap(&["story", cut]);
    assert_same_without_mmap(&["timeline", "--format", "jsonl", cut]);
}
