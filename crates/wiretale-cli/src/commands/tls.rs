//! `wiretale tls`: one row per TLS connection.

use super::table_rows::{self, Table};
use super::tables::{self, addr, duration, opt, side, NONE};
use crate::cli::SummaryArgs;
use crate::exit::{CliError, Outcome};
use crate::grid::Cells;
use crate::output;
use wiretale::proto::tls::Resumption;
use wiretale::summary::{TlsConnectionRow, TlsSummary};

pub fn run(args: &SummaryArgs) -> Result<Outcome, CliError> {
    table_rows::run::<TlsSummary>(args, &TABLE)
}

/// The text table's columns.
const HEADER: [&str; 14] = [
    "stream",
    "client → server",
    "SNI",
    "versions",
    "cipher / ALPN",
    "resumed",
    "server certificate",
    "client cert",
    "handshake",
    "alerts",
    "app data",
    "ended",
    "JA3 / JA4",
    "notes",
];

/// The table.
pub static TABLE: Table<TlsConnectionRow> = Table {
    header: &HEADER,
    right: &[0],
    fill,
    key: |r| (r.first_frame, r.stream),
    counted: |r| r.handshake.completed,
    footer: |total, completed, over_cap| {
        format!(
            "{}: {completed} completed the handshake, {} did not{}",
            tables::count(total, "TLS connection"),
            total.saturating_sub(completed),
            tables::over_cap(over_cap)
        )
    },
    json_rows: "connections",
    server_column: None,
};

/// One row's cells.
fn fill(row: &TlsConnectionRow, c: &mut Cells) {
    c.put([
        row.stream.to_string(),
        endpoints(row),
        opt(row.sni.as_deref()),
        versions(row),
        cipher(row),
        resumption(row),
        certificate(row),
        client_certificate(row),
        handshake(row),
        alerts(row),
        format!(
            "{} →\n{} ←",
            output::bytes(row.client_application_data.bytes),
            output::bytes(row.server_application_data.bytes)
        ),
        ended(row),
        fingerprints(row),
        notes(row),
    ]);
}

fn endpoints(row: &TlsConnectionRow) -> String {
    let mut s = format!("{}\n→ {}", addr(row.client), addr(row.server));
    if let Some(tunnel) = &row.tunnel {
        s.push_str(&format!("\nin CONNECT tunnel to {tunnel}"));
    }
    s
}

fn versions(row: &TlsConnectionRow) -> String {
    let offered = if row.versions_offered.is_empty() {
        NONE.to_string()
    } else {
        row.versions_offered.join(", ")
    };
    let mut s = format!("{offered}\n→ {}", row.version.unwrap_or("?"));
    if row.hello_retry_request {
        s.push_str("\n(HelloRetryRequest)");
    }
    s
}

fn cipher(row: &TlsConnectionRow) -> String {
    let mut s = match (&row.cipher_suite, row.cipher_suites_offered) {
        (Some(c), 0) => c.clone(),
        (Some(c), n) => format!("{c}\n(of {n} offered)"),
        (None, 0) => NONE.to_string(),
        (None, n) => format!("none chosen\n({n} offered)"),
    };
    match (&row.alpn, row.alpn_offered.is_empty()) {
        (Some(alpn), _) => s.push_str(&format!("\nALPN {alpn}")),
        (None, false) => s.push_str(&format!(
            "\nALPN offered {}, none chosen",
            row.alpn_offered.join(", ")
        )),
        (None, true) => {}
    }
    s
}

fn resumption(row: &TlsConnectionRow) -> String {
    match (row.resumption, row.resumption_offered) {
        (Some(Resumption::SessionId), _) => "yes (session id)".into(),
        (Some(Resumption::SessionTicket), _) => "yes (session ticket)".into(),
        (Some(Resumption::Tls13Psk), _) => "yes (PSK)".into(),
        (None, true) if row.handshake.server_hello_frame.is_some() => {
            "offered, not accepted".into()
        }
        (None, true) => "offered".into(),
        (None, false) => "no".into(),
    }
}

fn certificate(row: &TlsConnectionRow) -> String {
    let Some(c) = &row.server_certificate else {
        return match row.version {
            Some("TLS 1.3") => "(encrypted in TLS 1.3)".into(),
            _ => NONE.into(),
        };
    };
    let mut lines = Vec::new();
    match (&c.leaf_common_name, &c.leaf_subject) {
        (Some(cn), _) => lines.push(format!("CN {cn}")),
        (None, Some(subject)) => lines.push(subject.clone()),
        (None, None) => {}
    }
    let validity = match c.valid_at_capture {
        Some(true) => "valid at capture time",
        Some(false) => "NOT valid at capture time",
        None => "not decodable",
    };
    lines.push(format!(
        "{} in chain, {validity} (frame {})",
        c.chain_length, c.frame
    ));
    lines.extend(c.invalid_at_capture.iter().cloned());
    if c.leaf_self_signed {
        lines.push("self-signed".into());
    }
    lines.extend(c.crl_urls.iter().map(|u| format!("CRL {u}")));
    lines.extend(c.ocsp_urls.iter().map(|u| format!("OCSP {u}")));
    lines.join("\n")
}

fn client_certificate(row: &TlsConnectionRow) -> String {
    match (row.client_certificate_requested, row.client_certificates) {
        (true, Some(0)) => "asked; client sent none".into(),
        (true, Some(n)) => format!("asked; client sent {n}"),
        (true, None) => "asked".into(),
        (false, Some(n)) => format!("client sent {n}"),
        (false, None) => "not asked".into(),
    }
}

fn handshake(row: &TlsConnectionRow) -> String {
    let h = &row.handshake;
    if h.completed {
        let end = h.client_finished_frame.max(h.server_finished_frame);
        let mut s = match h.duration_secs {
            Some(d) => format!("complete in {}", duration(d)),
            None => "complete".to_string(),
        };
        if let (Some(start), Some(end)) = (h.client_hello_frame, end) {
            s.push_str(&format!("\nframes {start}–{end}"));
        }
        return s;
    }
    if !h.start_captured {
        return "start not captured".into();
    }
    let mut s = "INCOMPLETE".to_string();
    if let Some(last) = &h.last_message {
        s.push_str(&format!(
            "\nlast: {} by {} (frame {})",
            last.name,
            side(last.by),
            last.frame
        ));
    }
    if let Some(next) = h.waiting_for {
        s.push_str(&format!("\nwaiting for {}", side(next)));
    }
    s
}

fn alerts(row: &TlsConnectionRow) -> String {
    let mut lines: Vec<String> = row
        .alerts
        .iter()
        .map(|a| {
            format!(
                "{} {} ({}) by {}, frame {}",
                a.level,
                a.description_name,
                a.description,
                side(a.by),
                a.frame
            )
        })
        .collect();
    if row.encrypted_alerts > 0 {
        lines.push(format!("{} encrypted", row.encrypted_alerts));
    }
    if lines.is_empty() {
        NONE.to_string()
    } else {
        lines.join("\n")
    }
}

fn ended(row: &TlsConnectionRow) -> String {
    let mut s = row
        .connection_end
        .as_ref()
        .map_or_else(|| NONE.to_string(), |e| e.describe());
    if let Some(idle) = row.idle_before_end_secs {
        s.push_str(&format!("\n{} after the last TLS message", duration(idle)));
    }
    s
}

fn fingerprints(row: &TlsConnectionRow) -> String {
    format!(
        "{}\n{}",
        row.ja3.as_deref().unwrap_or(NONE),
        row.ja4.as_deref().unwrap_or(NONE)
    )
}

/// Decoding trouble (at most a few lines; JSON has all).
fn notes(row: &TlsConnectionRow) -> String {
    const SHOWN: usize = 3;
    let mut lines: Vec<String> = row.trouble.iter().take(SHOWN).cloned().collect();
    if row.trouble.len() > SHOWN {
        lines.push(format!("(+{} more)", row.trouble.len() - SHOWN));
    }
    if lines.is_empty() {
        NONE.to_string()
    } else {
        lines.join("\n")
    }
}
