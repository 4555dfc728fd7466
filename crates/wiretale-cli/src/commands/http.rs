//! `wiretale http`: one row per HTTP exchange.

use super::table_rows::{self, Table};
use super::tables::{self, addr, duration, keep_alive, opt, side, NONE};
use crate::cli::SummaryArgs;
use crate::exit::{CliError, Outcome};
use crate::grid::Cells;
use crate::output;
use wiretale::summary::{HttpExchangeRow, HttpSummary};

pub fn run(args: &SummaryArgs) -> Result<Outcome, CliError> {
    table_rows::run::<HttpSummary>(args, &TABLE)
}

/// The server's column.
const SERVER: usize = 4;

/// The text table's columns.
const HEADER: [&str; 11] = [
    "request\nframe",
    "response\nframe",
    "stream",
    "client",
    "server / proxy",
    "request",
    "response",
    "authentication",
    "keep-alive\nrequest / response",
    "body bytes\nrequest / response",
    "connection closed",
];

/// The table.
pub static TABLE: Table<HttpExchangeRow> = Table {
    header: &HEADER,
    right: &[0, 1, 2],
    fill,
    key: |r| (r.first_frame(), r.stream),
    counted: |r| r.status.is_some(),
    footer: |total, answered, over_cap| {
        format!(
            "{}: {answered} answered, {} without a final response{}",
            tables::count(total, "HTTP exchange"),
            total.saturating_sub(answered),
            tables::over_cap(over_cap)
        )
    },
    json_rows: "exchanges",
    server_column: Some(SERVER),
};

/// One row's cells.
fn fill(row: &HttpExchangeRow, c: &mut Cells) {
    c.put([
        opt(row.request_frame),
        opt(row.response_frame),
        row.stream.to_string(),
        addr(row.client),
        server(row),
        request(row),
        response(row),
        auth(row),
        format!(
            "{}\n{}",
            keep_alive(row.request_keep_alive),
            keep_alive(row.response_keep_alive)
        ),
        format!(
            "{}\n{}",
            row.request_body_len
                .map_or_else(|| NONE.to_string(), output::bytes),
            row.response_body_len
                .map_or_else(|| NONE.to_string(), output::bytes)
        ),
        closed(row),
    ]);
}

fn server(row: &HttpExchangeRow) -> String {
    if row.server_is_proxy {
        format!("proxy {}", addr(row.server))
    } else {
        addr(row.server)
    }
}

fn request(row: &HttpExchangeRow) -> String {
    let Some(method) = &row.method else {
        return "(request not captured)".into();
    };
    let mut s = format!(
        "{method} {}\n{}",
        row.target.as_deref().unwrap_or(""),
        row.version
            .map(wiretale::proto::http::HttpVersion::as_str)
            .unwrap_or("?")
    );
    match row.target_form {
        Some("absolute") => s.push_str(", absolute-form (to a proxy)"),
        Some("authority") => s.push_str(", authority-form (tunnel)"),
        _ => {
            if let Some(host) = &row.host {
                s.push_str(&format!(", Host {host}"));
            }
        }
    }
    s
}

fn response(row: &HttpExchangeRow) -> String {
    let mut lines = Vec::new();
    match row.status {
        Some(status) => {
            let mut line = format!("{status} {}", row.reason.as_deref().unwrap_or(""));
            if let Some(v) = row.response_version {
                line = format!("{} {line}", v.as_str());
            }
            lines.push(line.trim_end().to_string());
            if let Some(d) = row.duration_secs {
                lines.push(format!("after {}", duration(d)));
            }
        }
        None => lines.push("no final response".into()),
    }
    if !row.interim_statuses.is_empty() {
        let interim: Vec<String> = row.interim_statuses.iter().map(u16::to_string).collect();
        lines.push(format!("after interim {}", interim.join(", ")));
    }
    if let Some(tunnel) = &row.tunnel {
        lines.push(format!("tunnel to {tunnel} open"));
    }
    if let Some(to) = &row.upgraded_to {
        lines.push(format!("switched to {to}"));
    }
    if let Some(by) = row.unanswered_closed_by {
        lines.push(format!("connection closed by {} first", side(by)));
    }
    lines.join("\n")
}

fn ntlm_type(t: Option<u8>) -> String {
    t.map(|t| format!(" Type {t}")).unwrap_or_default()
}

fn auth(row: &HttpExchangeRow) -> String {
    let mut lines = Vec::new();
    for c in &row.credentials {
        let mut line = format!(
            "→ {}: {}{}",
            c.header,
            c.scheme,
            ntlm_type(c.ntlm_message_type)
        );
        if let Some(user) = &c.user {
            line.push_str(&format!(" user {user}"));
        }
        lines.push(line);
    }
    if !row.challenges.is_empty() {
        let header = row.challenges.first().map_or("", |c| c.header);
        let offered: Vec<String> = row
            .challenges
            .iter()
            .map(|c| {
                let mut s = format!("{}{}", c.scheme, ntlm_type(c.ntlm_message_type));
                if let Some(realm) = &c.realm {
                    s.push_str(&format!(" realm={realm:?}"));
                }
                s
            })
            .collect();
        lines.push(format!("← {header} offers {}", offered.join(", ")));
    }
    if lines.is_empty() {
        NONE.to_string()
    } else {
        lines.join("\n")
    }
}

fn closed(row: &HttpExchangeRow) -> String {
    if !row.last_on_connection {
        return "(more exchanges follow)".into();
    }
    row.connection_end
        .as_ref()
        .map_or_else(|| NONE.to_string(), |e| e.describe())
}
