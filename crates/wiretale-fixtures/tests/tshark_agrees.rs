//! Checks the generated captures against TShark (run with `-- --ignored`; needs `tshark`).
//!
//! For every scenario and frame: TShark's `tcp.stream` equals the one documented, every
//! `tshark: MESSAGE` note of the frame is among TShark's expert messages for it, every TShark
//! warning or error is documented by such a note, and TShark finds no malformed packet and no
//! bad IPv4/TCP/UDP checksum (checksum validation is switched on).

use std::collections::BTreeMap;
use std::process::Command;

use wiretale_fixtures::scenarios;

const WARN: u32 = 0x0060_0000;

struct TsharkFrame {
    stream: Option<u32>,
    /// (severity, message)
    expert: Vec<(u32, String)>,
    malformed: bool,
}

fn tshark(path: &std::path::Path) -> BTreeMap<u32, TsharkFrame> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .args(["-o", "tcp.desegment_tcp_streams:TRUE"])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=\u{1}",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "tcp.stream",
            "-e",
            "_ws.expert.severity",
            "-e",
            "_ws.expert.message",
        ])
        .args(["-e", "_ws.malformed"])
        .output()
        .expect("tshark on the PATH");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut frames = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let number: u32 = cols[0].parse().unwrap();
        let stream = cols
            .get(1)
            .filter(|s| !s.is_empty())
            .map(|s| s.split('\u{1}').next().unwrap().parse().unwrap());
        let sev: Vec<u32> = cols.get(2).filter(|s| !s.is_empty()).map_or(vec![], |s| {
            s.split('\u{1}').map(|v| v.parse().unwrap()).collect()
        });
        let msg: Vec<String> = cols
            .get(3)
            .filter(|s| !s.is_empty())
            .map_or(vec![], |s| s.split('\u{1}').map(str::to_owned).collect());
        let malformed = cols.get(4).is_some_and(|s| !s.is_empty());
        frames.insert(
            number,
            TsharkFrame {
                stream,
                expert: sev.into_iter().zip(msg).collect(),
                malformed,
            },
        );
    }
    frames
}

#[test]
#[ignore = "needs tshark on the PATH"]
fn tshark_agrees_with_the_readme() {
    let dir = std::env::temp_dir().join(format!("wiretale-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut problems = Vec::new();
    for s in scenarios::all() {
        let path = dir.join(s.file_name);
        std::fs::write(&path, s.bytes().unwrap()).unwrap();
        let ts = tshark(&path);
        assert_eq!(
            ts.len(),
            s.capture.frames().len(),
            "{}: frame count",
            s.file_name
        );
        for f in s.capture.frames() {
            let t = &ts[&f.number];
            let at = format!("{} frame {}", s.file_name, f.number);
            if t.stream != f.tcp_stream {
                problems.push(format!(
                    "{at}: tcp.stream tshark {:?}, documented {:?}",
                    t.stream, f.tcp_stream
                ));
            }
            if t.malformed {
                problems.push(format!("{at}: malformed"));
            }
            let notes: Vec<&str> = f
                .notes
                .iter()
                .filter_map(|n| n.split("tshark: ").nth(1))
                .collect();
            for n in &notes {
                if !t.expert.iter().any(|(_, m)| m.contains(n)) {
                    problems.push(format!(
                        "{at}: documented `{n}` but tshark says {:?}",
                        t.expert
                    ));
                }
            }
            for (sev, m) in &t.expert {
                let bad_checksum = m.to_lowercase().contains("checksum");
                if bad_checksum || (*sev >= WARN && !notes.iter().any(|n| m.contains(n))) {
                    problems.push(format!(
                        "{at}: undocumented tshark expert info `{m}` (severity {sev:#x})"
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
