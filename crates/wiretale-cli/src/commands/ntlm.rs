//! `wiretale ntlm`: one row per NTLM exchange per TCP connection.

use super::table_rows::{self, Table};
use super::tables::{self, addr, NONE};
use crate::cli::SummaryArgs;
use crate::exit::{CliError, Outcome};
use crate::grid::Cells;
use wiretale::summary::{NtlmExchangeRow, NtlmOutcome, NtlmSummary};

pub fn run(args: &SummaryArgs) -> Result<Outcome, CliError> {
    table_rows::run::<NtlmSummary>(args, &TABLE)
}

/// The text table's columns.
const HEADER: [&str; 8] = [
    "stream",
    "client",
    "server",
    "header",
    "Type 1 (negotiate)",
    "Type 2 (challenge)",
    "Type 3 (authenticate)",
    "outcome",
];

/// The table.
pub static TABLE: Table<NtlmExchangeRow> = Table {
    header: &HEADER,
    right: &[0],
    fill,
    key: |r| (r.first_frame(), r.stream),
    counted: |r| matches!(r.outcome, NtlmOutcome::Authenticated { .. }),
    footer: |total, authenticated, over_cap| {
        format!(
            "{}: {authenticated} authenticated{}",
            tables::count(total, "NTLM exchange"),
            tables::over_cap(over_cap)
        )
    },
    json_rows: "exchanges",
    server_column: None,
};

/// One row's cells.
fn fill(row: &NtlmExchangeRow, c: &mut Cells) {
    c.put([
        row.stream.to_string(),
        addr(row.client),
        addr(row.server),
        format!(
            "{}\n{}",
            if row.proxy {
                "Proxy-Authorization"
            } else {
                "Authorization"
            },
            row.scheme
        ),
        negotiate(row),
        challenge(row),
        authenticate(row),
        outcome(row),
    ]);
}

fn push_opt(lines: &mut Vec<String>, label: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        lines.push(format!("{label} {v}"));
    }
}

fn negotiate(row: &NtlmExchangeRow) -> String {
    let Some(n) = &row.negotiate else {
        return NONE.into();
    };
    let mut lines = vec![format!("frame {}", n.frame)];
    push_opt(&mut lines, "domain", n.domain.as_deref());
    push_opt(&mut lines, "workstation", n.workstation.as_deref());
    lines.join("\n")
}

fn challenge(row: &NtlmExchangeRow) -> String {
    let Some(c) = &row.challenge else {
        return NONE.into();
    };
    let mut lines = vec![format!("frame {}", c.frame)];
    push_opt(&mut lines, "challenge", c.challenge.as_deref());
    push_opt(&mut lines, "target", c.target.as_deref());
    lines.join("\n")
}

fn authenticate(row: &NtlmExchangeRow) -> String {
    let Some(a) = &row.authenticate else {
        return NONE.into();
    };
    let mut lines = vec![format!("frame {}", a.frame)];
    let user = match (&a.domain, &a.user) {
        (Some(d), Some(u)) if !d.is_empty() => Some(format!("{d}\\{u}")),
        (_, Some(u)) => Some(u.clone()),
        _ => None,
    };
    push_opt(&mut lines, "user", user.as_deref());
    push_opt(&mut lines, "workstation", a.workstation.as_deref());
    if let Some(kind) = a.response {
        lines.push(kind.to_string());
    }
    if row.type3_on_other_connection {
        lines.push(format!(
            "on stream {}: ANOTHER connection than the Type 2",
            a.stream
        ));
    } else {
        lines.push(format!("on stream {}", a.stream));
    }
    lines.join("\n")
}

fn outcome(row: &NtlmExchangeRow) -> String {
    let mut s = row.outcome.describe();
    if row.authenticate.is_none() {
        if let Some(end) = &row.connection_end {
            s.push_str(&format!("\nconnection: {}", end.describe()));
        }
    }
    s
}
