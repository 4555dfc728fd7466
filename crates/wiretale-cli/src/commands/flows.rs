//! `wiretale flows`: one row per TCP connection.

use super::common;
use crate::cli::{FlowsArgs, TableFormat};
use crate::exit::{CliError, Outcome};
use crate::output;
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;
use std::io::Write;
use wiretale::pipeline::Stats;
use wiretale::tcp::{Dir, Ending, FlowSummary};
use wiretale::timeline::EventSink;

#[derive(Default)]
struct FlowSink {
    flows: Vec<FlowSummary>,
}

impl EventSink for FlowSink {
    fn flow(&mut self, flow: &FlowSummary) {
        self.flows.push(flow.clone());
    }
}

#[derive(Serialize)]
struct FlowsJson<'a> {
    flows: &'a [FlowSummary],
    stats: &'a Stats,
}

pub fn run(args: &FlowsArgs) -> Result<Outcome, CliError> {
    let mut sink = FlowSink::default();
    let report = common::analyse(&args.capture, &mut sink)?;
    sink.flows.sort_by_key(|f| f.stream);
    let mut out = output::stdout();
    match args.format {
        TableFormat::Json => {
            output::json_line(
                &mut out,
                &FlowsJson {
                    flows: &sink.flows,
                    stats: &report.stats,
                },
            )?;
        }
        TableFormat::Text => {
            let start = report.stats.first_time;
            writeln!(out, "{}", table(&sink.flows, start))?;
            writeln!(
                out,
                "{} connections, {} frames ({} TCP, {} not analysed)",
                sink.flows.len(),
                report.stats.frames_read,
                report.stats.frames_tcp,
                report.stats.frames_skipped()
            )?;
        }
    }
    out.flush()?;
    Ok(common::finish(&args.capture, &report))
}

fn table(flows: &[FlowSummary], start: Option<wiretale::capture::Timestamp>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
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
        ]);
    for f in flows {
        let rel = start.map(|s| f.start.seconds_since(s)).unwrap_or(0.0);
        let mut client = f.client.to_string();
        if f.role_basis.is_guess() {
            client.push_str(" (?)");
        }
        t.add_row(vec![
            f.stream.to_string(),
            client,
            f.server.to_string(),
            output::secs(rel),
            output::secs(f.duration_secs),
            f.to_server.packets.to_string(),
            f.to_client.packets.to_string(),
            output::bytes(f.to_server.payload_bytes),
            output::bytes(f.to_client.payload_bytes),
            f.history.clone(),
            ending(&f.ending),
        ]);
    }
    for i in [0, 3, 4, 5, 6, 7, 8] {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
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
