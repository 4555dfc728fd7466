//! `wiretale frames`: one line per frame.

use super::common;
use crate::cli::{FramesArgs, LineFormat};
use crate::exit::{CliError, Outcome};
use crate::output;
use serde::Serialize;
use std::io::Write;
use wiretale::tcp::{Marker, SegmentAnalysis};
use wiretale::timeline::{Event, EventSink, FrameFilter, FrameSummary};

struct FrameWriter<W: Write> {
    out: output::Batched<W>,
    format: LineFormat,
    filter: Option<FrameFilter>,
    error: Option<std::io::Error>,
}

#[derive(Serialize)]
struct FrameJson<'a> {
    frame: u64,
    time: f64,
    stream: Option<u64>,
    src: &'a str,
    dst: &'a str,
    protocol: &'a str,
    flags: Option<&'a str>,
    tcp_len: Option<u32>,
    tcp_analysis: Option<AnalysisJson>,
    duplicate_ack: Option<DupAckJson>,
    info: &'a str,
    skipped: Option<wiretale::net::SkipReason>,
    cap_len: u32,
    len: u32,
}

/// tshark's TCP analysis markers of a frame, as the names of their `tcp.analysis.*` fields
/// (`["window_update"]`), in the order tshark prints them; serialized without a list.
struct AnalysisJson(SegmentAnalysis);

impl Serialize for AnalysisJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.markers().map(Marker::field_name))
    }
}

/// A duplicate ACK's numbers: tshark's `tcp.analysis.duplicate_ack_frame` and `_num`.
#[derive(Serialize)]
struct DupAckJson {
    frame: u64,
    num: u32,
}

/// `{:>7} {:>12.6} {:>22} → {:<22} {:<6} {}`: frame, seconds since the first frame,
/// source, destination, protocol and info, built by hand (see [`output::push_fixed`]).
fn push_text_line(b: &mut Vec<u8>, f: &FrameSummary) -> std::io::Result<()> {
    let mut frame = itoa::Buffer::new();
    let frame = frame.format(f.frame);
    output::pad(b, 7usize.saturating_sub(frame.len()));
    b.extend_from_slice(frame.as_bytes());
    b.push(b' ');
    output::push_fixed(
        b,
        f.relative_time,
        12,
        output::Decimals::Six,
        output::Sign::Negative,
    )?;
    b.push(b' ');
    // Padding counts characters, as `format!` does.
    output::pad(b, 22usize.saturating_sub(f.src.chars().count()));
    b.extend_from_slice(f.src.as_bytes());
    b.extend_from_slice(" → ".as_bytes());
    b.extend_from_slice(f.dst.as_bytes());
    output::pad(b, 22usize.saturating_sub(f.dst.chars().count()));
    b.push(b' ');
    b.extend_from_slice(f.protocol.as_bytes());
    output::pad(b, 6usize.saturating_sub(f.protocol.chars().count()));
    b.push(b' ');
    b.extend_from_slice(f.info.as_bytes());
    b.push(b'\n');
    Ok(())
}

impl<W: Write> EventSink for FrameWriter<W> {
    fn event(&mut self, e: &Event) {
        if let Some(filter) = &mut self.filter {
            filter.note_event(e);
        }
    }
    fn frame(&mut self, f: &FrameSummary) {
        if let Some(filter) = &mut self.filter {
            if !filter.matches(f) {
                return;
            }
        }
        if self.error.is_some() {
            return;
        }
        let result = match self.format {
            LineFormat::Jsonl => output::json_line(
                self.out.lines(),
                &FrameJson {
                    frame: f.frame,
                    time: f.time.as_secs_f64(),
                    stream: f.stream,
                    src: &f.src,
                    dst: &f.dst,
                    protocol: &f.protocol,
                    flags: f.flags.as_deref(),
                    tcp_len: f.tcp_len,
                    tcp_analysis: f.tcp_analysis.map(AnalysisJson),
                    duplicate_ack: f
                        .tcp_analysis
                        .and_then(|a| a.dup_ack())
                        .map(|d| DupAckJson {
                            frame: d.frame,
                            num: d.number,
                        }),
                    info: &f.info,
                    skipped: f.skipped,
                    cap_len: f.cap_len,
                    len: f.len,
                },
            ),
            LineFormat::Text => push_text_line(self.out.lines(), f),
        };
        let result = result.and_then(|()| self.out.write_if_full());
        if let Err(e) = result {
            self.error = Some(e);
        }
    }
    fn wants_frames(&self) -> bool {
        true
    }
}

pub fn run(args: &FramesArgs) -> Result<Outcome, CliError> {
    let filter = common::filter(&args.filter)?;
    let mut sink = FrameWriter {
        out: output::Batched::new(output::stdout()),
        format: args.format,
        filter: filter.map(FrameFilter::new),
        error: None,
    };
    let report = common::analyse(&args.capture, &mut sink)?;
    if let Some(e) = sink.error.take() {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(Outcome::Ok);
        }
        return Err(e.into());
    }
    sink.out.finish()?;
    Ok(common::finish(&args.capture, &report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretale::pipeline::{analyze_path, AnalyzerConfig};
    use wiretale::timeline::Collector;

    /// Every frame of every testdata capture (TCP, other IP, non-IP, skipped, several link
    /// types) makes the line `format!` made before [`push_text_line`].
    #[test]
    fn text_lines_are_the_formatted_ones() {
        let mut frames = 0;
        for path in crate::test_support::testdata_captures() {
            let mut c = Collector {
                keep_frames: true,
                ..Collector::default()
            };
            let _ = analyze_path(&path, &AnalyzerConfig::default(), &mut c);
            for f in &c.frames {
                let mut line = Vec::new();
                push_text_line(&mut line, f).unwrap();
                assert_eq!(
                    String::from_utf8(line).unwrap(),
                    format!(
                        "{:>7} {:>12.6} {:>22} → {:<22} {:<6} {}\n",
                        f.frame, f.relative_time, f.src, f.dst, f.protocol, f.info
                    ),
                    "{}",
                    path.display()
                );
                frames += 1;
            }
        }
        assert!(frames > 1000, "{frames} frames");
    }
}
