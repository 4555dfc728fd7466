//! `wiretale story`: the narrative, the findings and the root cause.

use super::common;
use crate::cli::{FailOn, StoryArgs, StoryFormat};
use crate::exit::{CliError, Outcome};
use crate::output;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use wiretale::analysis::{
    Analysis, Finding, Index, LineKind, RootCause, Severity, StoryLine, StoryOptions,
};
use wiretale::pipeline::Stats;
use wiretale::timeline::{Collector, Event, EventFilter};

#[derive(Serialize)]
struct StoryJson<'a> {
    capture: String,
    events: &'a [Event],
    story: &'a [StoryLine],
    findings: &'a [Finding],
    root_cause: &'a Option<RootCause>,
    stats: &'a Stats,
    error: Option<String>,
}

pub fn run(args: &StoryArgs) -> Result<Outcome, CliError> {
    let filter = common::filter(&args.filter)?;
    let mut config = common::config(&args.capture)?;
    config.show_secrets = args.show_secrets;
    let mut collector = Collector::default();
    let report = common::analyse_with(&args.capture, config, &mut collector)?;
    let analysis = Analysis::from_parts(collector.events, collector.flows, report);
    let opts = StoryOptions {
        idle_secs: args.idle.max(0.0),
    };
    let index = analysis.index();
    let mut filter = filter.map(EventFilter::new);
    let keep = filter.as_mut().map(|f| move |e: &Event| f.matches(e));
    let story = analysis.story_with(&index, keep, &opts);
    let mut out = output::stdout();
    let name = args.capture.capture.display().to_string();
    match args.format {
        StoryFormat::Json => output::json_line(
            &mut out,
            &StoryJson {
                capture: name,
                events: &analysis.events,
                story: &story,
                findings: &analysis.diagnosis.findings,
                root_cause: &analysis.diagnosis.root_cause,
                stats: &analysis.report.stats,
                error: analysis.report.error.as_ref().map(|e| e.to_string()),
            },
        )?,
        StoryFormat::Mermaid => write_mermaid(&mut out, &story, &analysis)?,
        StoryFormat::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write_text(&mut out, &name, &story, &analysis, &index, colour)?
        }
    }
    out.flush()?;
    let damaged = common::finish(&args.capture, &analysis.report);
    let threshold = match args.fail_on {
        Some(FailOn::Warning) => Some(Severity::Warning),
        Some(FailOn::Error) => Some(Severity::Error),
        None => None,
    };
    if let (Some(t), Some(worst)) = (threshold, analysis.diagnosis.worst()) {
        if worst >= t {
            return Ok(Outcome::Findings);
        }
    }
    Ok(damaged)
}

fn party(p: &Option<wiretale::analysis::Party>) -> String {
    p.as_ref()
        .map(|p| format!("{} {}", p.role, p.addr))
        .unwrap_or_default()
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn write_text<W: Write>(
    out: &mut W,
    name: &str,
    story: &[StoryLine],
    a: &Analysis,
    index: &Index<'_>,
    colour: bool,
) -> std::io::Result<()> {
    let s = &a.report.stats;
    writeln!(
        out,
        "{} — {} frame{}, {} TCP connection{}, {:.1} s",
        paint(colour, "1", &format!("Story of {name}")),
        s.frames_read,
        if s.frames_read == 1 { "" } else { "s" },
        a.flows.len(),
        if a.flows.len() == 1 { "" } else { "s" },
        s.duration_secs()
    )?;
    // Who's who, from the evidence (SYN, absolute-form requests, CONNECT, 407).
    let mut clients: Vec<String> = Vec::new();
    let mut servers: Vec<String> = Vec::new();
    let mut proxies: Vec<String> = Vec::new();
    for c in index.conns.values() {
        let ip = c.client.ip().to_string();
        if !clients.contains(&ip) {
            clients.push(ip);
        }
        let list = if c.is_proxy {
            &mut proxies
        } else {
            &mut servers
        };
        let s = c.server.to_string();
        if !list.contains(&s) {
            list.push(s);
        }
    }
    for (role, list) in [
        ("clients", &clients),
        ("servers", &servers),
        ("proxies", &proxies),
    ] {
        if !list.is_empty() {
            let shown: Vec<&str> = list.iter().take(8).map(String::as_str).collect();
            let more = if list.len() > 8 {
                format!(" and {} more", list.len() - 8)
            } else {
                String::new()
            };
            writeln!(out, "  {role:<8} {}{more}", shown.join(", "))?;
        }
    }
    writeln!(out)?;
    let from_w = story
        .iter()
        .map(|l| party(&l.from).len())
        .max()
        .unwrap_or(0);
    let to_w = story.iter().map(|l| party(&l.to).len()).max().unwrap_or(0);
    let frame_w = story
        .iter()
        .map(|l| l.frame.to_string().len())
        .max()
        .unwrap_or(1);
    for l in story {
        match l.kind {
            LineKind::Idle => writeln!(
                out,
                "{:>w$}  {}",
                "",
                paint(colour, "2", &l.text),
                w = frame_w + 6 + 12
            )?,
            LineKind::Step => writeln!(
                out,
                "Frame {:<fw$}  {:>+9.3} s  {:<from_w$} → {:<to_w$}  {:<4}  {}",
                l.frame,
                l.relative,
                party(&l.from),
                party(&l.to),
                l.proto,
                l.text,
                fw = frame_w
            )?,
        }
    }
    writeln!(out)?;
    let findings = &a.diagnosis.findings;
    writeln!(out, "{}", paint(colour, "1", "Findings"))?;
    if findings.is_empty() {
        writeln!(out, "  none")?;
    }
    for (i, f) in findings.iter().enumerate() {
        let sev = match f.severity {
            Severity::Error => paint(colour, "31;1", "error"),
            Severity::Warning => paint(colour, "33;1", "warning"),
            Severity::Info => paint(colour, "36", "info"),
        };
        let frames: Vec<String> = f.frames.iter().take(12).map(|n| n.to_string()).collect();
        let streams: Vec<String> = f.streams.iter().map(|n| n.to_string()).collect();
        let streams = match streams.len() {
            0 => String::new(),
            1 => format!("; stream {}", streams.join("")),
            _ => format!("; streams {}", streams.join(", ")),
        };
        writeln!(
            out,
            "  {}. [{sev}] {}  (frame {}; frames {}{}{streams})",
            i + 1,
            paint(colour, "1", f.id),
            f.frame,
            frames.join(", "),
            if f.frames.len() > 12 { ", …" } else { "" },
        )?;
        writeln!(out, "     {}", f.summary)?;
        for e in &f.evidence {
            writeln!(out, "       - {e}")?;
        }
        writeln!(out, "     Try: {}", f.suggestion)?;
    }
    if let Some(rc) = &a.diagnosis.root_cause {
        writeln!(out)?;
        writeln!(out, "{}", paint(colour, "1", "Root cause"))?;
        writeln!(out, "  {}", rc.chain.join(" → "))?;
        for line in wrap(&rc.summary, 96) {
            writeln!(out, "  {line}")?;
        }
        for line in wrap(&format!("Fix: {}", rc.fix), 96) {
            writeln!(out, "  {line}")?;
        }
    }
    let footer = accounting(s, a.report.error.is_some());
    if !footer.is_empty() {
        writeln!(out)?;
        for line in footer {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The footer: how every frame was accounted for and which limits were reached, when anything
/// was skipped, missing, damaged or cut (nothing otherwise).
fn accounting(s: &Stats, damaged: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if s.frames_skipped() > 0 || damaged || s.gap_bytes > 0 || !s.limits.is_empty() {
        let reasons: Vec<String> = s
            .skipped
            .iter()
            .map(|(r, n)| format!("{n} {}", r.describe()))
            .collect();
        lines.push(format!(
            "Frames: {} read, {} analysed as TCP, {} not analysed{}{}",
            s.frames_read,
            s.frames_tcp,
            s.frames_skipped(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            if s.gap_bytes > 0 {
                format!("; {} bytes missing from TCP streams", s.gap_bytes)
            } else {
                String::new()
            }
        ));
    }
    if !s.limits.is_empty() {
        let hits: Vec<String> = s
            .limits
            .iter()
            .map(|(limit, hits)| format!("{} {}", hits.count, limit.name()))
            .collect();
        lines.push(format!(
            "Limits reached: {} (see the limits-reached finding)",
            hits.join(", ")
        ));
    }
    lines
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Mermaid forbids a few characters in messages; keep the text readable without them.
fn mermaid_text(s: &str) -> String {
    s.replace(';', ",")
        .replace('#', "no. ")
        .replace(['{', '}'], "")
}

fn write_mermaid<W: Write>(out: &mut W, story: &[StoryLine], a: &Analysis) -> std::io::Result<()> {
    // Clients are shown by address, servers and proxies by address and port.
    let label = |p: &wiretale::analysis::Party| {
        if p.role == "client" {
            format!("client {}", p.addr.ip())
        } else {
            format!("{} {}", p.role, p.addr)
        }
    };
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for l in story {
        for p in [&l.from, &l.to].into_iter().flatten() {
            let name = label(p);
            if !ids.contains_key(&name) {
                let id = format!("P{}", ids.len() + 1);
                ids.insert(name.clone(), id);
                order.push(name);
            }
        }
    }
    writeln!(out, "```mermaid")?;
    writeln!(out, "sequenceDiagram")?;
    for name in &order {
        writeln!(
            out,
            "    participant {} as {}",
            ids[name],
            mermaid_text(name)
        )?;
    }
    let mut last_pair: Option<(String, String)> = None;
    for l in story {
        match l.kind {
            LineKind::Step => {
                let (Some(from), Some(to)) = (&l.from, &l.to) else {
                    continue;
                };
                let (f, t) = (ids[&label(from)].clone(), ids[&label(to)].clone());
                let arrow = if l.proto == "TCP" { "-->>" } else { "->>" };
                writeln!(
                    out,
                    "    {f}{arrow}{t}: F{} {} {}",
                    l.frame,
                    l.proto,
                    mermaid_text(&l.text)
                )?;
                last_pair = Some((f, t));
            }
            LineKind::Idle => {
                if let Some((f, t)) = &last_pair {
                    writeln!(out, "    Note over {f},{t}: {}", mermaid_text(&l.text))?;
                }
            }
        }
    }
    if let Some(rc) = &a.diagnosis.root_cause {
        if let Some(first) = order.first() {
            writeln!(
                out,
                "    Note over {}: Root cause: {}",
                ids[first],
                mermaid_text(&rc.chain.join(" → "))
            )?;
        }
    }
    writeln!(out, "```")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretale::net::SkipReason;
    use wiretale::pipeline::{Limit, LimitHits};

    #[test]
    fn nothing_skipped_no_footer() {
        let s = Stats {
            frames_read: 10,
            frames_tcp: 10,
            ..Stats::default()
        };
        assert!(accounting(&s, false).is_empty());
    }

    #[test]
    fn footer_accounts_for_every_frame_and_names_the_limits() {
        let mut s = Stats {
            frames_read: 10,
            frames_tcp: 6,
            gap_bytes: 100,
            ..Stats::default()
        };
        s.skipped.insert(SkipReason::NonTcp, 3);
        s.skipped.insert(SkipReason::Truncated, 1);
        s.limits.insert(
            Limit::HeadTooLarge,
            LimitHits {
                count: 2,
                first_frame: Some(4),
                value: 65536,
            },
        );
        assert_eq!(
            accounting(&s, false),
            vec![
                "Frames: 10 read, 6 analysed as TCP, 4 not analysed (3 IP but not TCP, 1 headers truncated); 100 bytes missing from TCP streams",
                "Limits reached: 2 head_too_large (see the limits-reached finding)",
            ]
        );
    }

    #[test]
    fn damage_alone_shows_the_frame_count() {
        let s = Stats {
            frames_read: 3,
            frames_tcp: 3,
            ..Stats::default()
        };
        assert_eq!(
            accounting(&s, true),
            vec!["Frames: 3 read, 3 analysed as TCP, 0 not analysed"]
        );
    }
}
