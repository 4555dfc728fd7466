//! `wiretale frames`: one line per frame.

use super::common;
use crate::cli::{FramesArgs, LineFormat};
use crate::exit::{CliError, Outcome};
use crate::output;
use serde::Serialize;
use std::io::Write;
use wiretale::timeline::{Event, EventSink, FrameFilter, FrameSummary};

struct FrameWriter<W: Write> {
    out: W,
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
    info: &'a str,
    skipped: Option<wiretale::net::SkipReason>,
    cap_len: u32,
    len: u32,
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
                &mut self.out,
                &FrameJson {
                    frame: f.frame,
                    time: f.time.as_secs_f64(),
                    stream: f.stream,
                    src: &f.src,
                    dst: &f.dst,
                    protocol: &f.protocol,
                    flags: f.flags.as_deref(),
                    tcp_len: f.tcp_len,
                    info: &f.info,
                    skipped: f.skipped,
                    cap_len: f.cap_len,
                    len: f.len,
                },
            ),
            LineFormat::Text => writeln!(
                self.out,
                "{:>7} {:>12.6} {:>22} → {:<22} {:<6} {}",
                f.frame, f.relative_time, f.src, f.dst, f.protocol, f.info
            ),
        };
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
        out: output::stdout(),
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
    sink.out.flush()?;
    Ok(common::finish(&args.capture, &report))
}
