//! Runs the real `wiretale story` on the case-study fixture and checks what a user reads.

mod support;

use support::wiretale;

use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn case_study_story_names_each_step_at_the_case_study_frames() {
    let out = wiretale(&["story", "testdata/case-study.pcapng"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let line = |frame: u64| -> String {
        text.lines()
            .filter(|l| l.starts_with(&format!("Frame {frame} ")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(line(303).contains("client 10.1.1.5:") && line(303).contains("server 10.2.2.2:5061"));
    assert!(line(303).contains("starts 3-way handshake"));
    assert!(line(306).contains("Client Hello"));
    assert!(line(311).contains("Server Hello"));
    assert!(line(315).contains("Client Key Exchange, Change Cipher Spec"));
    assert!(line(316).contains("Change Cipher Spec, Encrypted Handshake Message"));
    assert!(line(407).contains("GET http://crl.verisign.com/pca3.crl HTTP/1.0"));
    assert!(line(408).contains("proxy 10.3.3.3:8080") && line(408).contains("407"));
    assert!(line(416).contains("NTLM Type 1"));
    assert!(line(417).contains("NTLM Type 2 challenge d1cb3331634e8638"));
    assert!(line(959).contains("RESETS"));
    // The wait is counted from the stream's last step (frame 316), which the line names; the
    // reset counts its own from the last packet (the bare ACK in frame 317).
    assert!(
        text.contains("… 30.0 s idle on stream 1 since frame 316 …"),
        "{text}"
    );
    assert!(line(959).contains("after 29.8 s idle"));
    assert!(text.contains(
        "revocation-check-during-handshake → ntlm-abandoned → tls-stalled → tcp-reset-after-idle"
    ));
    assert!(text.contains("HTTP 1.1 through proxy"));
}

#[test]
fn text_lines_come_in_the_order_of_the_told_story() {
    // The text writer batches step lines; idle lines (written on their own) and step lines
    // must still come out in the story's order: the same sequence of frames and idle texts
    // as the JSON `story` array, on the case study and with idle lines everywhere.
    for idle in ["5", "0.001"] {
        let args = |format: &'static str| {
            [
                "story",
                "--idle",
                idle,
                "--format",
                format,
                "testdata/case-study.pcapng",
            ]
        };
        let json = wiretale(&args("json"));
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let told: Vec<String> = (v["story"].as_array().unwrap().iter())
            .map(|l| match l["kind"].as_str() {
                Some("idle") => l["text"].as_str().unwrap().to_string(),
                _ => format!("Frame {}", l["frame"]),
            })
            .collect();
        let text = stdout(&wiretale(&args("text")));
        let written: Vec<String> = (text.lines())
            .filter_map(|l| {
                let l = l.trim_start();
                if l.starts_with('…') {
                    Some(l.to_string())
                } else {
                    l.starts_with("Frame ")
                        .then(|| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
                }
            })
            .collect();
        assert!(
            told.iter().filter(|t| t.starts_with('…')).count() >= 1,
            "idle {idle}"
        );
        assert_eq!(written, told, "idle {idle}");
    }
}

#[test]
fn story_json_has_the_documented_shape() {
    let out = wiretale(&["story", "--format", "json", "testdata/case-study.pcapng"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["events"].as_array().unwrap().len() > 20);
    assert!(v["stats"]["frames_read"].as_u64() == Some(959));
    let findings = v["findings"].as_array().unwrap();
    for f in findings {
        for key in [
            "id",
            "severity",
            "frame",
            "frames",
            "summary",
            "evidence",
            "suggestion",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
    }
    let abandoned = findings
        .iter()
        .find(|f| f["id"] == "ntlm-abandoned")
        .unwrap();
    assert_eq!(abandoned["severity"], "error");
    assert_eq!(
        v["root_cause"]["chain"][0].as_str(),
        Some("revocation-check-during-handshake")
    );
}

#[test]
fn fail_on_sets_exit_code_one() {
    let out = wiretale(&["story", "--fail-on", "error", "testdata/case-study.pcapng"]);
    assert_eq!(out.status.code(), Some(1));
    let out = wiretale(&[
        "story",
        "--fail-on",
        "warning",
        "testdata/tcp-basic-v4.pcap",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn mermaid_is_a_sequence_diagram() {
    let out = wiretale(&["story", "--format", "mermaid", "testdata/case-study.pcapng"]);
    let text = stdout(&out);
    assert!(text.starts_with("```mermaid\nsequenceDiagram\n"));
    assert!(text.contains("participant P1 as client 10.1.1.5"));
    assert!(text.contains(": F417 NTLM NTLM Type 2 challenge d1cb3331634e8638"));
    // The idle note is over the stalled TLS connection's parties (client and the :5061
    // server), not over those of the step before it (the proxy exchange).
    let participant = |name: &str| {
        let line = (text.lines())
            .find(|l| l.trim_start().starts_with("participant") && l.ends_with(name))
            .unwrap_or_else(|| panic!("no participant {name}"));
        line.split_whitespace().nth(1).unwrap().to_string()
    };
    let (client, server) = (
        participant("client 10.1.1.5"),
        participant("server 10.2.2.2:5061"),
    );
    let note = (text.lines())
        .find(|l| l.contains("idle on stream 1"))
        .expect("idle note");
    assert!(
        note.contains(&format!("Note over {server},{client}:"))
            || note.contains(&format!("Note over {client},{server}:")),
        "{note}"
    );
    assert!(text.trim_end().ends_with("```"));
}

#[test]
fn not_a_capture_is_exit_two_with_one_line() {
    let out = wiretale(&["story", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("wiretale: cannot read Cargo.toml: not a pcap or pcapng file (magic 0x")
    );
}

#[test]
fn set_raises_the_limit_a_finding_names() {
    let Some(capture) = support::shared("tls-fragmented-handshake.pcap") else {
        return;
    };
    let capture = capture.to_string_lossy().into_owned();
    // A 339 KB Certificate message, above the 256 KiB default.
    let o = wiretale(&["story", "--format", "json", &capture]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let limits = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "limits-reached")
        .expect("limits-reached by default");
    let suggestion = limits["suggestion"].as_str().unwrap();
    assert!(
        suggestion.contains("wiretale story --set tls.max_handshake_message="),
        "{suggestion}"
    );
    let o = wiretale(&["story", "--set", "tls.max_handshake_message=1M", &capture]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(!text.contains("limits-reached"), "{text}");
    assert!(text.contains("Certificate (1 in chain"), "{text}");
}

#[test]
fn bad_set_is_a_usage_error() {
    for spec in ["tls.max_cats=1", "tcp.max_flows=0", "http.max_headers=many"] {
        let o = wiretale(&["story", "--set", spec, "testdata/case-study.pcapng"]);
        assert_eq!(o.status.code(), Some(2), "{spec}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with("wiretale: bad --set"), "{err}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn idle_must_be_a_positive_number_of_seconds() {
    for idle in ["0", "-1", "nan", "inf", "soon"] {
        let o = wiretale(&["story", "--idle", idle, "testdata/case-study.pcapng"]);
        assert_eq!(o.status.code(), Some(2), "--idle {idle}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("expected a number of seconds above zero"),
            "{err}"
        );
        assert!(o.stdout.is_empty());
    }
    let o = wiretale(&["story", "--idle", "0.5", "testdata/case-study.pcapng"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn times_count_from_the_capture_start_filtered_or_not() {
    // As Wireshark's Time column and `timeline`: the case study's frame 303 is 45.010 s into
    // the capture, whether or not a display filter left out the steps before it.
    let relative_of_303 = |filter: Option<&str>| {
        let mut args = vec!["story", "--format", "json"];
        if let Some(f) = filter {
            args.extend(["-Y", f]);
        }
        args.push("testdata/case-study.pcapng");
        let o = wiretale(&args);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let line = (v["story"].as_array().unwrap().iter())
            .find(|l| l["frame"] == 303)
            .expect("frame 303 told")
            .clone();
        line["relative"].as_f64().unwrap()
    };
    let whole = relative_of_303(None);
    assert!((whole - 45.010).abs() < 0.001, "{whole}");
    assert_eq!(relative_of_303(Some("tcp.port==5061")), whole);
    let text = stdout(&wiretale(&[
        "story",
        "-Y",
        "tcp.port==5061",
        "testdata/case-study.pcapng",
    ]));
    assert!(text.contains("Frame 303    +45.010 s"), "{text}");
}

/// The time column is as wide as the capture's span needs, on every line (found by an
/// analyst-view audit: http-ntlm-webdav-401.pcap joins two captures 504 days apart, and the
/// columns after `+43517247.971 s` stood five characters right of those before).
#[test]
fn the_time_column_fits_the_capture_span() {
    let Some(capture) = support::shared("http-ntlm-webdav-401.pcap") else {
        return;
    };
    let out = wiretale(&["story", capture.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let columns: std::collections::BTreeSet<usize> = (text.lines())
        .filter(|l| l.starts_with("Frame "))
        .map(|l| l.find(" s  ").expect("time column"))
        .collect();
    assert_eq!(columns.len(), 1, "{columns:?}\n{text}");
    assert!(text.contains("+43517247.971 s"));
}

/// A capture with a damaged record in the middle: the story goes on after the damage (the
/// abandoned NTLM handshake of the second connection is still found), the damage is a
/// finding, a footer line and a line on stderr naming its byte offset, the JSON stats carry
/// it, and the exit code is 3; the same with and without a memory map.
#[test]
fn a_damaged_record_in_the_middle_is_skipped_and_the_rest_told() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes =
        std::fs::read(support::repo().join("testdata/ntlm-proxy-abandoned.pcap")).unwrap();
    // Classic pcap, little-endian: records from byte 24, each a 16-byte header and its data.
    let mut at = 24;
    for _ in 0..10 {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
    bytes[at + 8..at + 12].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    let path = dir.path().join("damaged.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let path = path.to_str().unwrap();
    for mmap in [false, true] {
        let mut args = vec!["story"];
        if mmap {
            args.push("--mmap");
        }
        args.push(path);
        let out = wiretale(&args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = stdout(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let skipped = 16 + caplen;
        assert!(
            stderr.contains(&format!(
                "its length field is damaged at byte offset {at}; {skipped} bytes skipped, reading resumed at byte offset {} with frame 11",
                at + skipped
            )),
            "{stderr}"
        );
        assert!(text.contains("ntlm-abandoned"), "{text}");
        assert!(text.contains("NTLM Type 2 challenge"), "{text}");
        // The story says where: between the last line before the damage and frame 11.
        let lines: Vec<&str> = text.lines().collect();
        let told = (lines.iter())
            .position(|l| {
                l.trim_start()
                    .starts_with("capture file damaged before frame 11")
            })
            .unwrap_or_else(|| panic!("{text}"));
        assert!(lines[told].contains(&format!(
            "{skipped} bytes skipped at byte offset {at}; packets there are lost (Wireshark stops reading here)"
        )));
        assert!(lines[told - 1].starts_with("Frame 10 "), "{text}");
        assert!(lines[told + 1].starts_with("Frame 11 "), "{text}");
        assert!(
            text.contains("[warning] capture-damaged  (frame 11; frames 11)"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "Damage: {skipped} bytes skipped in 1 place of the file (see the capture-damaged finding)"
            )),
            "{text}"
        );
    }
    let out = wiretale(&["story", "--format", "json", path]);
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stats = &json["stats"];
    assert_eq!(stats["damaged_places"], 1);
    assert_eq!(stats["damage"][0]["offset"], at);
    assert_eq!(stats["damage"][0]["frame"], 11);
    assert_eq!(stats["damage"][0]["resumed_at"], at + 16 + caplen);
    assert_eq!(stats["damage"][0]["kind"]["kind"], "bad_record_length");
    assert!(json["error"].is_null());
}

/// A message that did not arrive whole says so: frame 6 of http-connection-headers.pcap is a
/// response head ended by the server's FIN before its blank line (an audit found it told as
/// a plain `HTTP/1.0 200 OK`), and a capture picked up mid-connection is told as that, not
/// as "resynchronised after 0 bytes".
#[test]
fn messages_cut_short_and_connections_joined_late_say_so() {
    if let Some(capture) = support::shared("http-connection-headers.pcap") {
        let o = wiretale(&["story", capture.to_str().unwrap()]);
        let text = stdout(&o);
        let line = (text.lines())
            .find(|l| l.starts_with("Frame 6 "))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            line.ends_with("HTTP/1.0 200 OK (head cut short by FIN)"),
            "{line}"
        );
    }
    if let Some(capture) = support::shared("http-midstream-nosyn.pcap") {
        let o = wiretale(&["timeline", capture.to_str().unwrap()]);
        let text = stdout(&o);
        assert!(
            text.contains("HTTP picked up mid-connection: a message starts here"),
            "{text}"
        );
        assert!(!text.contains("after 0 bytes"), "{text}");
    }
}

/// Stream 0 of http-ntlm-wpad-401-smb.pcap (client port 1037) was picked up mid-way: only
/// the proxy's 404 and the close were captured. The proxy is a proxy on every other
/// connection, so it is called one here too (an audit found "server" on these lines and the
/// address under both `servers` and `proxies`), and the 404 its FIN completes comes before
/// that FIN, as in the frames' bytes (the order used to depend on whether the body had a
/// length).
#[test]
fn a_proxy_is_a_proxy_everywhere_and_a_message_comes_before_its_fin() {
    let Some(capture) = support::shared("http-ntlm-wpad-401-smb.pcap") else {
        return;
    };
    let o = wiretale(&["story", capture.to_str().unwrap()]);
    let text = stdout(&o);
    let servers = (text.lines())
        .find(|l| l.starts_with("  servers "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!servers.contains("192.168.75.1:3141"), "{servers}");
    assert!(text.contains("\n  proxies  192.168.75.1:3141\n"), "{text}");
    for frame in ["19", "28", "43"] {
        let lines: Vec<&str> = (text.lines())
            .filter(|l| l.starts_with(&format!("Frame {frame} ")))
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("HTTP  HTTP/1.0 404"), "{lines:?}");
        assert!(
            lines[1].ends_with("TCP   closes the connection (FIN)"),
            "{lines:?}"
        );
        assert!(lines[0].contains("proxy 192.168.75.1:3141 "), "{lines:?}");
    }
}

/// A request with Basic credentials says so, with the user name; `--show-secrets` adds the
/// password, which is otherwise never printed (an audit found the option had no visible
/// effect on text output).
#[test]
fn basic_credentials_are_named_and_shown_only_when_asked() {
    let Some(capture) = support::shared("http-basic-auth-401-browser.pcap") else {
        return;
    };
    let capture = capture.to_str().unwrap();
    let line = |args: &[&str]| {
        let text = stdout(&wiretale(args));
        (text.lines())
            .find(|l| l.starts_with("Frame 58 "))
            .unwrap_or_else(|| panic!("{text}"))
            .to_string()
    };
    let plain = line(&["story", capture]);
    assert!(
        plain.ends_with("GET /password-ok.php HTTP/1.1 with Basic credentials for user \"test\""),
        "{plain}"
    );
    let shown = line(&["story", "--show-secrets", capture]);
    assert!(
        shown.ends_with("for user \"test\", password \"fail\""),
        "{shown}"
    );
    let text = stdout(&wiretale(&["story", capture]));
    assert!(!text.contains("\"fail\""), "{text}");
}

/// Read from standard input, the story's title says so (the JSON keeps `-`, the argument).
#[test]
fn a_story_read_from_standard_input_is_titled_so() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let capture = std::fs::read(support::repo().join("testdata/tcp-basic-v4.pcap")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(["story", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&capture).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Story of standard input — "), "{text}");
}

/// The working case study's TLS connection exchanges application data right after its
/// revocation check succeeds (frames 95-98), sits idle 9 s, then exchanges more (145-146).
/// Each turn is told at its own frame, in order, and the pause is told as idle time; the
/// whole exchange was one line per side at frames 145 and 146 before, after the CRL
/// connection's close, as though the client had waited 9 s to use the connection.
#[test]
fn application_data_is_told_turn_by_turn_where_it_was_sent() {
    let out = wiretale(&["story", "testdata/case-study-working.pcapng"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let tls: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("10.2.2.2:5061") && l.contains("Application Data"))
        .collect();
    let frames: Vec<&str> = tls
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(frames, ["95", "96", "97", "98", "145", "146"], "{text}");
    assert!(tls[0].contains("client 10.1.1.7:1221 → server 10.2.2.2:5061"));
    assert!(
        tls[0].ends_with("Application Data: 1 record, 612 bytes"),
        "{}",
        tls[0]
    );
    assert!(tls[1].contains("server 10.2.2.2:5061 → client 10.1.1.7:1221"));
    // Right after the CRL fetch's 200 OK (frame 93), before its connection closes (106).
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {text}"))
    };
    assert!(at("Frame 93 ") < at("Frame 95 ") && at("Frame 98 ") < at("Frame 106 "));
    assert!(
        text.contains("… 9.2 s idle on stream 1 since frame 98 …"),
        "{text}"
    );
}

/// A protocol wiretale does not decode is still told, turn by turn: SMTP's banner, commands and
/// replies with their first lines, and PPTP's binary control messages by their sizes (both
/// used to read as a silence between the handshake and the FIN).
#[test]
fn protocols_not_decoded_are_told_turn_by_turn() {
    let Some(capture) = support::shared("ntlm-synthetic-http-negotiate-multi.pcap") else {
        return;
    };
    let text = stdout(&wiretale(&["story", capture.to_str().unwrap()]));
    let smtp: Vec<&str> = (text.lines())
        .filter(|l| l.contains("10.10.11.1:25 ") && l.contains(" TCP "))
        .map(|l| l.split("  TCP   ").nth(1).unwrap_or(l))
        .collect();
    assert_eq!(
        smtp,
        [
            "starts 3-way handshake",
            "Data: 28 bytes, not decoded: \"220 mail.example.com ESMTP\"",
            "Data: 25 bytes, not decoded: \"EHLO client.example.com\"",
            "Data: 45 bytes, not decoded: \"250-mail.example.com\"",
            "Data: 11 bytes, not decoded: \"AUTH NTLM\"",
            "Data: 6 bytes, not decoded: \"334\"",
            "Data: 78 bytes, not decoded: \"TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1NNVFBE…\"",
            "Data: 106 bytes, not decoded: \"334 TlRMTVNTUAACAAAADgAOADgAAAAFAgACASNFZ4mrze8AAAAAAAAAAAQA…\"",
            "Data: 258 bytes, not decoded: \"TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAA4ADgCIAAAACAAIAJYAAAAQ…\"",
            "Data: 31 bytes, not decoded: \"235 Authentication successful\"",
            "Data: 6 bytes, not decoded: \"QUIT\"",
            "Data: 9 bytes, not decoded: \"221 Bye\"",
            "closes the connection (FIN)",
            "closes the connection (FIN)",
        ],
        "{text}"
    );
    let Some(capture) = support::shared("bigendian-pptp-tcp.pcap") else {
        return;
    };
    let text = stdout(&wiretale(&["story", capture.to_str().unwrap()]));
    let told: Vec<(&str, &str)> = (text.lines())
        .filter(|l| l.starts_with("Frame "))
        .map(|l| {
            let frame = l.split_whitespace().nth(1).unwrap_or("");
            (frame, l.split("  TCP   ").nth(1).unwrap_or(l))
        })
        .collect();
    assert_eq!(
        told,
        [
            ("1", "starts 3-way handshake"),
            ("5", "Data: 156 bytes, not decoded"),
            ("8", "Data: 156 bytes, not decoded"),
            ("10", "Data: 168 bytes, not decoded"),
            ("13", "Data: 32 bytes, not decoded"),
            ("15", "Data: 24 bytes, not decoded"),
            ("19", "closes the connection (FIN)"),
            ("21", "closes the connection (FIN)"),
        ],
        "{text}"
    );
}
