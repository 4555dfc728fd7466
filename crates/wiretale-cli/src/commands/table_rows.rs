//! The rows of a summary table (`tls`, `http`, `ntlm`), taken from the library's summary as
//! their connections leave the flow table, kept on disk in table order
//! ([`ordered::ByKey`]), and written once the analysis is over: as JSON, or as a text table
//! whose columns were measured as the rows came. Memory follows the connections open at a
//! time, not the capture: a row is lost to the library's row cap only when 100 000 are held
//! at once (`drain_ended` of each summary says which rows are held).

use super::common;
use super::tables::{self, align_right, new_table};
use crate::cli::{SummaryArgs, TableFormat};
use crate::exit::{CliError, Outcome};
use crate::grid::{Cells, Layout};
use crate::ordered;
use crate::output;
use serde::Serialize;
use std::collections::HashSet;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use wiretale::summary::{
    HttpExchangeRow, HttpSummary, NtlmExchangeRow, NtlmSummary, TlsConnectionRow, TlsSummary,
};
use wiretale::tcp::FlowSummary;
use wiretale::timeline::{Event, EventSink};

/// On a terminal, tables of at most this many rows are laid out by comfy-table, which wraps
/// cells to the terminal's width but holds every cell until it prints; longer ones are drawn
/// like those sent to a pipe or a file (nobody reads 10 000 rows on a terminal, and they
/// could be a million).
const COMFY_MAX_ROWS: u64 = 10_000;

/// The key that says "this server was not known as a proxy when the row was taken".
const PROXY_FALSE: &[u8] = br#""server_is_proxy":false"#;

/// What the CLI needs of a library summary.
pub trait Summary: EventSink + Default {
    /// One row of its table.
    type Row: Serialize + 'static;
    /// Hands over the rows completed since the last call.
    fn drain_ended(&mut self, each: impl FnMut(Self::Row));
    /// The rows not taken yet, in table order.
    fn finish_rows(self) -> Vec<Self::Row>;
    /// Events that found the table full.
    fn events_over_cap(&self) -> u64;
    /// The server of `row`, if it may yet turn out to be a proxy (`http`).
    fn proxy_pending(_row: &Self::Row) -> Option<SocketAddr> {
        None
    }
    /// The servers known to be proxies: all of them once the analysis is over.
    fn proxies(&self) -> HashSet<SocketAddr> {
        HashSet::new()
    }
}

impl Summary for TlsSummary {
    type Row = TlsConnectionRow;
    fn drain_ended(&mut self, each: impl FnMut(TlsConnectionRow)) {
        TlsSummary::drain_ended(self, each);
    }
    fn finish_rows(self) -> Vec<TlsConnectionRow> {
        self.finish().connections
    }
    fn events_over_cap(&self) -> u64 {
        TlsSummary::events_over_cap(self)
    }
}

impl Summary for HttpSummary {
    type Row = HttpExchangeRow;
    fn drain_ended(&mut self, each: impl FnMut(HttpExchangeRow)) {
        HttpSummary::drain_ended(self, each);
    }
    fn finish_rows(self) -> Vec<HttpExchangeRow> {
        self.finish().exchanges
    }
    fn events_over_cap(&self) -> u64 {
        HttpSummary::events_over_cap(self)
    }
    fn proxy_pending(row: &HttpExchangeRow) -> Option<SocketAddr> {
        (!row.server_is_proxy).then_some(row.server)
    }
    fn proxies(&self) -> HashSet<SocketAddr> {
        HttpSummary::proxies(self).collect()
    }
}

impl Summary for NtlmSummary {
    type Row = NtlmExchangeRow;
    fn drain_ended(&mut self, each: impl FnMut(NtlmExchangeRow)) {
        NtlmSummary::drain_ended(self, each);
    }
    fn finish_rows(self) -> Vec<NtlmExchangeRow> {
        self.finish().exchanges
    }
    fn events_over_cap(&self) -> u64 {
        NtlmSummary::events_over_cap(self)
    }
}

/// How a table looks: what `tls`, `http` and `ntlm` differ in.
pub struct Table<R: 'static> {
    /// Column names (a name may span lines).
    pub header: &'static [&'static str],
    /// Columns aligned right (numbers).
    pub right: &'static [usize],
    /// Writes one row's cells.
    pub fill: fn(&R, &mut Cells),
    /// The table's order, (first frame, stream): the library's `finish` order. Rows with the
    /// same key stay in the order they were taken.
    pub key: fn(&R) -> (u64, u64),
    /// Rows the footer counts apart (completed handshakes, answered exchanges, ...).
    pub counted: fn(&R) -> bool,
    /// The line under the table, from the number of rows, of counted rows and of events
    /// beyond the library's row cap.
    pub footer: fn(u64, u64, u64) -> String,
    /// The name of the rows' array in the JSON document (`connections`, `exchanges`).
    pub json_rows: &'static str,
    /// The server's column, which reads `proxy ADDRESS` for a proxy (`http`).
    pub server_column: Option<usize>,
}

/// Runs the analysis, taking the table's rows as connections end, and prints the table.
pub fn run<S: Summary>(
    args: &SummaryArgs,
    table: &'static Table<S::Row>,
) -> Result<Outcome, CliError> {
    let mut sink = Taking {
        summary: S::default(),
        rows: Rows::new(table, args.format),
    };
    let report = common::analyse(&args.capture, &mut sink)?;
    let Taking { summary, mut rows } = sink;
    let (proxies, over_cap) = (summary.proxies(), summary.events_over_cap());
    for row in summary.finish_rows() {
        rows.push::<S>(row);
    }
    let mut out = output::stdout();
    rows.write(
        &mut out,
        &proxies,
        over_cap,
        std::io::stdout().is_terminal(),
    )?;
    out.flush()?;
    Ok(common::finish(&args.capture, &report))
}

/// The summary, fed by the pipeline, and the rows taken from it after each connection.
struct Taking<S: Summary> {
    summary: S,
    rows: Rows<S::Row>,
}

impl<S: Summary> EventSink for Taking<S> {
    fn event(&mut self, event: &Event) {
        self.summary.event(event);
        // Answered exchanges of a connection still open are complete too (`http`).
        let rows = &mut self.rows;
        self.summary.drain_ended(|row| rows.push::<S>(row));
    }
    fn flow(&mut self, flow: &FlowSummary) {
        self.summary.flow(flow);
        let rows = &mut self.rows;
        self.summary.drain_ended(|row| rows.push::<S>(row));
    }
}

/// The rows taken so far, on disk, and what the text table needs of them.
///
/// A record: a byte saying whether the row's server may turn out to be a proxy (1) or not
/// (0); if 1, the server's address (its text, after its length in a byte) and where
/// `"server_is_proxy":false` lies in the JSON (4 bytes); then the row: its JSON, or its cells
/// (each after its length in 4 bytes).
struct Rows<R: 'static> {
    table: &'static Table<R>,
    format: TableFormat,
    store: ordered::ByKey,
    layout: Layout,
    cells: Cells,
    record: Vec<u8>,
    json: Vec<u8>,
    total: u64,
    counted: u64,
}

impl<R: Serialize + 'static> Rows<R> {
    fn new(table: &'static Table<R>, format: TableFormat) -> Self {
        Rows {
            table,
            format,
            store: ordered::ByKey::new(),
            layout: Layout::new(table.header, table.right),
            cells: Cells::new(table.header.len()),
            record: Vec::new(),
            json: Vec::new(),
            total: 0,
            counted: 0,
        }
    }

    fn push<S: Summary<Row = R>>(&mut self, row: R) {
        let pending = S::proxy_pending(&row);
        self.record.clear();
        match self.format {
            TableFormat::Json => {
                self.json.clear();
                // Serialising a row into a vector cannot fail (no map with non-string keys).
                if serde_json::to_writer(&mut self.json, &row).is_err() {
                    return;
                }
                let at = pending.and_then(|_| find(&self.json, PROXY_FALSE));
                match (pending, at) {
                    (Some(server), Some(at)) => {
                        push_pending(&mut self.record, server);
                        self.record.extend_from_slice(&(at as u32).to_le_bytes());
                    }
                    _ => self.record.push(0),
                }
                self.record.extend_from_slice(&self.json);
            }
            TableFormat::Text => {
                (self.table.fill)(&row, &mut self.cells);
                self.layout.measure(&self.cells);
                match pending {
                    Some(server) if self.table.server_column.is_some() => {
                        push_pending(&mut self.record, server);
                        self.record.extend_from_slice(&0u32.to_le_bytes());
                    }
                    _ => self.record.push(0),
                }
                for cell in self.cells.as_slice() {
                    self.record
                        .extend_from_slice(&(cell.len() as u32).to_le_bytes());
                    self.record.extend_from_slice(cell.as_bytes());
                }
            }
        }
        self.store.push((self.table.key)(&row), &self.record);
        self.total += 1;
        self.counted += u64::from((self.table.counted)(&row));
    }

    /// Writes the table: `proxies` are the servers known to be proxies at the end,
    /// `over_cap` the events beyond the library's row cap; `terminal`: stdout is one.
    fn write<W: Write>(
        mut self,
        out: &mut W,
        proxies: &HashSet<SocketAddr>,
        over_cap: u64,
        terminal: bool,
    ) -> io::Result<()> {
        let table = self.table;
        let late_proxy = |server: Option<SocketAddr>| server.is_some_and(|s| proxies.contains(&s));
        match self.format {
            TableFormat::Json => {
                write!(out, r#"{{"{}":["#, table.json_rows)?;
                let mut first = true;
                self.store.for_each(|record| {
                    let (server, at, json) = split_record(record)?;
                    if !first {
                        out.write_all(b",")?;
                    }
                    first = false;
                    let at = at as usize;
                    match json.get(at..at + PROXY_FALSE.len()) {
                        Some(PROXY_FALSE) if late_proxy(server) => {
                            out.write_all(&json[..at])?;
                            out.write_all(br#""server_is_proxy":true"#)?;
                            out.write_all(&json[at + PROXY_FALSE.len()..])
                        }
                        _ => out.write_all(json),
                    }
                })?;
                writeln!(out, r#"],"events_over_cap":{over_cap}}}"#)
            }
            TableFormat::Text => {
                if let Some(column) = table.server_column {
                    for p in proxies {
                        let width = format!("proxy {}", tables::addr(*p)).chars().count();
                        self.layout.widen(column, width);
                    }
                }
                let footer = (table.footer)(self.total, self.counted, over_cap);
                let mut cells = Cells::new(table.header.len());
                let decode = |record: &[u8], cells: &mut Cells| -> io::Result<()> {
                    let (server, _, mut rest) = split_record(record)?;
                    for i in 0..table.header.len() {
                        let (len, after) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
                        let len = u32::from_le_bytes(*len) as usize;
                        let text = after.get(..len).ok_or_else(damaged)?;
                        let text = std::str::from_utf8(text).map_err(|_| damaged())?;
                        let cell = cells.cell(i);
                        if Some(i) == table.server_column && late_proxy(server) {
                            cell.push_str("proxy ");
                        }
                        cell.push_str(text);
                        rest = after.get(len..).unwrap_or_default();
                    }
                    Ok(())
                };
                if terminal && self.total <= COMFY_MAX_ROWS {
                    let mut t = new_table(table.header);
                    self.store.for_each(|record| {
                        decode(record, &mut cells)?;
                        t.add_row(cells.as_slice().to_vec());
                        Ok(())
                    })?;
                    align_right(&mut t, table.right);
                    writeln!(out, "{t}")?;
                } else {
                    let layout = &self.layout;
                    layout.write_header(out, table.header)?;
                    self.store.for_each(|record| {
                        decode(record, &mut cells)?;
                        layout.write_row(out, &cells)
                    })?;
                    layout.write_footer(out)?;
                }
                writeln!(out, "{footer}")
            }
        }
    }
}

fn damaged() -> io::Error {
    io::Error::other("table rows spill file damaged")
}

/// Starts a record whose server may turn out to be a proxy.
fn push_pending(record: &mut Vec<u8>, server: SocketAddr) {
    let text = server.to_string();
    record.push(1);
    record.push(text.len() as u8);
    record.extend_from_slice(text.as_bytes());
}

/// A record's server (if it may turn out to be a proxy), the place of
/// `"server_is_proxy":false` in its JSON, and the row.
fn split_record(record: &[u8]) -> io::Result<(Option<SocketAddr>, u32, &[u8])> {
    match record.split_first() {
        Some((0, row)) => Ok((None, 0, row)),
        Some((1, rest)) => {
            let (&len, rest) = rest.split_first().ok_or_else(damaged)?;
            let (text, rest) = rest.split_at_checked(len as usize).ok_or_else(damaged)?;
            let server = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(damaged)?;
            let (at, row) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
            Ok((Some(server), u32::from_le_bytes(*at), row))
        }
        _ => Err(damaged()),
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{shared_captures, testdata_captures};
    use std::path::Path;
    use wiretale::pipeline::{analyze_path, AnalyzerConfig};

    /// The table of `path` as `wiretale tls|http|ntlm` writes it (rows taken as connections
    /// end), in `format`, drawn as on a terminal or not.
    fn written<S: Summary>(
        path: &Path,
        table: &'static Table<S::Row>,
        format: TableFormat,
        terminal: bool,
    ) -> String {
        let mut sink = Taking {
            summary: S::default(),
            rows: Rows::new(table, format),
        };
        analyze_path(path, &AnalyzerConfig::default(), &mut sink).unwrap();
        let Taking { summary, mut rows } = sink;
        let (proxies, over_cap) = (summary.proxies(), summary.events_over_cap());
        for row in summary.finish_rows() {
            rows.push::<S>(row);
        }
        let mut out = Vec::new();
        rows.write(&mut out, &proxies, over_cap, terminal).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The library's whole table (no row taken early), as JSON.
    fn library_json<S: Summary>(path: &Path, to_json: fn(S) -> String) -> String {
        let mut summary = S::default();
        analyze_path(path, &AnalyzerConfig::default(), &mut summary).unwrap();
        to_json(summary) + "\n"
    }

    /// Taking rows as connections end and writing them from disk gives the library's table,
    /// byte for byte, on every testdata and shared capture and on a generated one of 120
    /// connections, 32 open at a time (so they end in another order than they start); and
    /// the text drawn for a pipe is the text comfy-table lays out (without a terminal to
    /// wrap to).
    #[test]
    fn taken_rows_make_the_library_tables() {
        use super::super::{http, ntlm, tls};
        use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};
        let dir = std::env::temp_dir().join(format!("wiretale-table-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let generated = dir.join("mixed.pcap");
        let file = std::io::BufWriter::new(std::fs::File::create(&generated).unwrap());
        write_workload(Shape::Mixed, Size::Connections(120), Format::Pcap, file).unwrap();
        let mut files = testdata_captures();
        files.extend(shared_captures());
        files.push(generated);
        let mut rows = 0;
        for path in files {
            let tls_json = written::<TlsSummary>(&path, &tls::TABLE, TableFormat::Json, false);
            let expected = library_json(&path, |s: TlsSummary| {
                serde_json::to_string(&s.finish()).unwrap()
            });
            assert_eq!(tls_json, expected, "{}", path.display());
            let http_json = written::<HttpSummary>(&path, &http::TABLE, TableFormat::Json, false);
            let expected = library_json(&path, |s: HttpSummary| {
                serde_json::to_string(&s.finish()).unwrap()
            });
            assert_eq!(http_json, expected, "{}", path.display());
            let ntlm_json = written::<NtlmSummary>(&path, &ntlm::TABLE, TableFormat::Json, false);
            let expected = library_json(&path, |s: NtlmSummary| {
                serde_json::to_string(&s.finish()).unwrap()
            });
            assert_eq!(ntlm_json, expected, "{}", path.display());
            rows += [&tls_json, &http_json, &ntlm_json]
                .iter()
                .map(|j| j.matches(r#""stream":"#).count())
                .sum::<usize>();

            let pipe = written::<HttpSummary>(&path, &http::TABLE, TableFormat::Text, false);
            let terminal = written::<HttpSummary>(&path, &http::TABLE, TableFormat::Text, true);
            assert_eq!(pipe, terminal, "{}", path.display());
            let pipe = written::<TlsSummary>(&path, &tls::TABLE, TableFormat::Text, false);
            let terminal = written::<TlsSummary>(&path, &tls::TABLE, TableFormat::Text, true);
            assert_eq!(pipe, terminal, "{}", path.display());
        }
        std::fs::remove_dir_all(&dir).ok();
        assert!(rows > 200, "{rows} rows compared");
    }

    /// Two NTLM rows of one connection with the same first frame (two 407s with a Type 2 in
    /// one segment), the second completed first (its Type 3 came on a new connection, which
    /// ended first), the first only at the end: `wiretale ntlm` lists them in the library's
    /// order, not in the order they completed.
    #[test]
    fn ntlm_rows_that_tie_keep_the_library_order() {
        use super::super::ntlm;
        use wiretale_fixtures::payloads::{http, ntlm as token};
        use wiretale_fixtures::{Capture, Dir, LinkType, PcapOptions, TcpSession};
        let mut cap = Capture::new(LinkType::Ethernet);
        let proxy: SocketAddr = "10.0.0.2:8080".parse().unwrap();
        let mut a = TcpSession::new("10.0.0.1:50000".parse().unwrap(), proxy);
        a.handshake(&mut cap);
        let get = || {
            let headers = [("Host", "example.com")];
            http::request("GET", "http://example.com/", "HTTP/1.1", &headers, b"")
        };
        a.send_segment(&mut cap, Dir::ToServer, &[get(), get()].concat());
        let challenge = format!("NTLM {}", token::CASE_STUDY_TYPE2);
        let headers = [
            ("Proxy-Authenticate", challenge.as_str()),
            ("Content-Length", "0"),
        ];
        let denied = http::response(
            "HTTP/1.1",
            407,
            "Proxy Authentication Required",
            &headers,
            b"",
        );
        a.send_segment(&mut cap, Dir::ToClient, &[denied.clone(), denied].concat());
        let credentials = token::Credentials {
            user: "u",
            domain: "D",
            workstation: "W",
            password: "p",
            client_challenge: [1; 8],
            timestamp: 0,
        };
        let type3 = token::answer_case_study_type2(&credentials).unwrap();
        let auth = format!("NTLM {}", token::base64_encode(&type3));
        let mut c = TcpSession::new("10.0.0.1:50001".parse().unwrap(), proxy);
        c.handshake(&mut cap);
        let headers = [
            ("Host", "example.com"),
            ("Proxy-Authorization", auth.as_str()),
        ];
        let request = http::request("GET", "http://example.com/", "HTTP/1.1", &headers, b"");
        c.send(&mut cap, Dir::ToServer, &request);
        let ok = http::response("HTTP/1.1", 200, "OK", &[("Content-Length", "0")], b"");
        c.send(&mut cap, Dir::ToClient, &ok);
        c.close(&mut cap);
        a.close(&mut cap);
        let dir = std::env::temp_dir().join(format!("wiretale-ntlm-ties-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ntlm-ties.pcap");
        std::fs::write(&path, cap.to_pcap(&PcapOptions::default()).unwrap()).unwrap();
        let cli = written::<NtlmSummary>(&path, &ntlm::TABLE, TableFormat::Json, false);
        let library = library_json(&path, |s: NtlmSummary| {
            serde_json::to_string(&s.finish()).unwrap()
        });
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(cli, library);
        let abandoned = library
            .find("abandoned_after_type2")
            .expect("abandoned row");
        let authenticated = library
            .find(r#""result":"authenticated""#)
            .expect("answered row");
        assert!(abandoned < authenticated, "{library}");
    }

    /// A server shown to be a proxy only after some of its rows were taken (by a later
    /// connection) is marked a proxy in those rows too, in JSON and in text (its column
    /// widened for it), as the library's `finish` marks them.
    #[test]
    fn a_server_found_to_be_a_proxy_later_is_marked_in_earlier_rows() {
        use super::super::http;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/case-study.pcapng");
        let mut summary = HttpSummary::default();
        analyze_path(&path, &AnalyzerConfig::default(), &mut summary).unwrap();
        let table = summary.finish().exchanges;
        let proxies: HashSet<SocketAddr> = (table.iter())
            .filter(|r| r.server_is_proxy)
            .map(|r| r.server)
            .collect();
        assert!(!proxies.is_empty(), "the case study goes through a proxy");
        for format in [TableFormat::Json, TableFormat::Text] {
            let write = |rows: &[HttpExchangeRow], proxies: &HashSet<SocketAddr>| {
                let mut taken = Rows::new(&http::TABLE, format);
                for row in rows {
                    taken.push::<HttpSummary>(row.clone());
                }
                let mut out = Vec::new();
                taken.write(&mut out, proxies, 0, false).unwrap();
                String::from_utf8(out).unwrap()
            };
            let expected = write(&table, &proxies);
            let mut early = table.clone();
            for row in &mut early {
                row.server_is_proxy = false;
            }
            assert_eq!(write(&early, &proxies), expected, "{format:?}");
            assert_ne!(write(&early, &HashSet::new()), expected, "{format:?}");
        }
    }
}
