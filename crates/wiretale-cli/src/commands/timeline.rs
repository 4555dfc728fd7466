//! `wiretale timeline`: every event, in order.

use super::common;
use crate::cli::{LineFormat, TimelineArgs};
use crate::exit::{CliError, Outcome};
use crate::output;
use std::io::Write;
use wiretale::capture::Timestamp;
use wiretale::timeline::{Event, EventFilter, EventSink};

struct EventWriter<W: Write> {
    out: W,
    /// JSON lines not yet written to `out`: they are built here and go out a batch at a
    /// time (serde_json writing each key and value through `out` cost a copy call each).
    lines: Vec<u8>,
    format: LineFormat,
    filter: Option<EventFilter>,
    /// Time of the first event (shown or not): times are relative to it, filter or no filter.
    first: Option<Timestamp>,
    error: Option<std::io::Error>,
}

impl<W: Write> EventWriter<W> {
    /// Bytes of JSON lines held before they are written.
    const BATCH: usize = 1 << 16;

    /// Writes the held JSON lines when they are at least `at_least` bytes.
    fn write_lines(&mut self, at_least: usize) -> std::io::Result<()> {
        if self.lines.len() >= at_least.max(1) {
            self.out.write_all(&self.lines)?;
            self.lines.clear();
        }
        Ok(())
    }
}

impl<W: Write> EventSink for EventWriter<W> {
    fn event(&mut self, e: &Event) {
        let first = *self.first.get_or_insert(e.time);
        if let Some(filter) = &mut self.filter {
            if !filter.matches(e) {
                return;
            }
        }
        if self.error.is_some() {
            return;
        }
        let result = match self.format {
            LineFormat::Jsonl => e.write_json(&mut self.lines).and_then(|()| {
                self.lines.push(b'\n');
                self.write_lines(Self::BATCH)
            }),
            LineFormat::Text => {
                let stream = e.stream.map(|s| s.to_string()).unwrap_or_default();
                let src = e.src.map(|a| a.to_string()).unwrap_or_default();
                let dst = e.dst.map(|a| a.to_string()).unwrap_or_default();
                let tunnel = e
                    .tunnel
                    .as_deref()
                    .map(|t| format!(" [in tunnel to {t}]"))
                    .unwrap_or_default();
                writeln!(
                    self.out,
                    "Frame {:<6} {:>+10.3} s  #{:<4} {:>22} → {:<22} {:<4} {}{}",
                    e.frame,
                    e.time.seconds_since(first),
                    stream,
                    src,
                    dst,
                    e.proto().to_uppercase(),
                    e.summary(),
                    tunnel
                )
            }
        };
        if let Err(err) = result {
            self.error = Some(err);
        }
    }
}

pub fn run(args: &TimelineArgs) -> Result<Outcome, CliError> {
    let filter = common::filter(&args.filter)?;
    let mut config = common::config(&args.capture)?;
    config.show_secrets = args.show_secrets;
    let mut sink = EventWriter {
        out: output::stdout(),
        lines: Vec::with_capacity(EventWriter::<std::io::Stdout>::BATCH + 4096),
        format: args.format,
        filter: filter.map(EventFilter::new),
        first: None,
        error: None,
    };
    let report = common::analyse_with(&args.capture, config, &mut sink)?;
    if let Some(e) = sink.error.take() {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(Outcome::Ok);
        }
        return Err(e.into());
    }
    sink.write_lines(0)?;
    sink.out.flush()?;
    Ok(common::finish(&args.capture, &report))
}
