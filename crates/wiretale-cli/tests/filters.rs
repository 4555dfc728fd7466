//! `-Y/--filter` on `frames` and `timeline`: the real binary on `testdata/`.

mod support;

use support::wiretale;

use serde_json::Value;

fn ok_stdout(args: &[&str]) -> String {
    let o = wiretale(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn jsonl_frames(args: &[&str]) -> Vec<u64> {
    ok_stdout(args)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            v["frame"].as_u64().expect("frame")
        })
        .collect()
}

#[test]
fn timeline_port_or_http_on_the_case_study() {
    let text = ok_stdout(&[
        "timeline",
        "-Y",
        "tcp.port==5061 || http",
        "testdata/case-study.pcapng",
    ]);
    let frames: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    // TLS on 5061 and its TCP events, every HTTP/NTLM message (the intranet fetches on port
    // 80 are HTTP too), but no TCP-only events of ports 80 and 8080.
    for frame in [
        "303", "306", "311", "316", "407", "408", "416", "417", "123", "703", "959",
    ] {
        assert!(frames.contains(&frame), "frame {frame} missing:\n{text}");
    }
    for frame in ["120", "404", "409", "418", "700"] {
        assert!(!frames.contains(&frame), "frame {frame} shown:\n{text}");
    }
    assert_eq!(text.lines().count(), 25, "{text}");
    // Times stay relative to the capture's first frame (frame 123 is 20.003 s in, as in
    // Wireshark), not to the first line shown.
    assert!(text.lines().next().unwrap().contains("+20.003 s"), "{text}");
}

#[test]
fn frames_filter_matches_wiresharks_packet_list() {
    let frames = jsonl_frames(&[
        "frames",
        "--format",
        "jsonl",
        "--filter",
        "tcp.port==5061 || http",
        "testdata/case-study.pcapng",
    ]);
    assert_eq!(
        frames,
        [
            123, 125, 303, 304, 305, 306, 307, 311, 312, 315, 316, 317, 407, 408, 416, 417, 703,
            705, 959
        ]
    );
    assert_eq!(
        jsonl_frames(&[
            "frames",
            "--format",
            "jsonl",
            "-Y",
            "ntlmssp.messagetype == 2 or tls.handshake.type == 11",
            "testdata/case-study.pcapng",
        ]),
        [311, 315, 417]
    );
}

#[test]
fn timeline_jsonl_with_filter() {
    let text = ok_stdout(&[
        "timeline",
        "--format",
        "jsonl",
        "-Y",
        "ntlmssp",
        "testdata/ntlm-proxy-auth-ok.pcap",
    ]);
    let types: Vec<u64> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["proto"], "ntlm");
            v["message_type"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(types, [1, 2, 3]);
}

#[test]
fn bad_filter_exits_2_with_a_caret() {
    let o = wiretale(&[
        "timeline",
        "-Y",
        "tcp.port == 70000",
        "testdata/case-study.pcapng",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    let mut lines = err.lines();
    assert_eq!(lines.next(), Some("wiretale: bad filter:"), "{err}");
    assert_eq!(lines.next(), Some("tcp.port == 70000"), "{err}");
    let caret = lines.next().unwrap_or_default();
    assert!(caret.starts_with("            ^"), "{err}");

    // The filter is checked before the capture is opened.
    let o = wiretale(&["frames", "-Y", "tcp.port ==", "no/such/file.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("wiretale: bad filter:"));
}

#[test]
fn help_mentions_the_filter() {
    let text = ok_stdout(&["timeline", "--help"]);
    assert!(text.contains("-Y, --filter <EXPR>"), "{text}");
    let text = ok_stdout(&["frames", "--help"]);
    assert!(text.contains("-Y, --filter <EXPR>"), "{text}");
}
