//! `wiretale flows`: the real binary on `testdata/`.

mod support;

use support::wiretale;

use serde_json::Value;

/// Stream 1 of the case study (the TLS connection to 5061) stays open until frame 959 while
/// streams 2.. open and close: the JSON writer must hold their summaries back and still
/// print every stream once, in order.
#[test]
fn json_lists_every_stream_once_in_order_even_when_an_early_one_closes_last() {
    let o = wiretale(&["flows", "--format", "json", "testdata/case-study.pcapng"]);
    assert_eq!(o.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    let flows = doc["flows"].as_array().expect("flows array");
    let streams: Vec<u64> = flows
        .iter()
        .map(|f| f["stream"].as_u64().expect("stream"))
        .collect();
    let expected: Vec<u64> = (0..streams.len() as u64).collect();
    assert_eq!(streams, expected);
    assert!(streams.len() > 3);
    let rst = &flows[1];
    assert_eq!(rst["server"], "10.2.2.2:5061");
    assert_eq!(rst["last_frame"], 959);
    assert!(rst["last_frame"].as_u64() > flows[2]["last_frame"].as_u64());
    assert_eq!(
        doc["stats"]["frames_read"].as_u64(),
        Some(959),
        "stats follow the flows"
    );
}

#[test]
fn text_table_has_one_aligned_row_per_stream() {
    let o = wiretale(&["flows", "testdata/case-study.pcapng"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("│")).collect();
    let json = wiretale(&["flows", "--format", "json", "testdata/case-study.pcapng"]);
    let doc: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let n = doc["flows"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(rows.len(), n + 1, "header plus one row per stream");
    let width = rows[0].chars().count();
    assert!(rows.iter().all(|r| r.chars().count() == width), "{text}");
    assert!(rows[2].contains("10.2.2.2:5061") && rows[2].contains("RST by server"));
    assert!(text
        .lines()
        .last()
        .is_some_and(|l| l.starts_with(&format!("{n} connections, 959 frames"))));
}

/// A table with a guessed row explains its `(?)` mark once, under the table; one without does
/// not, and the count line says "1 connection" (an audit found "1 connections" and no legend).
#[test]
fn a_guessed_role_is_explained_and_counts_read_as_english() {
    if let Some(capture) = support::shared("http-midstream-nosyn.pcap") {
        let o = wiretale(&["flows", capture.to_str().unwrap()]);
        let text = String::from_utf8(o.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().any(|l| l.contains(":59856 (?)")), "{text}");
        assert_eq!(
            lines[lines.len() - 2..],
            [
                "1 connection, 11 frames (11 TCP, 0 not analysed)",
                "(?): no SYN seen; client and server guessed from the ports or the first packet"
            ],
            "{text}"
        );
    }
    let o = wiretale(&["flows", "testdata/case-study.pcapng"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(!text.contains("(?)"), "{text}");
    assert!(
        text.ends_with("5 connections, 959 frames (48 TCP, 911 not analysed)\n"),
        "{text}"
    );
}
