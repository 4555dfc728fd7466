//! Rendering helpers shared by the summary tables (`tls`, `http`, `ntlm`).

use super::common;
use crate::cli::{SummaryArgs, TableFormat};
use crate::exit::{CliError, Outcome};
use crate::grid;
use crate::output;
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;
use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use wiretale::proto::http::persistence::KeepAliveReason;
use wiretale::proto::http::HttpVersion;
use wiretale::summary::{KeepAlive, Side};
use wiretale::timeline::EventSink;

/// Shown in a cell for "nothing".
pub const NONE: &str = "-";

/// A summary table as text: its columns, the rows and how each fills its cells, and the
/// line under the table.
pub struct TextTable<'t, R> {
    /// Column names (a name may span lines).
    pub header: &'static [&'static str],
    /// Columns aligned right (numbers).
    pub right: &'static [usize],
    /// The rows.
    pub rows: &'t [R],
    /// Writes one row's cells.
    pub fill: fn(&R, &mut grid::Cells),
    /// Totals, printed under the table.
    pub footer: String,
}

/// Runs the analysis into `sink`, turns it into a table with `finish`, and prints it as JSON
/// or, through `render`, as text followed by the footer.
///
/// On a terminal the text is laid out by comfy-table, which wraps cells to the terminal's
/// width; elsewhere (a pipe, a file) it is drawn by [`grid`] in two passes over the rows,
/// the same text without wrapping, and nothing kept per cell: comfy-table holds every cell
/// of every row until it prints (`http` on 100 k connections: 520 MB and 1.2 s, against
/// 0.4 s for its JSON).
pub fn run_table<S, T, R>(
    args: &SummaryArgs,
    mut sink: S,
    finish: impl FnOnce(S) -> T,
    render: fn(&T) -> TextTable<'_, R>,
) -> Result<Outcome, CliError>
where
    S: EventSink,
    T: Serialize,
{
    let report = common::analyse(&args.capture, &mut sink)?;
    let table = finish(sink);
    let mut out = output::stdout();
    match args.format {
        TableFormat::Json => output::json_line(&mut out, &table)?,
        TableFormat::Text => {
            let text = render(&table);
            if std::io::stdout().is_terminal() {
                writeln!(out, "{}", comfy(&text))?;
            } else {
                grid::write_table(&mut out, text.header, text.right, text.rows, text.fill)?;
            }
            writeln!(out, "{}", text.footer)?;
        }
    }
    out.flush()?;
    Ok(common::finish(&args.capture, &report))
}

/// The table laid out by comfy-table (in the house style, wrapped to the terminal).
fn comfy<R>(text: &TextTable<'_, R>) -> Table {
    let mut t = new_table(text.header);
    let mut cells = grid::Cells::new(text.header.len());
    for row in text.rows {
        (text.fill)(row, &mut cells);
        t.add_row(cells.as_slice().to_vec());
    }
    align_right(&mut t, text.right);
    t
}

/// A table with the house style and `header`.
pub fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// Right-aligns the given columns (numbers).
pub fn align_right(t: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// The value, or [`NONE`].
pub fn opt<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| NONE.to_string(), |v| v.to_string())
}

/// `client` / `server`.
pub fn side(s: Side) -> &'static str {
    s.as_str()
}

/// An address, or [`NONE`] for the unspecified placeholder.
pub fn addr(a: SocketAddr) -> String {
    if a.ip().is_unspecified() && a.port() == 0 {
        NONE.to_string()
    } else {
        a.to_string()
    }
}

/// `HTTP/1.0` / `HTTP/1.1`.
pub fn http_version(v: HttpVersion) -> &'static str {
    match v {
        HttpVersion::Http10 => "HTTP/1.0",
        HttpVersion::Http11 => "HTTP/1.1",
    }
}

/// `yes (HTTP/1.1 default)`, `no (Connection: close)`, ...
pub fn keep_alive(k: Option<KeepAlive>) -> String {
    let Some(k) = k else {
        return NONE.to_string();
    };
    let why = match k.reason {
        KeepAliveReason::Http11Default => "HTTP/1.1 default",
        KeepAliveReason::ConnectionClose => "Connection: close",
        KeepAliveReason::ProxyConnectionClose => "Proxy-Connection: close",
        KeepAliveReason::Http10ConnectionKeepAlive => "Connection: keep-alive",
        KeepAliveReason::Http10ProxyConnectionKeepAlive => "Proxy-Connection: keep-alive",
        KeepAliveReason::Http10Default => "HTTP/1.0 default",
        KeepAliveReason::CloseDelimitedBody => "body ends at close",
    };
    format!("{} ({why})", if k.keep_alive { "yes" } else { "no" })
}

/// Seconds for people: `97 ms` below one second, `30.1 s` above.
pub fn duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{secs:.1} s")
    }
}

/// `1 connection` / `3 connections`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A note on rows dropped at the table cap, or nothing.
pub fn over_cap(events: u64) -> String {
    if events == 0 {
        String::new()
    } else {
        format!(" ({events} events beyond the row cap were not summarised)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two layouts of a text table give the same text where comfy-table does not wrap
    /// (no terminal, as under `cargo test`): multi-line cells and header, right alignment.
    #[test]
    fn grid_and_comfy_draw_the_same_table() {
        fn fill(row: &(u64, &str), c: &mut grid::Cells) {
            c.put([
                row.0.to_string(),
                row.1.to_string(),
                format!("{}\n→ {}", row.1, row.0),
            ]);
        }
        let rows = [(1, "one"), (123_456, "two\nlines"), (42, "")];
        let text = TextTable {
            header: &["frame", "what", "more\nbelow"],
            right: &[0],
            rows: &rows,
            fill,
            footer: String::new(),
        };
        let mut drawn = Vec::new();
        grid::write_table(&mut drawn, text.header, text.right, text.rows, text.fill).unwrap();
        assert_eq!(
            String::from_utf8(drawn).unwrap(),
            format!("{}\n", comfy(&text))
        );
    }
}
