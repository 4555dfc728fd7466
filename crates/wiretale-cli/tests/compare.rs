//! `wiretale compare` run as a user runs it: the real binary, real captures from `testdata/`.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn wiretale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(args)
        .output()
        .expect("run wiretale")
}

fn path(name: &str) -> String {
    testdata(name).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn different_captures_exit_1_and_name_the_first_departure() {
    let o = wiretale(&[
        "compare",
        &path("case-study-working.pcapng"),
        &path("case-study.pcapng"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("First departure — proxy :8080 HTTP crl.verisign.com/pca3.crl"),
        "{text}"
    );
    assert!(text.contains("with NTLM Type 3  (frame 92)"), "{text}");
    assert!(
        text.contains("failing:  client closes the connection (FIN)  (frame 418)"),
        "{text}"
    );
    assert!(text.contains("HTTP version: working HTTP/1.1, failing HTTP/1.0"));
    assert!(text.contains("[error] ntlm-abandoned"));
    assert!(text.contains("sat idle 30.0 s in the failing capture (frames 316 → 959)"));
    assert!(text.contains("Result: the captures differ"));
}

#[test]
fn identical_captures_exit_0() {
    let p = path("case-study.pcapng");
    let o = wiretale(&["compare", &p, &p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("Result: no meaningful difference (exit 0)."),
        "{text}"
    );
    assert!(!text.contains('≠'), "{text}");
}

#[test]
fn errors_exit_2() {
    let good = path("case-study.pcapng");
    let missing = path("no-such-capture.pcap");
    let o = wiretale(&["compare", &good, &missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    let not_a_capture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("Cargo.toml")
        .display()
        .to_string();
    let o = wiretale(&["compare", &not_a_capture, &good]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a pcap or pcapng file"),
        "{}",
        stderr(&o)
    );

    let o = wiretale(&["compare", "-", "-"]);
    assert_eq!(o.status.code(), Some(2));
    let o = wiretale(&["compare", &good]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a missing argument is a usage error"
    );
    let o = wiretale(&["compare", "--slower-factor", "-1", &good, &good]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn json_has_the_documented_shape() {
    let o = wiretale(&[
        "compare",
        "--format",
        "json",
        &path("case-study-working.pcapng"),
        &path("case-study.pcapng"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(v["different"], true);
    assert_eq!(v["working"]["frames"], 151);
    assert_eq!(v["failing"]["frames"], 959);
    assert_eq!(v["failing"]["conversations"], 4);
    assert!(v["working"]["capture"]
        .as_str()
        .unwrap()
        .ends_with("case-study-working.pcapng"));
    let first = &v["first_departure"];
    assert_eq!(
        first["conversation"],
        "proxy :8080 HTTP crl.verisign.com/pca3.crl"
    );
    // The first departure is the failing client's HTTP/1.0 request (frame 407) ...
    assert!(first["after"].is_null());
    assert_eq!(first["failing"]["frame"], 407);
    assert_eq!(first["failing"]["actor"], "client");
    assert!(first["failing"]["text"]
        .as_str()
        .unwrap()
        .ends_with("HTTP/1.0"));
    assert_eq!(first["working"]["frame"], 88);
    assert!(first["working"]["text"]
        .as_str()
        .unwrap()
        .ends_with("HTTP/1.1"));
    assert_eq!(
        first["attribute_differences"][0]["attribute"],
        "http_version"
    );
    assert_eq!(first["attribute_differences"][1]["attribute"], "keep_alive");
    assert!(first["summary"].as_str().unwrap().contains("frame 407"));

    let convs = v["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 4);
    for c in convs {
        for key in [
            "label",
            "matched_by",
            "working",
            "failing",
            "aligned_steps",
            "departure",
            "attribute_differences",
            "timing",
            "sequence_departure",
        ] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
        assert_eq!(c["matched_by"], "identity");
        assert!(c["working"]["identity"]["service_port"].is_u64());
    }
    let tls = convs
        .iter()
        .find(|c| c["label"] == "server :5061 TLS")
        .unwrap();
    assert_eq!(tls["timing"][0]["kind"], "idle");
    assert_eq!(tls["departure"]["failing"]["frame"], 959);
    let proxy = convs
        .iter()
        .find(|c| c["label"] == "proxy :8080 HTTP crl.verisign.com/pca3.crl")
        .unwrap();
    assert_eq!(proxy["failing"]["connections"], 2);
    assert!(proxy["attribute_differences"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["attribute"] == "http_version" && a["failing"] == "HTTP/1.0"));
    for a in proxy["attribute_differences"].as_array().unwrap() {
        for key in [
            "step",
            "failing_step",
            "actor",
            "working_frame",
            "failing_frame",
        ] {
            assert!(a.get(key).is_some(), "{key} missing in {a}");
        }
    }
    assert_eq!(proxy["departure"], *first);
    // ... then the steps part where the client closes instead of answering the challenge.
    let parts = &proxy["sequence_departure"];
    assert_eq!(parts["after"]["failing_frame"], 417);
    assert_eq!(parts["after"]["failing_text"], parts["after"]["text"]);
    assert_eq!(parts["failing"]["frame"], 418);
    assert_eq!(parts["working"]["frame"], 92);
    assert!(parts["summary"].as_str().unwrap().contains("NTLM Type 3"));
    assert_eq!(parts["attribute_differences"], serde_json::json!([]));
    assert_eq!(tls["sequence_departure"], tls["departure"]);

    let mut only_failing: Vec<&str> = v["findings_only_in_failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    only_failing.sort_unstable();
    assert_eq!(
        only_failing,
        vec![
            "ntlm-abandoned",
            "revocation-check-during-handshake",
            "tcp-reset-after-idle",
            "tls-stalled"
        ]
    );
    assert_eq!(v["only_in_working"], serde_json::json!([]));
    assert_eq!(v["only_in_failing"], serde_json::json!([]));
}

#[test]
fn json_of_identical_captures_exits_0() {
    let p = path("ntlm-proxy-auth-ok.pcap");
    let o = wiretale(&["compare", "--format", "json", &p, &p]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["different"], false);
    assert!(v["first_departure"].is_null());
}

#[test]
fn a_capture_on_standard_input_works() {
    let bytes = std::fs::read(testdata("ntlm-proxy-abandoned.pcap")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(["compare", &path("ntlm-proxy-auth-ok.pcap"), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("paired as the only proxy :8080 HTTP conversation"));
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let o = wiretale(&["compare", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("WORKING") && text.contains("FAILING"));
    assert!(text.contains("Examples:"));
    assert!(text.contains(
        "wiretale compare testdata/case-study-working.pcapng testdata/case-study.pcapng"
    ));
    assert!(text.contains("0 no meaningful difference, 1 the captures differ, 2 error"));
}

/// A capture compared with a copy of itself whose record 11 has a damaged length: the damage
/// is said beside the copy's name and on stderr, but it is not a difference between the
/// captures (exit 0): the records after it were read, and `capture-damaged` is about the
/// file, not the traffic.
#[test]
fn a_damaged_copy_of_a_capture_does_not_differ_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(testdata("ntlm-proxy-abandoned.pcap")).unwrap();
    let mut at = 24;
    for _ in 0..10 {
        at += 16 + u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    let skipped = 16 + u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
    bytes[at + 8..at + 12].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    let damaged = dir.path().join("damaged.pcap");
    std::fs::write(&damaged, &bytes).unwrap();
    let damaged = damaged.to_str().unwrap();
    let intact = path("ntlm-proxy-abandoned.pcap");
    let o = wiretale(&["compare", &intact, damaged]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!(
            "(20 frames, 1 conversation; damaged, {skipped} bytes skipped)"
        )),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("its length field is damaged"),
        "{}",
        stderr(&o)
    );
    let o = wiretale(&["compare", "--format", "json", &intact, damaged]);
    assert_eq!(o.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["failing"]["damaged_bytes"], skipped);
    assert_eq!(json["working"]["damaged_bytes"], 0);
    assert_eq!(json["different"], false);
}

/// Every line of `text` that contains `needle`.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

/// The case study: frame 407 of the failing capture is `GET … HTTP/1.0`. It is the first
/// departure, and no line shows it in the working capture's words (HTTP/1.1).
#[test]
fn the_case_study_departs_at_the_http_10_request_in_each_sides_words() {
    let o = wiretale(&[
        "compare",
        &path("case-study-working.pcapng"),
        &path("case-study.pcapng"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    let first: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("First departure"))
        .take(10)
        .collect();
    assert_eq!(
        first,
        vec![
            "First departure — proxy :8080 HTTP crl.verisign.com/pca3.crl",
            "  both:     (nothing in common before it)",
            "  working:  client sends GET http://crl.verisign.com/pca3.crl HTTP/1.1  (frame 88)",
            "  failing:  client sends GET http://crl.verisign.com/pca3.crl HTTP/1.0  (frame 407)",
            "  differs:  request HTTP version: working HTTP/1.1, failing HTTP/1.0",
            "            request keep-alive: working yes (HTTP/1.1 with Proxy-Connection: keep-alive), failing no (HTTP/1.0 default)",
            "  then the steps part:",
            "    both:     proxy answers HTTP/1.1 407 Proxy Authentication Required (offers NTLM) with NTLM Type 2 challenge  (working frame 91, failing frame 417)",
            "    working:  client sends GET http://crl.verisign.com/pca3.crl HTTP/1.1 with NTLM Type 3  (frame 92)",
            "    failing:  client closes the connection (FIN)  (frame 418)",
        ],
        "{text}"
    );
    for frame in ["(frame 407)", "(frame 416)"] {
        let lines = lines_with(&text, frame);
        assert!(!lines.is_empty(), "{frame}: {text}");
        for l in lines {
            assert!(l.contains("HTTP/1.0"), "{l}");
        }
    }
    assert!(
        !text.contains("↔ 407)") && !text.contains("↔ 416)"),
        "{text}"
    );
    // The keep-alive blocks say whose message it is.
    assert!(text.contains(
        "      request keep-alive: working yes (HTTP/1.1 with Proxy-Connection: keep-alive), failing no (HTTP/1.0 default)"
    ));
    assert!(text.contains(
        "      response keep-alive: working yes (HTTP/1.1 with Connection: keep-alive), failing no (Connection: close)\n          proxy answers HTTP/1.1 407 Proxy Authentication Required (offers NTLM, BASIC)  (frames 89 ↔ 408)"
    ), "{text}");
}

/// The audit's squid pair: frame 4 is `GET … HTTP/1.1` in the working capture and
/// `GET … HTTP/1.0` in the failing one, so the captures depart there, before the 407, and
/// "both:" never shows one side's request as the other's.
#[test]
fn the_squid_pair_departs_at_the_http_10_request_not_after_it() {
    let (Some(working), Some(failing)) = (
        support::shared("squid-ntlm-proxy-auth-ok-curl.pcap"),
        support::shared("squid-ntlm-http10-challenge-withheld-curl.pcap"),
    ) else {
        return;
    };
    let (working, failing) = (working.display().to_string(), failing.display().to_string());
    let o = wiretale(&["compare", &working, &failing]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    let first: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("First departure"))
        .take(11)
        .collect();
    assert_eq!(
        first,
        vec![
            "First departure — proxy :3128 HTTP crl.verisign.com/pca3.crl",
            "  both:     (nothing in common before it)",
            "  working:  client sends GET http://crl.verisign.com/pca3.crl HTTP/1.1 with NTLM Type 1  (frame 4)",
            "  failing:  client sends GET http://crl.verisign.com/pca3.crl HTTP/1.0 with NTLM Type 1  (frame 4)",
            "  differs:  request HTTP version: working HTTP/1.1, failing HTTP/1.0",
            "            request keep-alive: working yes (HTTP/1.1 with Proxy-Connection: keep-alive), failing no (HTTP/1.0 default)",
            "  then the steps part:",
            "    both:     working: client sends GET http://crl.verisign.com/pca3.crl HTTP/1.1 with NTLM Type 1  (frame 4)",
            "              failing: client sends GET http://crl.verisign.com/pca3.crl HTTP/1.0 with NTLM Type 1  (frame 4)",
            "    working:  proxy answers HTTP/1.1 407 Proxy Authentication Required (offers NTLM) with NTLM Type 2 challenge  (frame 6)",
            "    failing:  proxy answers HTTP/1.1 407 Proxy Authentication Required (offers Basic)  (frame 6)",
        ],
        "{text}"
    );
    assert!(!text.contains("(frames 4 ↔ 4)"), "{text}");
    assert!(text.contains(
        "          failing: client sends GET http://crl.verisign.com/pca3.crl HTTP/1.0 with NTLM Type 1  (frame 4)\n\nOnly in the working capture"
    ), "{text}");

    let o = wiretale(&["compare", "--format", "json", &working, &failing]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = &v["first_departure"];
    assert!(first["after"].is_null());
    assert_eq!(first["failing"]["frame"], 4);
    assert!(first["failing"]["text"]
        .as_str()
        .unwrap()
        .contains("HTTP/1.0"));
    let parts = &v["conversations"][0]["sequence_departure"];
    assert!(parts["after"]["text"]
        .as_str()
        .unwrap()
        .contains("HTTP/1.1"));
    assert!(parts["after"]["failing_text"]
        .as_str()
        .unwrap()
        .contains("HTTP/1.0"));
    assert_eq!(parts["failing"]["frame"], 6);
    for a in v["conversations"][0]["attribute_differences"]
        .as_array()
        .unwrap()
    {
        assert!(
            a["failing_step"].as_str().unwrap().contains("HTTP/1.0"),
            "{a}"
        );
        assert_eq!(a["actor"], "client");
    }
}

/// Paired conversations that fetch different URLs: each side's request in its own words.
#[test]
fn requests_for_other_urls_are_shown_in_each_sides_words() {
    let o = wiretale(&[
        "compare",
        &path("ntlm-proxy-auth-ok.pcap"),
        &path("ntlm-proxy-abandoned.pcap"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(
            "  failing:  client sends GET http://crl.example.com/ca.crl HTTP/1.0  (frame 4)"
        ),
        "{text}"
    );
    assert!(text.contains(
        "          failing: client sends GET http://crl.example.com/ca.crl HTTP/1.0 with NTLM Type 1  (frame 15)"
    ), "{text}");
    for l in lines_with(&text, "(frame 15)") {
        assert!(l.contains("crl.example.com"), "{l}");
    }
}

/// Two clients that offer different things in their Client Hello: the count of cipher suites
/// (GREASE left out), the ALPN list and the JA4 fingerprint are properties of the Client
/// Hello, so a failing client that offers less shows it where it differs.
#[test]
fn client_hellos_that_offer_differently_are_told_apart() {
    let (Some(working), Some(failing)) = (
        support::shared("tls12-openssl.pcap"),
        support::shared("tls11-openssl.pcap"),
    ) else {
        return;
    };
    let (working, failing) = (working.display().to_string(), failing.display().to_string());
    let o = wiretale(&["compare", &working, &failing]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("      cipher suites offered: working 74, failing 46\n"),
        "{text}"
    );
    assert!(
        text.contains("      Client Hello (JA4): working t12i740500_c43983326036_3eafcbe19126, failing t11i460400_234845559c90_282f11336259\n"),
        "{text}"
    );
    // Both offer no ALPN: no difference to show.
    assert!(!text.contains("ALPN offered"), "{text}");
    let o = wiretale(&["compare", "--format", "json", &working, &failing]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let attributes: Vec<&str> = json["conversations"][0]["attribute_differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["attribute"].as_str())
        .collect();
    assert!(
        attributes.contains(&"tls_offered_cipher_suites")
            && attributes.contains(&"tls_client_hello_ja4"),
        "{attributes:?}"
    );
}
