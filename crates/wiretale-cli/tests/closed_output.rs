//! `wiretale … | head`: when the reader of the output goes away, every command stops quietly
//! with exit code 0 (as `grep` does), instead of reporting a broken pipe.

mod support;

use std::io::{BufWriter, Read};
use std::process::{Command, Stdio};
use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};

/// Runs `wiretale args… capture`, reads the first bytes of its output, closes the pipe and
/// gives the exit code and stderr.
fn run_and_close_early(args: &[&str], capture: &std::path::Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(args)
        .arg(capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wiretale");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("wait");
    (status.code(), stderr)
}

#[test]
fn every_command_stops_quietly_when_its_output_is_closed() {
    // Far more output than a pipe buffers (64 KiB), so every command is still writing when
    // the pipe closes: 3 000 connections make ~300 kB of story and ~250 kB of flows.
    let dir = tempfile::tempdir().expect("temporary directory");
    let capture = dir.path().join("many.pcap");
    let file = std::fs::File::create(&capture).expect("create capture");
    write_workload(
        Shape::ManyConns,
        Size::Connections(3_000),
        Format::Pcap,
        BufWriter::new(file),
    )
    .expect("write workload");
    for args in [
        &["story"][..],
        &["story", "--format", "json"],
        &["flows"],
        &["flows", "--format", "json"],
        &["frames"],
        &["timeline", "--format", "jsonl"],
        &["http"],
    ] {
        let (code, stderr) = run_and_close_early(args, &capture);
        assert_eq!(code, Some(0), "{args:?}: stderr {stderr:?}");
        assert!(stderr.is_empty(), "{args:?}: stderr {stderr:?}");
    }
}
