//! Rendering helpers shared by the summary tables (`tls`, `http`, `ntlm`).

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use std::fmt::Display;
use std::net::SocketAddr;
use wiretale::proto::http::persistence::KeepAliveReason;
use wiretale::summary::{KeepAlive, Side};

/// Shown in a cell for "nothing".
pub const NONE: &str = "-";

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

/// `yes (HTTP/1.1 default)`, `no (Connection: close)`, ...
pub fn keep_alive(k: Option<KeepAlive>) -> String {
    let Some(k) = k else {
        return NONE.to_string();
    };
    let why = match k.reason {
        KeepAliveReason::Http11Default => "HTTP/1.1 default",
        KeepAliveReason::Http11ConnectionKeepAlive => "Connection: keep-alive",
        KeepAliveReason::Http11ProxyConnectionKeepAlive => "Proxy-Connection: keep-alive",
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
pub fn count(n: u64, what: &str) -> String {
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
