//! `--threads N` changes how fast, never what: the real binary's output with 1 and several
//! threads, byte for byte.

mod support;

use support::{assert_same_run, wiretale};

/// Runs `args` with `--threads 1` and with each of `threads`, and compares stdout, stderr and
/// the exit code.
fn assert_same_output(args: &[&str], threads: &[&str]) {
    let run = |n: &str| {
        let mut all = args.to_vec();
        all.extend(["--threads", n]);
        wiretale(&all)
    };
    let one = run("1");
    assert_eq!(
        one.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(!one.stdout.is_empty(), "{args:?} printed nothing");
    for n in threads {
        assert_same_run(&one, &run(n), &format!("{args:?} --threads {n}"));
    }
}

#[test]
fn timeline_jsonl_is_the_same_on_1_and_2_threads() {
    assert_same_output(
        &[
            "timeline",
            "--format",
            "jsonl",
            "testdata/case-study.pcapng",
        ],
        &["2", "3"],
    );
}

#[test]
fn story_json_is_the_same_on_1_and_2_threads() {
    assert_same_output(
        &["story", "--format", "json", "testdata/case-study.pcapng"],
        &["2"],
    );
}

#[test]
fn frames_and_flows_are_the_same_on_1_and_2_threads() {
    assert_same_output(
        &["frames", "--format", "jsonl", "testdata/case-study.pcapng"],
        &["2"],
    );
    assert_same_output(
        &["flows", "--format", "json", "testdata/port-reuse.pcap"],
        &["2"],
    );
    // TCP analysis markers (kept per connection, numbered by frame).
    for capture in [
        "testdata/tcp-gap.pcap",
        "testdata/tcp-retrans-reorder.pcap",
        "testdata/port-reuse.pcap",
    ] {
        assert_same_output(&["frames", "--format", "jsonl", capture], &["2"]);
    }
}

#[test]
fn compare_is_the_same_on_1_and_2_threads() {
    let args = [
        "compare",
        "--format",
        "json",
        "testdata/case-study-working.pcapng",
        "testdata/case-study.pcapng",
    ];
    let one = wiretale(&[&args[..], &["--threads", "1"]].concat());
    let two = wiretale(&[&args[..], &["--threads", "2"]].concat());
    assert_eq!(one.status.code(), Some(1), "the captures differ");
    assert_eq!(two.status.code(), one.status.code());
    assert!(two.stdout == one.stdout);
}

#[test]
fn zero_threads_is_a_usage_error() {
    let out = wiretale(&["flows", "--threads", "0", "testdata/case-study.pcapng"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("threads"));
}
