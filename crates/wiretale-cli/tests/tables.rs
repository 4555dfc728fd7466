//! `wiretale tls|http|ntlm`: the real binary on `testdata/` and the shared captures.

mod support;

use support::{repo, shared, wiretale};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(args: &[&str]) -> Value {
    let o = wiretale(args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

#[test]
fn tls_table_on_the_case_study() {
    let o = wiretale(&["tls", "testdata/case-study.pcapng"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "10.1.1.5:1161",
        "→ 10.2.2.2:5061",
        "TLS_RSA_WITH_RC4_128_SHA",
        "CN ocs.fg.example.com",
        "CRL http://crl.verisign.com/pca3.crl",
        "OCSP http://ocsp.verisign.com",
        "asked; client sent none",
        "complete in 97 ms",
        "frames 306–316",
        "server RST after 29.8 s idle (frame 959)",
        "30.0 s after the last TLS message",
        "1 TLS connection: 1 completed the handshake, 0 did not",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn tls_json() {
    let v = json(&["tls", "--format", "json", "testdata/tls-alert.pcap"]);
    let rows = v["connections"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["sni"], "legacy.example.com");
    assert_eq!(row["handshake"]["completed"], false);
    assert_eq!(row["alerts"][0]["description_name"], "handshake_failure");
    assert_eq!(row["alerts"][0]["by"], "server");
    assert_eq!(row["alerts"][0]["frame"], 6);

    let v = json(&["tls", "--format", "json", "testdata/https-connect.pcap"]);
    let row = &v["connections"][0];
    assert_eq!(row["tunnel"], "secure.example.com:443");
    assert_eq!(row["server"], "10.3.3.3:8080");
    assert_eq!(row["server_application_data"]["bytes"], 3248);
    assert!(row["ja3"].as_str().is_some_and(|h| h.len() == 32));
}

#[test]
fn tls_table_shows_an_incomplete_handshake() {
    let o = wiretale(&["tls", "testdata/tls-alert.pcap"]);
    let text = stdout(&o);
    assert!(text.contains("INCOMPLETE"), "{text}");
    assert!(
        text.contains("fatal handshake_failure (40) by server, frame 6"),
        "{text}"
    );
    assert!(
        text.contains("0 completed the handshake, 1 did not"),
        "{text}"
    );
}

#[test]
fn http_table_on_the_case_study() {
    let o = wiretale(&["http", "testdata/case-study.pcapng"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "proxy 10.3.3.3:8080",
        "GET http://crl.verisign.com/pca3.crl",
        "HTTP/1.0, absolute-form (to a proxy)",
        "HTTP/1.1 407 Proxy Authentication Required",
        "← Proxy-Authenticate offers NTLM, BASIC realm=\"FG\"",
        "→ Proxy-Authorization: NTLM Type 1",
        "← Proxy-Authenticate offers NTLM Type 2",
        "no (HTTP/1.0 default)",
        "server FIN (frame 409)",
        "client FIN (frame 418)",
        "4 HTTP exchanges",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let v = json(&["http", "--format", "json", "testdata/case-study.pcapng"]);
    let rows = v["exchanges"].as_array().unwrap();
    let frames: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["request_frame"].as_u64().unwrap(),
                r["response_frame"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(frames, [(123, 125), (407, 408), (416, 417), (703, 705)]);
    assert_eq!(rows[1]["status"], 407);
    assert_eq!(rows[1]["server_is_proxy"], true);
    assert_eq!(rows[1]["version"], "HTTP/1.0");
    assert_eq!(rows[2]["credentials"][0]["ntlm_message_type"], 1);
    assert_eq!(rows[0]["server_is_proxy"], false);
}

#[test]
fn http_table_marks_connect_and_basic_users() {
    let v = json(&["http", "--format", "json", "testdata/https-connect.pcap"]);
    let row = &v["exchanges"][0];
    assert_eq!(row["method"], "CONNECT");
    assert_eq!(row["target_form"], "authority");
    assert_eq!(row["tunnel"], "secure.example.com:443");
    let Some(path) = shared("squid-basic-proxy-auth-rejected-curl.pcap") else {
        return;
    };
    let o = wiretale(&["http", path.to_str().unwrap()]);
    let text = stdout(&o);
    assert!(
        text.contains("→ Proxy-Authorization: Basic user labuser"),
        "{text}"
    );
}

#[test]
fn ntlm_table_on_the_case_study() {
    let o = wiretale(&["ntlm", "testdata/case-study.pcapng"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "Proxy-Authorization",
        "frame 416",
        "domain MAPLE",
        "workstation T6CK943Y",
        "frame 417",
        "challenge d1cb3331634e8638",
        "target FG",
        "abandoned after Type 2",
        "connection: client FIN (frame 418)",
        "1 NTLM exchange: 0 authenticated",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let v = json(&[
        "ntlm",
        "--format",
        "json",
        "testdata/ntlm-proxy-auth-ok.pcap",
    ]);
    let row = &v["exchanges"][0];
    assert_eq!(row["outcome"]["result"], "authenticated");
    assert_eq!(row["outcome"]["status"], 200);
    assert_eq!(row["authenticate"]["user"], "jdoe");
    assert_eq!(row["authenticate"]["response"], "NTLMv2");
    assert_eq!(row["type3_on_other_connection"], false);
}

#[test]
fn ntlm_table_without_type2() {
    let Some(path) = shared("squid-ntlm-http10-challenge-withheld-curl.pcap") else {
        return;
    };
    let o = wiretale(&["ntlm", path.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("no Type 2 (407 at frame 6)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn tables_on_every_shared_capture() {
    let Some(dir) = shared("MANIFEST.md").and_then(|p| p.parent().map(Path::to_path_buf)) else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        for command in ["tls", "http", "ntlm"] {
            let o = wiretale(&[command, "--format", "json", file.to_str().unwrap()]);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{command} {}: {}",
                file.display(),
                stderr(&o)
            );
            let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
            assert!(v.is_object(), "{command} {}", file.display());
        }
    }
}

#[test]
fn exit_codes() {
    // Not a capture.
    let o = wiretale(&["tls", "testdata/README.md"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("wiretale: cannot read"),
        "{}",
        stderr(&o)
    );
    let o = wiretale(&["http", "no/such/file.pcap"]);
    assert_eq!(o.status.code(), Some(2));

    // Damaged part-way: the rows before the damage are printed, exit 3.
    let bytes = std::fs::read(repo().join("testdata/case-study.pcapng")).unwrap();
    let damaged = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("case-study-cut.pcapng");
    std::fs::write(&damaged, &bytes[..bytes.len() - 40]).unwrap();
    let o = wiretale(&["ntlm", damaged.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("abandoned after Type 2"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("were analysed"), "{}", stderr(&o));

    // A file whose only record is shorter than an Ethernet header is still a complete
    // capture (tshark reads its one frame): nothing is damaged.
    if let Some(path) = shared("corrupt-trunc-hdr.pcap") {
        let o = wiretale(&["tls", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("0 TLS connections"));
    }
}
