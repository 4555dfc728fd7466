//! `wiretale flows`: one row per TCP connection.

use super::common;
use crate::cli::{FlowsArgs, TableFormat};
use crate::exit::{CliError, Outcome};
use crate::grid;
use crate::output;
use std::collections::BTreeMap;
use std::io::Write;
use wiretale::pipeline::Stats;
use wiretale::tcp::{Dir, Ending, FlowSummary};
use wiretale::timeline::EventSink;

/// Keeps the flow summaries for the text table (it needs every row to align the columns).
#[derive(Default)]
struct FlowSink {
    flows: Vec<FlowSummary>,
}

impl EventSink for FlowSink {
    fn flow(&mut self, flow: &FlowSummary) {
        self.flows.push(flow.clone());
    }
}

/// Writes the JSON document's flows as the analysis retires them, in stream order: a summary
/// waits only while an earlier stream is still open, so memory follows the connections open
/// at a time, not the capture's size.
struct JsonFlowWriter<W: Write> {
    out: W,
    waiting: BTreeMap<u64, FlowSummary>,
    next: u64,
    written: u64,
    error: Option<std::io::Error>,
}

impl<W: Write> JsonFlowWriter<W> {
    fn new(mut out: W) -> Self {
        let error = out.write_all(br#"{"flows":["#).err();
        JsonFlowWriter {
            out,
            waiting: BTreeMap::new(),
            next: 0,
            written: 0,
            error,
        }
    }

    fn write(&mut self, flow: &FlowSummary) {
        if self.error.is_some() {
            return;
        }
        let result = (|| {
            if self.written > 0 {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, flow).map_err(std::io::Error::from)
        })();
        self.written += 1;
        self.error = result.err();
    }

    /// Writes every summary that is next in stream order.
    fn release(&mut self) {
        while let Some(flow) = self.waiting.remove(&self.next) {
            self.write(&flow);
            self.next = flow.stream.saturating_add(1);
        }
    }

    /// Writes what is left (in order) and the rest of the document.
    fn finish(mut self, stats: &Stats) -> std::io::Result<W> {
        for (_, flow) in std::mem::take(&mut self.waiting) {
            self.write(&flow);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.write_all(br#"],"stats":"#)?;
        serde_json::to_writer(&mut self.out, stats)?;
        self.out.write_all(b"}\n")?;
        Ok(self.out)
    }
}

impl<W: Write> EventSink for JsonFlowWriter<W> {
    fn flow(&mut self, flow: &FlowSummary) {
        if flow.stream == self.next {
            self.write(flow);
            self.next = flow.stream.saturating_add(1);
            self.release();
        } else {
            self.waiting.insert(flow.stream, flow.clone());
        }
    }
}

pub fn run(args: &FlowsArgs) -> Result<Outcome, CliError> {
    let report = match args.format {
        TableFormat::Json => {
            let mut sink = JsonFlowWriter::new(output::stdout());
            let report = common::analyse(&args.capture, &mut sink)?;
            let mut out = sink.finish(&report.stats)?;
            out.flush()?;
            report
        }
        TableFormat::Text => {
            let mut sink = FlowSink::default();
            let report = common::analyse(&args.capture, &mut sink)?;
            sink.flows.sort_by_key(|f| f.stream);
            let mut out = output::stdout();
            table(&mut out, &sink.flows, report.stats.first_time)?;
            writeln!(
                out,
                "{} connections, {} frames ({} TCP, {} not analysed)",
                sink.flows.len(),
                report.stats.frames_read,
                report.stats.frames_tcp,
                report.stats.frames_skipped()
            )?;
            out.flush()?;
            report
        }
    };
    Ok(common::finish(&args.capture, &report))
}

fn table<W: Write>(
    out: &mut W,
    flows: &[FlowSummary],
    start: Option<wiretale::capture::Timestamp>,
) -> std::io::Result<()> {
    let header = [
        "stream",
        "client",
        "server",
        "start s",
        "duration s",
        "pkts →",
        "pkts ←",
        "bytes →",
        "bytes ←",
        "history",
        "ended",
    ];
    grid::write_table(out, &header, &[0, 3, 4, 5, 6, 7, 8], flows, |f, c| {
        let rel = start.map(|s| f.start.seconds_since(s)).unwrap_or(0.0);
        c.set(0, f.stream);
        if f.role_basis.is_guess() {
            c.set(1, format_args!("{} (?)", f.client));
        } else {
            c.set(1, f.client);
        }
        c.set(2, f.server);
        c.set(3, output::secs(rel));
        c.set(4, output::secs(f.duration_secs));
        c.set(5, f.to_server.packets);
        c.set(6, f.to_client.packets);
        c.set(7, output::bytes(f.to_server.payload_bytes));
        c.set(8, output::bytes(f.to_client.payload_bytes));
        c.set(9, &f.history);
        c.set(10, ending(&f.ending));
    })
}

fn who(dir: Dir) -> &'static str {
    match dir {
        Dir::ToServer => "client",
        Dir::ToClient => "server",
    }
}

fn ending(e: &Ending) -> String {
    match e {
        Ending::Fin { first, both } => {
            if *both {
                format!("FIN ({} first)", who(*first))
            } else {
                format!("FIN by {} only", who(*first))
            }
        }
        Ending::Rst {
            by,
            frame,
            idle_secs,
        } => format!(
            "RST by {} (frame {frame}, after {idle_secs:.1} s idle)",
            who(*by)
        ),
        Ending::Open => "open at end".to_string(),
        Ending::Evicted => "evicted (table cap)".to_string(),
    }
}
