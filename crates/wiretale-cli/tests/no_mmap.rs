//! `--mmap` changes how the capture is read, never what is printed: the real binary's
//! output with and without it (and with `--mmap --no-mmap`, the last one winning), byte for byte (exit code and stderr too), on commands that read
//! one capture and on `compare`, including a capture damaged part-way.

mod support;

use support::{assert_same_run, repo, wiretale};

fn assert_same_without_mmap(args: &[&str]) {
    let unmapped = wiretale(args);
    assert!(!unmapped.stdout.is_empty(), "{args:?} printed nothing");
    for flags in [&["--mmap"][..], &["--mmap", "--no-mmap"], &["--no-mmap"]] {
        let mut other_args = args.to_vec();
        other_args.splice(1..1, flags.iter().copied());
        assert_same_run(
            &unmapped,
            &wiretale(&other_args),
            &format!("{other_args:?}"),
        );
    }
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
