//! Renders `testdata/README.md` from the scenarios, so its frame numbers cannot go stale.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Format, Scenario};
use crate::capture::{BlockKind, Frame};
use crate::endian::Endian;
use crate::error::Result;
use crate::pcap::TsResolution;

const INTRO: &str = "# testdata: wiretale's own synthetic captures

Everything in this directory is generated. Rebuild it with the one command

```sh
cargo run -p wiretale-fixtures --bin build-testdata
```

which is idempotent (same bytes every run: fixed clock, fixed ISNs, no randomness) and whose
output is committed. `cargo test -p wiretale-fixtures --test testdata_up_to_date` rebuilds into
a temporary directory and fails if any file here differs, is missing, or is extra, so change the
scenarios in `crates/wiretale-fixtures/src/scenarios/` and rerun the command instead of editing
files here.

The tables list every frame (runs of background filler frames are collapsed). `tcp.stream` is
Wireshark's conversation index for that frame; notes starting with `tshark:` name the expert
info TShark shows for the frame. Both were checked against TShark 4.0 with
`cargo test -p wiretale-fixtures --test tshark_agrees -- --ignored` (needs `tshark` on the
PATH; it also checks that TShark finds no malformed packet and no bad IP/TCP/UDP checksum).
Times are seconds since the first frame of the file. Sequence and acknowledgment numbers in the
summaries are relative, as Wireshark shows them; `Win` is the raw (unscaled) window field.
";

fn format_line(s: &Scenario) -> String {
    let iface = s.capture.interfaces();
    let links: Vec<String> = iface.iter().map(|i| i.link_type.to_string()).collect();
    match &s.format {
        Format::Pcap(o) => {
            let endian = match o.endian {
                Endian::Little => "little-endian",
                Endian::Big => "big-endian",
            };
            let (magic, res) = match (o.endian, o.resolution) {
                (_, TsResolution::Micro) => ("a1b2c3d4", "microsecond"),
                (_, TsResolution::Nano) => ("a1b23c4d", "nanosecond"),
            };
            let snaplen = iface.first().map_or(0, |i| i.snaplen);
            format!(
                "classic pcap, {endian}, {res} timestamps (magic 0x{magic}), {}, snaplen {snaplen}",
                links.join(", ")
            )
        }
        Format::Pcapng(o) => {
            let idbs: Vec<String> = iface
                .iter()
                .enumerate()
                .map(|(n, i)| {
                    let res = match i.tsresol {
                        Some(r) => format!("if_tsresol {r}"),
                        None => "no if_tsresol (µs)".to_owned(),
                    };
                    let name = i
                        .name
                        .as_deref()
                        .map(|n| format!(" \"{n}\""))
                        .unwrap_or_default();
                    format!(
                        "IDB {n}{name}: {}, {res}, snaplen {}",
                        i.link_type, i.snaplen
                    )
                })
                .collect();
            let endian = match o.endian {
                Endian::Little => "little-endian",
                Endian::Big => "big-endian",
            };
            let comment = o
                .section_comment
                .as_deref()
                .map(|c| format!(", SHB comment \"{c}\""))
                .unwrap_or_default();
            format!("pcapng, {endian}{comment}; {}", idbs.join("; "))
        }
    }
}

fn nanosecond_file(s: &Scenario) -> bool {
    match &s.format {
        Format::Pcap(o) => o.resolution == TsResolution::Nano,
        Format::Pcapng(_) => s
            .capture
            .interfaces()
            .iter()
            .any(|i| i.tsresol.is_some_and(|r| r > 6)),
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The timestamp as the file stores it: truncated to the interface's resolution (None for a
/// Simple Packet Block, which has no timestamp).
fn stored_time(s: &Scenario, f: &Frame) -> Option<Duration> {
    let digits = match &s.format {
        Format::Pcap(o) => match o.resolution {
            TsResolution::Micro => 6,
            TsResolution::Nano => 9,
        },
        Format::Pcapng(_) => {
            if f.block == BlockKind::Simple {
                return None;
            }
            let iface = s
                .capture
                .interfaces()
                .get(usize::try_from(f.interface).unwrap_or(usize::MAX));
            iface.and_then(|i| i.tsresol).unwrap_or(6)
        }
    };
    let unit = 10u32
        .checked_pow(9u32.saturating_sub(u32::from(digits)))
        .unwrap_or(1);
    let nanos = f.timestamp.subsec_nanos() / unit * unit;
    Some(Duration::new(f.timestamp.secs(), nanos))
}

fn frame_row(out: &mut String, s: &Scenario, f: &Frame, first: Option<&Frame>, multi_if: bool) {
    let start = first.and_then(|t| stored_time(s, t)).unwrap_or_default();
    let time = match stored_time(s, f) {
        None => "–".to_owned(),
        Some(t) => {
            let rel = t.saturating_sub(start);
            if nanosecond_file(s) {
                format!("{}.{:09}", rel.as_secs(), rel.subsec_nanos())
            } else {
                format!("{}.{:06}", rel.as_secs(), rel.subsec_micros())
            }
        }
    };
    let mut notes = f.notes.clone();
    match f.block {
        BlockKind::Enhanced => {}
        BlockKind::Simple => notes.insert(0, "Simple Packet Block (no timestamp)".to_owned()),
        BlockKind::ObsoletePacket => notes.insert(0, "obsolete Packet Block (type 2)".to_owned()),
    }
    if let Some(c) = &f.comment {
        notes.insert(0, format!("packet comment \"{c}\""));
    }
    let snaplen = s
        .capture
        .interfaces()
        .get(usize::try_from(f.interface).unwrap_or(usize::MAX))
        .map(|i| i.snaplen);
    if let Some(snap) = snaplen.and_then(|n| usize::try_from(n).ok()) {
        if snap != 0 && f.data.len() > snap {
            notes.insert(
                0,
                format!("truncated: incl_len {snap} < orig_len {}", f.data.len()),
            );
        }
    }
    let stream = f
        .tcp_stream
        .map_or_else(|| "–".to_owned(), |n| n.to_string());
    let iface = if multi_if {
        format!(" {} |", f.interface)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "| {} | {time} |{iface} {} | {stream} | {} |",
        f.number,
        escape(&f.summary),
        escape(&notes.join("; "))
    );
}

fn scenario_section(out: &mut String, s: &Scenario) -> Result<()> {
    let bytes = s.bytes()?;
    let frames = s.capture.frames();
    let _ = writeln!(out, "## `{}` — {}\n", s.file_name, s.title);
    let _ = writeln!(out, "{}\n", s.description.trim());
    let _ = writeln!(
        out,
        "*Format:* {}. {} frames, {} bytes.\n",
        format_line(s),
        frames.len(),
        bytes.len()
    );
    if !s.facts.is_empty() {
        let _ = writeln!(out, "Expected facts:\n");
        for fact in &s.facts {
            let _ = writeln!(out, "- {fact}");
        }
        out.push('\n');
    }
    let multi_if = s.capture.interfaces().len() > 1;
    if multi_if {
        let _ = writeln!(
            out,
            "| No. | Time | If | Summary | tcp.stream | Notes |\n|---|---|---|---|---|---|"
        );
    } else {
        let _ = writeln!(
            out,
            "| No. | Time | Summary | tcp.stream | Notes |\n|---|---|---|---|---|"
        );
    }
    let first = frames.first();
    let mut i = 0usize;
    while let Some(f) = frames.get(i) {
        let run = frames.get(i..).map_or(0, |rest| {
            rest.iter()
                .take_while(|g| g.filler && g.notes.is_empty())
                .count()
        });
        if run >= 3 {
            let last = frames
                .get(i.saturating_add(run).saturating_sub(1))
                .map_or(f.number, |g| g.number);
            let iface = if multi_if { " |" } else { "" };
            let _ = writeln!(
                out,
                "| {}–{last} | |{iface} background filler: {run} frames of DNS query/response, ARP, ICMP echo | – | |",
                f.number
            );
            i = i.saturating_add(run);
        } else {
            frame_row(out, s, f, first, multi_if);
            i = i.saturating_add(1);
        }
    }
    out.push('\n');
    Ok(())
}

/// The whole README for `scenarios`.
pub fn readme(scenarios: &[Scenario]) -> Result<String> {
    let mut out = String::from(INTRO);
    out.push_str("\n## Files\n\n| File | Frames | Shows |\n|---|---|---|\n");
    for s in scenarios {
        let anchor: String = format!("{}--{}", s.file_name, s.title)
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
                ' ' => Some('-'),
                _ => None,
            })
            .collect();
        let _ = writeln!(
            out,
            "| [`{}`](#{anchor}) | {} | {} |",
            s.file_name,
            s.capture.frames().len(),
            s.title
        );
    }
    out.push('\n');
    for s in scenarios {
        scenario_section(&mut out, s)?;
    }
    Ok(out)
}
