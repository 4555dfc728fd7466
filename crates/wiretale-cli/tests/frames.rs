//! `wiretale frames`: the real binary's per-frame summary lines against what tshark 4.0.17
//! shows for the same frames of the shared captures. (TCP analysis markers compared with
//! `TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3)`.)

mod support;

use support::{shared, wiretale};

/// The text lines of `wiretale frames` on `capture`, by frame number (1-based, index 0
/// unused).
fn frame_lines(capture: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let path = capture.to_str().expect("UTF-8 path");
    let mut args = vec!["frames"];
    args.extend_from_slice(extra);
    args.push(path);
    let o = wiretale(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut lines = vec![String::new()];
    lines.extend(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned),
    );
    lines
}

/// The capture starts mid-connection: the client acknowledges the server's data (absolute
/// acks rising by 2920) before the server is seen sending. tshark takes the server's base from
/// the first ack, so the acks rise (`Ack=2921`, `5841`, `8761`) and the server's data in
/// frame 6 continues at `Seq=8761`; a base taken only from the server's own first segment
/// showed `Ack=1` throughout and restarted its data at `Seq=1`.
#[test]
fn relative_numbers_of_a_capture_that_starts_mid_connection_are_tsharks() {
    let Some(capture) = shared("tcp-zerowindow-recovery.pcapng") else {
        return;
    };
    let lines = frame_lines(&capture, &[]);
    let want = [
        (1, "Seq=1 Ack=1 "),
        (2, "Seq=1 Ack=2921 "),
        (3, "Seq=1 Ack=5841 "),
        (4, "Seq=1 Ack=8761 "),
        (5, "Seq=1 Ack=8761 "),
        (6, "Seq=8761 Ack=1 "),
        (7, "Seq=10221 Ack=1 "),
    ];
    for (frame, numbers) in want {
        assert!(
            lines[frame].contains(numbers),
            "frame {frame}: want {numbers:?} in {:?}",
            lines[frame]
        );
    }
}

/// The frame numbers `wiretale frames -Y FILTER` lists for `capture`.
fn filtered_frames(capture: &str, filter: &str) -> Vec<u64> {
    let o = wiretale(&["frames", "-Y", filter, capture]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Frames that carry only TLS application data are TLS, as in tshark (`TLSv1 … Application
/// Data`): `-Y tls` found only the handshake's four frames before.
#[test]
fn application_data_frames_are_tls() {
    let frames = filtered_frames("testdata/case-study-working.pcapng", "tls");
    assert_eq!(frames, [74, 78, 82, 83, 95, 96, 97, 98, 145, 146]);
    let Some(capture) = shared("tls12-client-certificate.pcap") else {
        return;
    };
    let lines = frame_lines(&capture, &[]);
    for frame in [23, 25, 27, 30] {
        assert!(
            lines[frame].contains(" TLS    Application Data"),
            "frame {frame}: {:?}",
            lines[frame]
        );
    }
    // The first segment of a record that ends in the next one stays TCP, as tshark's
    // "[TCP segment of a reassembled PDU]".
    assert!(lines[29].contains(" TCP    443 → 49480"), "{:?}", lines[29]);
}

/// `Win=` is tshark's scaled window once both SYNs carried the window-scale option (the raw
/// field was shown: `Win=4096`), and the markers the tracker knows lead the line as tshark's.
#[test]
fn windows_are_scaled_and_markers_shown_as_in_tshark() {
    let Some(overlap) = shared("tcp-partial-overlap-vlan.pcap") else {
        return;
    };
    let lines = frame_lines(&overlap, &[]);
    assert!(lines[3].contains(" Win=131072 "), "{:?}", lines[3]);
    let Some(zero) = shared("tcp-zerowindow-recovery.pcapng") else {
        return;
    };
    let lines = frame_lines(&zero, &[]);
    // No handshake in the capture: the scale is unknown and the raw window is shown.
    assert!(lines[1].contains(" Win=8760 "), "{:?}", lines[1]);
    assert!(
        lines[4].contains("TCP    [TCP ZeroWindow] 2235 → 1720 [ACK]"),
        "{:?}",
        lines[4]
    );
    let Some(retransmissions) = shared("tcp-retransmissions.pcapng") else {
        return;
    };
    // The same segment six times: tshark marks frames 2 to 6.
    let lines = frame_lines(&retransmissions, &[]);
    for (frame, line) in lines.iter().enumerate().skip(1) {
        let marked = line.contains("TCP    [TCP Retransmission] 1048 → 1043");
        assert_eq!(marked, frame > 1, "frame {frame}: {line:?}");
    }
}

/// Frames that are not TCP are described as tshark describes them (tshark 4.0.17 on the same
/// frames), not only as "IP but not TCP" / "not IP".
#[test]
fn frames_that_are_not_tcp_are_described_as_in_tshark() {
    let lines = frame_lines(
        &support::repo().join("testdata/case-study-working.pcapng"),
        &[],
    );
    let tail = |n: usize| {
        lines[n]
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        tail(1),
        "10.1.1.7 → 10.1.1.2 DNS Standard query 0x3a00 A intranet.example.com"
    );
    assert_eq!(
        tail(2),
        "10.1.1.2 → 10.1.1.7 DNS Standard query response 0x3a00 A intranet.example.com A 192.0.2.14"
    );
    assert_eq!(
        tail(3),
        "02:00:0a:01:01:14 → Broadcast ARP Who has 10.1.1.1? Tell 10.1.1.20"
    );
    assert_eq!(
        tail(4),
        "02:00:0a:01:01:01 → 02:00:0a:01:01:14 ARP 10.1.1.1 is at 02:00:0a:01:01:01"
    );
    assert!(
        lines[5].ends_with("ICMP   Echo (ping) request  id=0x0001, seq=0/0, ttl=64"),
        "{}",
        lines[5]
    );
    let Some(wpad) = shared("http-ntlm-wpad-401-smb.pcap") else {
        return;
    };
    let lines = frame_lines(&wpad, &[]);
    assert!(
        lines[1].ends_with("NBNS   Name query NB WPAD<00>"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with("NBNS   Name query response NB 192.168.75.1"),
        "{}",
        lines[2]
    );
    assert!(
        lines[238].ends_with("ARP    Who has 169.254.114.34? (ARP Probe)"),
        "{}",
        lines[238]
    );
    assert!(
        lines[252].ends_with("UDP    56421 → 1900 Len=133"),
        "{}",
        lines[252]
    );
}

/// tshark's Info text of a frame (4.0.17, `tshark -r F -T fields -e frame.number -e
/// _ws.col.Info`) up to `Len=`, the part wiretale prints (it leaves out the TCP options and
/// `[TCP segment of a reassembled PDU]`): each must end the frame's line.
fn assert_info_ends_lines(capture: &std::path::Path, want: &[(usize, &str)]) {
    let lines = frame_lines(capture, &[]);
    for (frame, info) in want {
        assert!(
            lines[*frame].ends_with(&format!("TCP    {info}")),
            "{} frame {frame}: want {info:?} in {:?}",
            capture.display(),
            lines[*frame]
        );
    }
}

/// tshark's TCP analysis markers lead the line: duplicate ACKs numbered per direction from
/// the ACK they repeat, a segment past a hole (the first only: the next one continues it),
/// out of order, keep-alive and its ACK, a retransmission, a SYN reusing a 4-tuple. The
/// literals are tshark 4.0.17's Info column.
#[test]
fn tcp_analysis_markers_lead_the_line_as_in_tshark() {
    let repo = support::repo();
    assert_info_ends_lines(
        &repo.join("testdata/tcp-gap.pcap"),
        &[
            (
                9,
                "[TCP Previous segment not captured] 80 → 51020 [ACK] Seq=1201 Ack=49 Win=262784 Len=400",
            ),
            (10, "80 → 51020 [ACK] Seq=1601 Ack=49 Win=262784 Len=400"),
            (
                11,
                "[TCP Dup ACK 8#1] 51020 → 80 [ACK] Seq=49 Ack=801 Win=262656 Len=0",
            ),
            (
                13,
                "[TCP Dup ACK 8#2] 51020 → 80 [ACK] Seq=49 Ack=801 Win=262656 Len=0",
            ),
            (
                15,
                "[TCP Dup ACK 8#3] 51020 → 80 [ACK] Seq=49 Ack=801 Win=262656 Len=0",
            ),
            (16, "51020 → 80 [FIN, ACK] Seq=49 Ack=801 Win=262656 Len=0"),
        ],
    );
    assert_info_ends_lines(
        &repo.join("testdata/tcp-retrans-reorder.pcap"),
        &[
            (
                11,
                "[TCP Retransmission] 51010 → 8080 [PSH, ACK] Seq=601 Ack=1 Win=262656 Len=200",
            ),
            (
                13,
                "[TCP Previous segment not captured] 51010 → 8080 [ACK] Seq=1201 Ack=1 Win=262656 Len=200",
            ),
            (
                14,
                "[TCP Out-Of-Order] 51010 → 8080 [ACK] Seq=1001 Ack=1 Win=262656 Len=200",
            ),
            (
                23,
                "[TCP Keep-Alive] 51010 → 8080 [ACK] Seq=2000 Ack=44 Win=262656 Len=0",
            ),
            (
                24,
                "[TCP Keep-Alive ACK] 8080 → 51010 [ACK] Seq=44 Ack=2001 Win=262784 Len=0",
            ),
        ],
    );
    assert_info_ends_lines(
        &repo.join("testdata/port-reuse.pcap"),
        &[(
            11,
            "[TCP Port numbers reused] 51040 → 80 [SYN] Seq=0 Win=64240 Len=0",
        )],
    );
}

/// The same on the shared captures: a window update (frame 5 of the zero-window recovery),
/// ACKs of bytes the capture missed, a spurious retransmission, an empty ACK past the next
/// sequence number and a FIN below it, a SYN-ACK with a new initial sequence number on a
/// reused 4-tuple. tshark 4.0.17's Info column.
#[test]
fn tcp_analysis_markers_of_the_shared_captures_are_tsharks() {
    let cases: [(&str, &[(usize, &str)]); 6] = [
        (
            "tcp-zerowindow-recovery.pcapng",
            &[
                (
                    4,
                    "[TCP ZeroWindow] 2235 → 1720 [ACK] Seq=1 Ack=8761 Win=0 Len=0",
                ),
                (
                    5,
                    "[TCP Window Update] 2235 → 1720 [ACK] Seq=1 Ack=8761 Win=64240 Len=0",
                ),
            ],
        ),
        (
            "large-http-espn-browse.pcapng",
            &[
                (
                    615,
                    "[TCP ACKed unseen segment] 41835 → 80 [ACK] Seq=3127 Ack=169847 Win=80128 Len=0",
                ),
                (
                    895,
                    "[TCP ACKed unseen segment] 41835 → 80 [ACK] Seq=3575 Ack=171221 Win=80128 Len=0",
                ),
            ],
        ),
        (
            "ipv6-http-atomic-frag.pcap",
            &[(
                8,
                "[TCP Spurious Retransmission] 36951 → 80 [PSH, ACK] Seq=1 Ack=1 Win=8192 Len=15",
            )],
        ),
        (
            "tls13-psk-resumption.pcap",
            &[
                (
                    18,
                    "[TCP Previous segment not captured] 443 → 54220 [ACK] Seq=494 Ack=522 Win=64768 Len=0",
                ),
                (
                    19,
                    "[TCP Retransmission] 443 → 54220 [FIN, ACK] Seq=493 Ack=521 Win=64768 Len=0",
                ),
            ],
        ),
        (
            "http-ntlm-wpad-401-smb.pcap",
            &[(
                168,
                "[TCP Port numbers reused] 3141 → 1060 [SYN, ACK] Seq=0 Ack=1 Win=29200 Len=0",
            )],
        ),
        (
            "tcp-data-gap-vlan.pcap",
            &[(
                7,
                "[TCP ACKed unseen segment] 8080 → 12345 [ACK] Seq=1 Ack=13 Win=32768 Len=0",
            )],
        ),
    ];
    for (name, want) in cases {
        let Some(capture) = shared(name) else {
            return;
        };
        assert_info_ends_lines(&capture, want);
    }
    // Markers lead a decoded line too: tshark 4.0.17's frame 893 reads `[TCP Previous segment
    // not captured] HTTP/1.1 200 OK  [TCP segment of a reassembled PDU]`, tls13-hello-retry-
    // request.pcap frame 11 `[TCP Out-Of-Order] 443 → 63564 [ACK] ...` (tshark leaves that
    // segment undecoded, wiretale does not: docs/known-differences.md).
    for (name, frame, want) in [
        (
            "large-http-espn-browse.pcapng",
            893,
            " HTTP   [TCP Previous segment not captured] HTTP/1.1 200 OK",
        ),
        (
            "tls13-hello-retry-request.pcap",
            11,
            " TLS    [TCP Out-Of-Order] Server Hello",
        ),
    ] {
        let Some(capture) = shared(name) else {
            return;
        };
        let lines = frame_lines(&capture, &[]);
        assert!(
            lines[frame].contains(want),
            "{name} frame {frame}: {:?}",
            lines[frame]
        );
    }
}

/// The `[TCP ...]` markers at the head of an Info text.
fn markers_of(info: &str) -> String {
    let mut rest = info;
    let mut markers = Vec::new();
    while let Some(after) = rest.strip_prefix("[TCP ") {
        let Some(end) = after.find("] ") else {
            break;
        };
        markers.push(&rest[..end + 6]);
        rest = &after[end + 2..];
    }
    markers.join(" ")
}

/// Frames whose markers differ from tshark's on purpose (docs/known-differences.md, "The
/// frames listing"): wiretale does not reassemble IPv6 fragments, so the POST in frames 8–9
/// is never seen, its ACK acknowledges unseen bytes and the FINs follow a hole.
const MARKER_DIFFERENCES: &[(&str, u64, &str)] = &[
    ("testdata/ipv6-ext.pcapng", 10, "[TCP ACKed unseen segment]"),
    (
        "testdata/ipv6-ext.pcapng",
        11,
        "[TCP Previous segment not captured]",
    ),
    ("testdata/ipv6-ext.pcapng", 12, "[TCP ACKed unseen segment]"),
];

/// tshark's markers by capture name and frame (`tests/tshark-tcp-markers.tsv`), with
/// [`MARKER_DIFFERENCES`] in place of tshark's for those frames.
fn tshark_markers() -> std::collections::BTreeMap<(String, u64), String> {
    let table = include_str!("tshark-tcp-markers.tsv");
    let mut want: std::collections::BTreeMap<(String, u64), String> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("capture\t"))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let capture = cols.next()?.to_owned();
            let frame = cols.next()?.parse().ok()?;
            Some(((capture, frame), cols.next()?.to_owned()))
        })
        .collect();
    assert!(want.len() > 100, "{} rows", want.len());
    for (capture, frame, markers) in MARKER_DIFFERENCES {
        want.insert(((*capture).to_owned(), *frame), (*markers).to_owned());
    }
    want
}

/// Every capture of testdata/ (named `testdata/NAME`) and, when `../shared` is there, of
/// the shared corpus (by name), with its path; and whether the shared ones were there (when
/// they are absent they are skipped with a message, a failure under `CI=true`).
fn marker_corpus() -> (Vec<(String, std::path::PathBuf)>, bool) {
    let mut captures: Vec<(String, std::path::PathBuf)> = Vec::new();
    let repo = support::repo();
    for entry in std::fs::read_dir(repo.join("testdata")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".pcap") {
            captures.push((format!("testdata/{name}"), path));
        }
    }
    let shared_dir = wiretale_fixtures::files::shared_captures().unwrap_or_else(|e| panic!("{e}"));
    if let Some(dir) = &shared_dir {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.contains(".pcap") {
                captures.push((name, path));
            }
        }
    }
    captures.sort();
    (captures, shared_dir.is_some())
}

/// `frames --format jsonl EXTRA… PATH` for the corpus capture `name`, decoding port 80 as TLS
/// where tshark's reference decode did (tls-on-port-80.pcapng, decoded with "Decode As").
fn frames_jsonl_args<'a>(name: &str, extra: &[&'a str], path: &'a std::path::Path) -> Vec<&'a str> {
    let mut args = vec!["frames", "--format", "jsonl"];
    args.extend_from_slice(extra);
    if name == "tls-on-port-80.pcapng" {
        args.extend(["--decode-as", "80=tls"]);
    }
    args.push(path.to_str().unwrap());
    args
}

/// Every marker of every frame of the corpus and of testdata/ is tshark's, and no other:
/// `tests/tshark-tcp-markers.tsv` holds tshark 4.0.17's, frame by frame.
#[test]
fn every_tcp_marker_of_every_capture_is_tsharks() {
    let want = tshark_markers();
    let (captures, shared_present) = marker_corpus();
    let mut mismatches = Vec::new();
    let mut seen = 0;
    for (name, path) in &captures {
        let o = wiretale(&frames_jsonl_args(name, &[], path));
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let frame = v["frame"].as_u64().unwrap();
            let got = markers_of(v["info"].as_str().unwrap());
            let expected = want
                .get(&(name.clone(), frame))
                .cloned()
                .unwrap_or_default();
            if !expected.is_empty() {
                seen += 1;
            }
            if got != expected {
                mismatches.push(format!(
                    "{name} frame {frame}: tshark {expected:?}, wiretale {got:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let expected_rows = want
        .keys()
        .filter(|(c, _)| shared_present || c.starts_with("testdata/"))
        .count();
    assert_eq!(
        seen, expected_rows,
        "rows of the table that no frame matched"
    );
}

/// Which of tshark's markers (the text of a frame's `[TCP ...]` prefixes) make each
/// `tcp.analysis.*` filter match, by tshark's rules: `flags` is any marker, and fast and
/// spurious retransmissions are retransmissions too (packet-tcp.c raises both).
const ANALYSIS_FILTERS: &[(&str, &[&str])] = &[
    ("tcp.analysis.flags", &["[TCP "]),
    (
        "tcp.analysis.retransmission",
        &[
            "[TCP Retransmission]",
            "[TCP Fast Retransmission]",
            "[TCP Spurious Retransmission]",
        ],
    ),
    (
        "tcp.analysis.fast_retransmission",
        &["[TCP Fast Retransmission]"],
    ),
    (
        "tcp.analysis.spurious_retransmission",
        &["[TCP Spurious Retransmission]"],
    ),
    ("tcp.analysis.out_of_order", &["[TCP Out-Of-Order]"]),
    (
        "tcp.analysis.lost_segment",
        &["[TCP Previous segment not captured]"],
    ),
    (
        "tcp.analysis.ack_lost_segment",
        &["[TCP ACKed unseen segment]"],
    ),
    ("tcp.analysis.duplicate_ack", &["[TCP Dup ACK "]),
    (
        "tcp.analysis.duplicate_ack_num >= 2",
        &["#2]", "#3]", "#4]"],
    ),
    ("tcp.analysis.zero_window", &["[TCP ZeroWindow]"]),
    ("tcp.analysis.zero_window_probe", &["[TCP ZeroWindowProbe]"]),
    (
        "tcp.analysis.zero_window_probe_ack",
        &["[TCP ZeroWindowProbeAck]"],
    ),
    ("tcp.analysis.keep_alive", &["[TCP Keep-Alive]"]),
    ("tcp.analysis.keep_alive_ack", &["[TCP Keep-Alive ACK]"]),
    ("tcp.analysis.window_full", &["[TCP Window Full]"]),
    ("tcp.analysis.window_update", &["[TCP Window Update]"]),
    ("tcp.analysis.reused_ports", &["[TCP Port numbers reused]"]),
    (
        "tcp.analysis.flags && !tcp.analysis.window_update",
        &[
            "[TCP Retransmission]",
            "[TCP Fast Retransmission]",
            "[TCP Spurious Retransmission]",
            "[TCP Out-Of-Order]",
            "[TCP Previous segment not captured]",
            "[TCP ACKed unseen segment]",
            "[TCP Dup ACK ",
            "[TCP ZeroWindow",
            "[TCP Keep-Alive",
            "[TCP Window Full]",
            "[TCP Port numbers reused]",
        ],
    ),
];

/// `frames -Y 'tcp.analysis.…'` lists the frames tshark's filter lists: on every capture
/// with markers, each filter's frames are those whose tshark markers
/// (`tests/tshark-tcp-markers.tsv`) it names (checked against tshark 4.0.17's own `-Y` on
/// the corpus when the fields were added); on the others, `tcp.analysis.flags` lists none.
#[test]
fn tcp_analysis_filters_list_the_frames_tshark_lists() {
    let want = tshark_markers();
    let (captures, _) = marker_corpus();
    let mut mismatches = Vec::new();
    let mut matched = 0;
    for (name, path) in &captures {
        let with_markers = want.keys().any(|(c, _)| c == name);
        let filters = if with_markers {
            ANALYSIS_FILTERS
        } else {
            &ANALYSIS_FILTERS[..1]
        };
        for (filter, markers) in filters {
            let expected: Vec<u64> = want
                .iter()
                .filter(|((c, _), text)| c == name && markers.iter().any(|m| text.contains(m)))
                .map(|((_, frame), _)| *frame)
                .collect();
            let o = wiretale(&frames_jsonl_args(name, &["-Y", filter], path));
            assert_eq!(o.status.code(), Some(0), "{name} {filter}");
            let got: Vec<u64> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["frame"].as_u64().unwrap()
                })
                .collect();
            matched += got.len();
            if got != expected {
                mismatches.push(format!(
                    "{name} -Y '{filter}': want {expected:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(matched > 0, "no frame matched any filter");
}

/// `timeline` and `story` filter events, which have no TCP analysis: naming one of its
/// fields is an error that points to `frames`, not an empty result.
#[test]
fn tcp_analysis_filters_are_refused_by_commands_that_filter_events() {
    let capture = support::repo().join("testdata/tcp-retrans-reorder.pcap");
    let capture = capture.to_str().unwrap();
    for command in ["timeline", "story"] {
        let o = wiretale(&[
            command,
            "-Y",
            "http || tcp.analysis.retransmission",
            capture,
        ]);
        assert_eq!(o.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("tcp.analysis.retransmission is known of frames only")
                && stderr.contains(&format!("`wiretale {command}` filters events"))
                && stderr.contains("wiretale frames -Y 'http || tcp.analysis.retransmission'"),
            "{stderr}"
        );
        assert!(o.stdout.is_empty(), "{command}");
    }
    // A label is tested alone, as in tshark.
    let o = wiretale(&["frames", "-Y", "tcp.analysis.flags == 1", capture]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("\"tcp.analysis.flags\" (type=Label) cannot participate in \"==\" comparison."));
}
