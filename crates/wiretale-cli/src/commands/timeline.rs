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
    format: LineFormat,
    filter: Option<EventFilter>,
    /// Time of the first event (shown or not): times are relative to it, filter or no filter.
    first: Option<Timestamp>,
    error: Option<std::io::Error>,
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
            LineFormat::Jsonl => output::json_line(&mut self.out, e),
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
    sink.out.flush()?;
    Ok(common::finish(&args.capture, &report))
}
