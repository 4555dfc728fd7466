//! Zero-window episodes as a user reads them: the real binary's story, timeline, flows and
//! findings on a receive window that closed and reopened (the shared corpus's
//! `tcp-zerowindow-recovery.pcapng`) and on one that never reopened before the peer reset the
//! connection (built here with the fixture crate).

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{assert_same_run, wiretale};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `args` and expects exit code `code`.
fn run(args: &[&str], code: i32) -> Output {
    let out = wiretale(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The lines of a story or timeline text that start with `Frame N `.
fn at_frame(text: &str, frame: u64) -> Vec<&str> {
    let prefix = format!("Frame {frame} ");
    text.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// tcp-zerowindow-recovery.pcapng: the client (192.168.0.20:2235) advertises a zero window at
/// frame 4 and reopens it (Win=64240) at frame 5, 10 ms later; the server then sends again.
#[test]
fn a_window_that_closed_and_reopened_is_told_found_and_summarised() {
    let Some(capture) = support::shared("tcp-zerowindow-recovery.pcapng") else {
        return;
    };
    let capture = capture.to_str().unwrap();

    let text = stdout(&run(&["story", capture], 0));
    let step = |frame| {
        let lines = at_frame(&text, frame);
        assert_eq!(lines.len(), 1, "frame {frame}: {text}");
        lines[0].to_string()
    };
    assert!(
        step(4).contains("client 192.168.0.20:2235 → server 192.168.0.30:1720")
            && step(4)
                .ends_with("TCP   client's receive window is full (zero window): server must wait"),
        "{text}"
    );
    assert!(
        step(5).ends_with("TCP   client reopens its receive window after 10 ms"),
        "{text}"
    );
    assert!(
        text.contains("[info] tcp-zero-window  (frame 4; frames 4, 5; stream 0)"),
        "{text}"
    );
    assert!(
        text.contains(
            "The client (192.168.0.20:2235) briefly stalled stream 0: it advertised a zero receive window at frame 4 and reopened it 10 ms later (frame 5); the server had to wait."
        ),
        "{text}"
    );
    assert!(
        text.contains("- Frame 5: the client reopens its window after 10 ms (window update)"),
        "{text}"
    );

    let json: Value =
        serde_json::from_slice(&run(&["story", "--format", "json", capture], 0).stdout)
            .expect("story JSON");
    let finding = (json["findings"].as_array().unwrap().iter())
        .find(|f| f["id"] == "tcp-zero-window")
        .expect("the finding");
    assert_eq!(finding["severity"], "info");
    assert_eq!(finding["frames"], serde_json::json!([4, 5]));
    assert_eq!(finding["facts"]["by"], "client");
    assert_eq!(finding["facts"]["reopened_frame"], "5");
    let story_texts: Vec<(u64, &str)> = (json["story"].as_array().unwrap().iter())
        .map(|l| (l["frame"].as_u64().unwrap(), l["text"].as_str().unwrap()))
        .collect();
    assert!(
        story_texts.contains(&(
            4,
            "client's receive window is full (zero window): server must wait"
        )),
        "{story_texts:?}"
    );

    let timeline = stdout(&run(&["timeline", capture], 0));
    assert!(
        at_frame(&timeline, 4)
            .iter()
            .any(|l| l.ends_with("client's receive window is full (zero window): server must wait")),
        "{timeline}"
    );
    assert!(
        at_frame(&timeline, 5)
            .iter()
            .any(|l| l.ends_with("client reopens its receive window after 10 ms")),
        "{timeline}"
    );
    let jsonl = stdout(&run(&["timeline", "--format", "jsonl", capture], 0));
    let events: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let kinds: Vec<(u64, &str)> = events
        .iter()
        .map(|e| (e["frame"].as_u64().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (4, "zero_window"),
            (5, "window_reopened"),
            // The server's bytes after the reopening (port 1720 is not decoded).
            (7, "data"),
            (7, "open_at_end")
        ]
    );
    assert_eq!(events[0]["dir"], "to_server");
    assert_eq!(events[0]["src"], "192.168.0.20:2235");
    assert_eq!(events[1]["probes"], 0);
    let closed = events[1]["closed_secs"].as_f64().unwrap();
    assert!((closed - 0.010005).abs() < 1e-9, "{closed}");

    let flows: Value =
        serde_json::from_slice(&run(&["flows", "--format", "json", capture], 0).stdout).unwrap();
    let zw = &flows["flows"][0]["zero_window"];
    assert!(zw.get("to_client").is_none(), "{zw}");
    let client = &zw["to_server"];
    assert_eq!(client["episodes"], 1);
    assert_eq!(client["not_reported"], 0);
    assert_eq!(client["closed_at_end"], false);
    assert_eq!(client["probes"], 0);
    assert_eq!(client["first"]["frame"], 4);
    assert_eq!(client["first"]["reopened_frame"], 5);
    assert_eq!(client["longest"], client["first"]);
    assert_eq!(client["last"], client["first"]);

    // Byte for byte the same with two threads.
    for args in [
        &["story", "--format", "json", capture][..],
        &["timeline", "--format", "jsonl", capture],
        &["flows", "--format", "json", capture],
    ] {
        let one = wiretale(&[args, &["--threads", "1"]].concat());
        let two = wiretale(&[args, &["--threads", "2"]].concat());
        assert_same_run(&one, &two, &format!("{args:?} --threads 2"));
    }
}

/// Writes a capture in which the client's window closes while the server still has data for
/// it and stays closed (two one-byte probes from the server go unanswered) until the server
/// resets the connection 20 s later. Gives the frames of the zero window and the RST.
fn write_reset_while_closed(path: &Path) -> (u32, u32) {
    use std::time::Duration;
    use wiretale_fixtures::payloads::http;
    use wiretale_fixtures::{Capture, Dir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        "10.0.0.5:50000".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    s.handshake(&mut cap);
    let get = http::request("GET", "/report.csv", "HTTP/1.1", &[("Host", "files")], b"");
    s.send(&mut cap, Dir::ToServer, &get);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    s.send(
        &mut cap,
        Dir::ToClient,
        &[&head[..], &[b'x'; 3000]].concat(),
    );
    let zero = s.zero_window(&mut cap, Dir::ToServer);
    for _ in 0..2 {
        cap.advance(Duration::from_secs(5));
        s.keepalive(&mut cap, Dir::ToClient, true);
    }
    cap.advance(Duration::from_secs(10));
    let rst = s.rst(&mut cap, Dir::ToClient);
    let bytes = cap.to_pcap(&PcapOptions::default()).expect("capture");
    std::fs::write(path, bytes).expect("write the capture");
    (zero, rst)
}

/// The application stopped reading: the window never reopened and the server reset the
/// connection. The story tells the zero window and the reset; the finding is a warning that
/// names both frames, so `--fail-on warning` fails.
#[test]
fn a_window_still_closed_when_the_peer_resets_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reset-while-closed.pcap");
    let (zero, rst) = write_reset_while_closed(&path);
    let path = path.to_str().unwrap();
    let text = stdout(&run(&["story", path], 0));
    let zero_line = at_frame(&text, u64::from(zero));
    assert!(
        zero_line.len() == 1
            && zero_line[0]
                .ends_with("client's receive window is full (zero window): server must wait"),
        "{text}"
    );
    assert!(
        at_frame(&text, u64::from(rst))
            .iter()
            .any(|l| l.contains("server 10.0.0.1:80 ") && l.contains("RESETS")),
        "{text}"
    );
    assert!(!text.contains("reopens"), "{text}");
    assert!(
        text.contains(&format!(
            "[warning] tcp-zero-window  (frame {zero}; frames {zero}, {rst}; stream 0)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "The client (10.0.0.5:50000) stopped reading stream 0: it advertised a zero receive window at frame {zero} and had not reopened it when the server reset the connection at frame {rst}, 20.0 s later."
        )),
        "{text}"
    );
    assert!(
        text.contains("- 2 zero-window probes from the server while the window was closed"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "- The window never reopened: the server reset the connection at frame {rst}, 20.0 s after frame {zero}"
        )),
        "{text}"
    );
    run(&["story", "--fail-on", "warning", path], 1);

    let flows: Value =
        serde_json::from_slice(&run(&["flows", "--format", "json", path], 0).stdout).unwrap();
    let client = &flows["flows"][0]["zero_window"]["to_server"];
    assert_eq!(client["closed_at_end"], true, "{client}");
    assert_eq!(client["probes"], 2);
    assert_eq!(client["last"]["frame"], zero);
    assert_eq!(client["last"]["reopened_frame"], Value::Null);
    let one = wiretale(&["story", "--format", "json", path, "--threads", "1"]);
    let two = wiretale(&["story", "--format", "json", path, "--threads", "2"]);
    assert_same_run(&one, &two, "story --threads 2");
}
