//! `wiretale flows`: one row per TCP connection.

use super::common;
use crate::cli::{FlowsArgs, TableFormat};
use crate::exit::{CliError, Outcome};
use crate::grid;
use crate::output;
use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use wiretale::capture::Timestamp;
use wiretale::pipeline::Stats;
use wiretale::tcp::{Dir, Ending, FlowSummary};
use wiretale::timeline::EventSink;

/// Hands flow summaries on in stream order as the analysis retires them: a summary waits only
/// while an earlier stream is still open, so memory follows the connections open at a time,
/// not the capture's size.
#[derive(Default)]
struct StreamOrder {
    waiting: BTreeMap<u64, FlowSummary>,
    next: u64,
}

impl StreamOrder {
    fn offer(&mut self, flow: &FlowSummary, mut write: impl FnMut(&FlowSummary)) {
        if flow.stream != self.next {
            self.waiting.insert(flow.stream, flow.clone());
            return;
        }
        write(flow);
        self.next = flow.stream.saturating_add(1);
        while let Some(flow) = self.waiting.remove(&self.next) {
            write(&flow);
            self.next = flow.stream.saturating_add(1);
        }
    }

    /// What is left, in order.
    fn drain(&mut self, mut write: impl FnMut(&FlowSummary)) {
        for (_, flow) in std::mem::take(&mut self.waiting) {
            write(&flow);
        }
    }
}

/// The text table's columns.
const HEADER: [&str; 11] = [
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
/// Columns aligned right.
const RIGHT: [usize; 7] = [0, 3, 4, 5, 6, 7, 8];
/// "start s": relative to the capture's first frame, known only at the end.
const START: usize = 3;

/// The text table of a capture with any number of connections: each row is formatted once
/// as its connection retires (in stream order), measured, and written to an anonymous
/// temporary file; once the analysis is over (and the capture's start is known) the file is
/// read back and printed with the columns aligned. Memory: the start time of each row (16
/// bytes) and the connections open at a time.
struct TextRows {
    rows: Spill,
    starts: Vec<Timestamp>,
    layout: grid::Layout,
    cells: grid::Cells,
    order: StreamOrder,
    error: Option<std::io::Error>,
}

/// Where the formatted rows wait: a temporary file, or memory if none can be made.
enum Spill {
    File(std::io::BufWriter<std::fs::File>),
    Memory(Vec<u8>),
}

impl TextRows {
    fn new() -> Self {
        let rows = match tempfile::tempfile() {
            Ok(f) => Spill::File(std::io::BufWriter::with_capacity(1 << 16, f)),
            Err(_) => Spill::Memory(Vec::new()),
        };
        TextRows {
            rows,
            starts: Vec::new(),
            layout: grid::Layout::new(&HEADER, &RIGHT),
            cells: grid::Cells::new(HEADER.len()),
            order: StreamOrder::default(),
            error: None,
        }
    }

    fn add(&mut self, f: &FlowSummary) {
        fill(f, None, &mut self.cells);
        self.layout.measure(&self.cells);
        self.starts.push(f.start);
        let mut record = Vec::new();
        for (i, cell) in self.cells.as_slice().iter().enumerate() {
            if i != START {
                record.extend_from_slice(&(cell.len() as u32).to_le_bytes());
                record.extend_from_slice(cell.as_bytes());
            }
        }
        let written = match &mut self.rows {
            Spill::File(w) => w.write_all(&record),
            Spill::Memory(v) => {
                v.extend_from_slice(&record);
                Ok(())
            }
        };
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }

    /// Prints the table; `start` is the capture's first frame time.
    fn finish<W: Write>(mut self, out: &mut W, start: Option<Timestamp>) -> std::io::Result<u64> {
        let mut order = std::mem::take(&mut self.order);
        order.drain(|f| self.add(f));
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let relative =
            |t: Timestamp| output::secs(start.map(|s| t.seconds_since(s)).unwrap_or(0.0));
        for t in &self.starts {
            self.layout.widen(START, relative(*t).chars().count());
        }
        let mut reader: Box<dyn std::io::Read> = match self.rows {
            Spill::File(w) => {
                let mut file = w.into_inner().map_err(|e| e.into_error())?;
                file.seek(std::io::SeekFrom::Start(0))?;
                Box::new(std::io::BufReader::with_capacity(1 << 16, file))
            }
            Spill::Memory(v) => Box::new(std::io::Cursor::new(v)),
        };
        self.layout.write_header(out, &HEADER)?;
        let mut cells = grid::Cells::new(HEADER.len());
        for t in &self.starts {
            for i in 0..HEADER.len() {
                if i == START {
                    cells.set(i, relative(*t));
                    continue;
                }
                let mut len = [0u8; 4];
                reader.read_exact(&mut len)?;
                let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
                reader.read_exact(&mut bytes)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| std::io::Error::other("flows table spill file damaged"))?;
                *cells.cell(i) = text;
            }
            self.layout.write_row(out, &cells)?;
        }
        self.layout.write_footer(out)?;
        Ok(self.starts.len() as u64)
    }
}

impl EventSink for TextRows {
    fn flow(&mut self, flow: &FlowSummary) {
        let mut order = std::mem::take(&mut self.order);
        order.offer(flow, |f| self.add(f));
        self.order = order;
    }
}

/// Writes the JSON document's flows as the analysis retires them, in stream order: a summary
/// waits only while an earlier stream is still open, so memory follows the connections open
/// at a time, not the capture's size.
struct JsonFlowWriter<W: Write> {
    out: W,
    order: StreamOrder,
    written: u64,
    error: Option<std::io::Error>,
}

impl<W: Write> JsonFlowWriter<W> {
    fn new(mut out: W) -> Self {
        let error = out.write_all(br#"{"flows":["#).err();
        JsonFlowWriter {
            out,
            order: StreamOrder::default(),
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

    /// Writes what is left (in order) and the rest of the document.
    fn finish(mut self, stats: &Stats) -> std::io::Result<W> {
        let mut order = std::mem::take(&mut self.order);
        order.drain(|f| self.write(f));
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
        let mut order = std::mem::take(&mut self.order);
        order.offer(flow, |f| self.write(f));
        self.order = order;
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
            let mut sink = TextRows::new();
            let report = common::analyse(&args.capture, &mut sink)?;
            let mut out = output::stdout();
            let connections = sink.finish(&mut out, report.stats.first_time)?;
            writeln!(
                out,
                "{} connections, {} frames ({} TCP, {} not analysed)",
                connections,
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

/// One row's cells; "start s" only when the capture's start is known.
fn fill(f: &FlowSummary, start: Option<Timestamp>, c: &mut grid::Cells) {
    c.set(0, f.stream);
    if f.role_basis.is_guess() {
        c.set(1, format_args!("{} (?)", f.client));
    } else {
        c.set(1, f.client);
    }
    c.set(2, f.server);
    match start {
        Some(s) => c.set(START, output::secs(f.start.seconds_since(s))),
        None => c.cell(START).clear(),
    }
    c.set(4, output::secs(f.duration_secs));
    c.set(5, f.to_server.packets);
    c.set(6, f.to_client.packets);
    c.set(7, output::bytes(f.to_server.payload_bytes));
    c.set(8, output::bytes(f.to_client.payload_bytes));
    c.set(9, &f.history);
    c.set(10, ending(&f.ending));
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

#[cfg(test)]
mod tests {
    use super::*;
    use wiretale::pipeline::{analyze_path, AnalyzerConfig};
    use wiretale::timeline::Collector;

    /// The table of the case study with the summaries handed over in `order`.
    fn table(in_memory: bool, order: &[usize]) -> String {
        let capture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/case-study.pcapng"
        );
        let mut collector = Collector::default();
        let report = analyze_path(capture, &AnalyzerConfig::default(), &mut collector).unwrap();
        let mut rows = TextRows::new();
        if in_memory {
            rows.rows = Spill::Memory(Vec::new());
        }
        for &i in order {
            rows.flow(&collector.flows[i]);
        }
        let mut out = Vec::new();
        let n = rows.finish(&mut out, report.stats.first_time).unwrap();
        assert_eq!(n, collector.flows.len() as u64);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rows_arriving_out_of_order_are_printed_in_stream_order_from_file_or_memory() {
        let in_order = table(false, &[0, 1, 2, 3, 4]);
        for order in [[4, 3, 2, 1, 0], [1, 0, 3, 4, 2]] {
            assert_eq!(table(false, &order), in_order, "{order:?}");
            assert_eq!(table(true, &order), in_order, "{order:?} in memory");
        }
        let streams: Vec<&str> = in_order
            .lines()
            .filter(|l| l.starts_with('│') && !l.contains("stream"))
            .filter_map(|l| l.trim_start_matches('│').split('┆').next())
            .map(str::trim)
            .collect();
        assert_eq!(streams, ["0", "1", "2", "3", "4"]);
    }
}
