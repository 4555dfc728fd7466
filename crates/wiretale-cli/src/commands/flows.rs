//! `wiretale flows`: one row per TCP connection.

use super::common;
use crate::cli::{FlowsArgs, TableFormat};
use crate::exit::{CliError, Outcome};
use crate::grid;
use crate::ordered;
use crate::output;
use std::io::Write;
use wiretale::capture::Timestamp;
use wiretale::net::SocketAddrText;
use wiretale::pipeline::Stats;
use wiretale::tcp::{Dir, Ending, FlowSummary};
use wiretale::timeline::EventSink;

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
/// as its connection retires, measured, and kept on disk ([`ordered::ByKey`]); once the
/// analysis is over (and the capture's start is known) the rows are printed in stream order
/// with the columns aligned. Memory: a run of rows being gathered, whatever their number; the
/// start time is in the record, and the start column's width follows from the earliest and
/// latest start alone
/// (relative seconds grow with the time, and their text's width with their magnitude).
struct TextRows {
    rows: ordered::ByKey,
    layout: grid::Layout,
    cells: grid::Cells,
    record: Vec<u8>,
    /// Earliest and latest connection start.
    starts: Option<(Timestamp, Timestamp)>,
    /// Some row's roles are a guess (marked `(?)`): the footer says what the mark means.
    guessed: bool,
}

impl TextRows {
    fn new() -> Self {
        TextRows {
            rows: ordered::ByKey::new(),
            layout: grid::Layout::new(&HEADER, &RIGHT),
            cells: grid::Cells::new(HEADER.len()),
            record: Vec::new(),
            starts: None,
            guessed: false,
        }
    }

    /// Prints the table; `start` is the capture's first frame time. Gives the row count.
    fn finish<W: Write>(mut self, out: &mut W, start: Option<Timestamp>) -> std::io::Result<u64> {
        let seconds = |t: Timestamp| start.map(|s| t.seconds_since(s)).unwrap_or(0.0);
        if let Some((earliest, latest)) = self.starts {
            for t in [earliest, latest] {
                self.layout.widen(START, output::secs(seconds(t)).len());
            }
        }
        let count = self.rows.len();
        self.layout.write_header(out, &HEADER)?;
        let mut cells = grid::Cells::new(HEADER.len());
        let layout = &self.layout;
        self.rows.for_each(|record| {
            let damaged = || std::io::Error::other("flows table spill file damaged");
            let (secs, record) = record.split_first_chunk::<8>().ok_or_else(damaged)?;
            let (nanos, mut record) = record.split_first_chunk::<4>().ok_or_else(damaged)?;
            let t = Timestamp {
                secs: i64::from_le_bytes(*secs),
                nanos: u32::from_le_bytes(*nanos),
            };
            for i in 0..HEADER.len() {
                if i == START {
                    output::push_secs(cells.cell(i), seconds(t));
                    continue;
                }
                let (len, rest) = record.split_first_chunk::<4>().ok_or_else(damaged)?;
                let len = u32::from_le_bytes(*len) as usize;
                let text = rest.get(..len).ok_or_else(damaged)?;
                let cell = cells.cell(i);
                cell.push_str(std::str::from_utf8(text).map_err(|_| damaged())?);
                record = rest.get(len..).unwrap_or_default();
            }
            layout.write_row(out, &cells)
        })?;
        self.layout.write_footer(out)?;
        Ok(count)
    }
}

impl EventSink for TextRows {
    fn flow(&mut self, f: &FlowSummary) {
        self.guessed |= f.role_basis.is_guess();
        fill(f, None, &mut self.cells);
        self.layout.measure(&self.cells);
        self.starts = Some(match self.starts {
            None => (f.start, f.start),
            Some((earliest, latest)) => (earliest.min(f.start), latest.max(f.start)),
        });
        self.record.clear();
        self.record.extend_from_slice(&f.start.secs.to_le_bytes());
        self.record.extend_from_slice(&f.start.nanos.to_le_bytes());
        for (i, cell) in self.cells.as_slice().iter().enumerate() {
            if i != START {
                self.record
                    .extend_from_slice(&(cell.len() as u32).to_le_bytes());
                self.record.extend_from_slice(cell.as_bytes());
            }
        }
        self.rows.push((f.stream, 0), &self.record);
    }
}

/// The JSON document: each flow serialised as its connection retires and kept on disk
/// ([`ordered::ByKey`]), written in stream order once the analysis is over, so memory
/// does not follow the connections open at a time either (a stream that stays open to the end
/// would have held back every later one).
struct JsonFlows {
    flows: ordered::ByKey,
    record: Vec<u8>,
}

impl JsonFlows {
    fn new() -> Self {
        JsonFlows {
            flows: ordered::ByKey::new(),
            record: Vec::new(),
        }
    }

    /// Writes the document.
    fn finish<W: Write>(self, out: &mut W, stats: &Stats) -> std::io::Result<()> {
        out.write_all(br#"{"flows":["#)?;
        let mut first = true;
        self.flows.for_each(|record| {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            out.write_all(record)
        })?;
        out.write_all(br#"],"stats":"#)?;
        serde_json::to_writer(&mut *out, stats)?;
        out.write_all(b"}\n")
    }
}

impl EventSink for JsonFlows {
    fn flow(&mut self, flow: &FlowSummary) {
        self.record.clear();
        // Serialising a summary into a vector cannot fail (no map with non-string keys).
        if serde_json::to_writer(&mut self.record, flow).is_ok() {
            self.flows.push((flow.stream, 0), &self.record);
        }
    }
}

pub fn run(args: &FlowsArgs) -> Result<Outcome, CliError> {
    let report = match args.format {
        TableFormat::Json => {
            let mut sink = JsonFlows::new();
            let report = common::analyse(&args.capture, &mut sink)?;
            let mut out = output::stdout();
            sink.finish(&mut out, &report.stats)?;
            out.flush()?;
            report
        }
        TableFormat::Text => {
            let mut sink = TextRows::new();
            let report = common::analyse(&args.capture, &mut sink)?;
            let mut out = output::stdout();
            let guessed = sink.guessed;
            let connections = sink.finish(&mut out, report.stats.first_time)?;
            writeln!(
                out,
                "{} connection{}, {} frames ({} TCP, {} not analysed)",
                connections,
                if connections == 1 { "" } else { "s" },
                report.stats.frames_read,
                report.stats.frames_tcp,
                report.stats.frames_skipped()
            )?;
            if guessed {
                writeln!(
                    out,
                    "(?): no SYN seen; client and server guessed from the ports or the first packet"
                )?;
            }
            out.flush()?;
            report
        }
    };
    Ok(common::finish(&args.capture, &report))
}

/// One row's cells; "start s" only when the capture's start is known. Built by hand: with
/// `format!` and `Display` (addresses, seconds, byte counts) the cells cost a fifth of `flows`
/// on a capture of short connections.
fn fill(f: &FlowSummary, start: Option<Timestamp>, c: &mut grid::Cells) {
    c.cell(0).push_str(itoa::Buffer::new().format(f.stream));
    let client = c.cell(1);
    client.push_str(SocketAddrText::new(&f.client).as_str());
    if f.role_basis.is_guess() {
        client.push_str(" (?)");
    }
    c.cell(2).push_str(SocketAddrText::new(&f.server).as_str());
    let started = c.cell(START);
    if let Some(s) = start {
        output::push_secs(started, f.start.seconds_since(s));
    }
    output::push_secs(c.cell(4), f.duration_secs);
    c.cell(5)
        .push_str(itoa::Buffer::new().format(f.to_server.packets));
    c.cell(6)
        .push_str(itoa::Buffer::new().format(f.to_client.packets));
    output::push_bytes(c.cell(7), f.to_server.payload_bytes);
    output::push_bytes(c.cell(8), f.to_client.payload_bytes);
    c.cell(9).push_str(&f.history);
    push_ending(c.cell(10), &f.ending);
}

fn who(dir: Dir) -> &'static str {
    match dir {
        Dir::ToServer => "client",
        Dir::ToClient => "server",
    }
}

/// How the connection ended: `FIN (client first)`, `RST by server (frame 9, after 1.5 s idle)`.
fn push_ending(cell: &mut String, e: &Ending) {
    match e {
        Ending::Fin { first, both } => {
            cell.push_str(if *both { "FIN (" } else { "FIN by " });
            cell.push_str(who(*first));
            cell.push_str(if *both { " first)" } else { " only" });
        }
        Ending::Rst {
            by,
            frame,
            idle_secs,
        } => {
            cell.push_str("RST by ");
            cell.push_str(who(*by));
            cell.push_str(" (frame ");
            cell.push_str(itoa::Buffer::new().format(*frame));
            cell.push_str(", after ");
            output::push_fixed_str(cell, *idle_secs, output::Decimals::One);
            cell.push_str(" s idle)");
        }
        Ending::Open => cell.push_str("open at end"),
        Ending::Evicted => cell.push_str("evicted (table cap)"),
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
            rows.rows = ordered::ByKey::in_memory();
        }
        for &i in order {
            rows.flow(&collector.flows[i]);
        }
        let mut out = Vec::new();
        let n = rows.finish(&mut out, report.stats.first_time).unwrap();
        assert_eq!(n, collector.flows.len() as u64);
        String::from_utf8(out).unwrap()
    }

    /// The start column is as wide as its widest value, which the earliest and latest start
    /// give: before the capture's first frame (negative), a tie-rounded one, and far after.
    #[test]
    fn the_start_column_fits_every_start() {
        let capture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/case-study.pcapng"
        );
        let mut collector = Collector::default();
        let report = analyze_path(capture, &AnalyzerConfig::default(), &mut collector).unwrap();
        let first = report.stats.first_time.unwrap();
        for offsets in [
            [(0, 400_000), (-5, 0), (12_345, 500_000_000)],
            [(0, 0), (0, 999_500_000), (9, 999_600_000)],
            [(-123_456, 0), (0, 0), (1, 0)],
        ] {
            let mut rows = TextRows::new();
            let mut widest = "start s".chars().count();
            for (i, (secs, nanos)) in offsets.into_iter().enumerate() {
                let mut f = collector.flows[0].clone();
                f.stream = i as u64;
                f.start = Timestamp {
                    secs: first.secs + secs,
                    nanos,
                };
                widest = widest.max(output::secs(f.start.seconds_since(first)).chars().count());
                rows.flow(&f);
            }
            let mut out = Vec::new();
            rows.finish(&mut out, Some(first)).unwrap();
            let text = String::from_utf8(out).unwrap();
            // The top rule: one run of `─` per column, two more than the column's width.
            let top = text.lines().next().unwrap();
            let runs: Vec<usize> = top
                .trim_matches(|c| c == '┌' || c == '┐')
                .split('┬')
                .map(|r| r.chars().count())
                .collect();
            assert_eq!(runs[START], widest + 2, "{offsets:?}\n{text}");
        }
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
