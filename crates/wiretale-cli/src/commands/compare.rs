//! `wiretale compare WORKING FAILING`: where the failing capture departs from the working one.

use super::common;
use crate::cli::{CaptureArgs, CompareArgs, TableFormat};
use crate::exit::{CliError, Outcome};
use crate::output;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use wiretale::analysis::compare::{
    compare_described, AttributeDifference, CaptureDescription, CompareOptions, Comparison,
    ConversationDiff, ConversationRecorder, ConversationSummary, Departure, FindingRef, MatchBasis,
};

/// One side of the comparison, for the JSON output.
#[derive(Serialize)]
struct CaptureJson {
    capture: String,
    frames: u64,
    conversations: usize,
    /// Damage that stopped reading part-way, if any.
    error: Option<String>,
    /// Bytes of the file skipped over damage read past (0 for an intact file).
    damaged_bytes: u64,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    working: CaptureJson,
    failing: CaptureJson,
    #[serde(flatten)]
    comparison: &'a Comparison,
}

/// Describes one capture as conversations while it is read (its events are not kept).
fn load(path: &Path, compare: &CompareArgs) -> Result<(CaptureArgs, CaptureDescription), CliError> {
    let args = CaptureArgs {
        capture: path.to_path_buf(),
        decode_as: compare.decode_as.clone(),
        threads: compare.threads,
        set: compare.set.clone(),
        mmap: compare.mmap,
        no_mmap: compare.no_mmap,
    };
    let mut recorder = ConversationRecorder::new(CompareOptions::default().max_steps);
    let report = common::analyse_with(&args, common::config(&args)?, &mut recorder)?;
    // Damage is reported on stderr; what was read before it is still compared.
    common::finish(&args, &report);
    Ok((args, recorder.finish(report)))
}

pub fn run(args: &CompareArgs) -> Result<Outcome, CliError> {
    if args.working.as_os_str() == "-" && args.failing.as_os_str() == "-" {
        return Err(CliError::new(
            "only one of WORKING and FAILING can be `-` (standard input)",
        ));
    }
    let positive = |x: f64| x.is_finite() && x >= 0.0;
    if !positive(args.slower_factor) || !positive(args.slower_min) {
        return Err(CliError::new(
            "--slower-factor and --slower-min must be non-negative numbers",
        ));
    }
    let (w_args, working) = load(&args.working, args)?;
    let (f_args, failing) = load(&args.failing, args)?;
    let opts = CompareOptions {
        slower_factor: args.slower_factor,
        slower_min_secs: args.slower_min,
        ..CompareOptions::default()
    };
    let diff = compare_described(&working, &failing, &opts);
    let side = |a: &CaptureArgs, an: &CaptureDescription, count: usize| CaptureJson {
        capture: a.capture.display().to_string(),
        frames: an.report.stats.frames_read,
        conversations: count,
        error: an.report.error.as_ref().map(|e| e.to_string()),
        damaged_bytes: an.report.stats.damaged_bytes,
    };
    let w_count = diff.conversations.len() + diff.only_in_working.len();
    let f_count = diff.conversations.len() + diff.only_in_failing.len();
    let mut out = output::stdout();
    match args.format {
        TableFormat::Json => output::json_line(
            &mut out,
            &CompareJson {
                working: side(&w_args, &working, w_count),
                failing: side(&f_args, &failing, f_count),
                comparison: &diff,
            },
        )?,
        TableFormat::Text => write_text(
            &mut out,
            &side(&w_args, &working, w_count),
            &side(&f_args, &failing, f_count),
            &diff,
        )?,
    }
    out.flush()?;
    Ok(if diff.different {
        Outcome::Findings
    } else {
        Outcome::Ok
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn streams(s: &ConversationSummary) -> String {
    let list: Vec<String> = s.streams.iter().map(u64::to_string).collect();
    format!(
        "{} (stream{} {})",
        plural(s.connections, "connection", "connections"),
        if s.streams.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

fn attribute_name(a: &str) -> &str {
    match a {
        "http_version" => "HTTP version",
        "keep_alive" => "keep-alive",
        "auth_offered" => "authentication offered",
        "tls_offered_version" => "TLS version offered",
        "tls_offered_cipher_suites" => "cipher suites offered",
        "tls_offered_alpn" => "ALPN offered",
        "tls_client_hello_ja4" => "Client Hello (JA4)",
        "tls_version" => "TLS version",
        "tls_cipher_suite" => "cipher suite",
        "certificate_subject" => "certificate subject",
        "certificate_chain_length" => "certificates in chain",
        other => other,
    }
}

/// The name of a property as shown, e.g. `request keep-alive` (an HTTP property says whether
/// it is the request's or the response's).
fn attribute_label(attribute: &str, actor: &str) -> String {
    match attribute {
        "http_version" | "keep_alive" => format!(
            "{} {}",
            if actor == "client" {
                "request"
            } else {
                "response"
            },
            attribute_name(attribute)
        ),
        other => attribute_name(other).to_string(),
    }
}

/// An aligned step: once when both captures put it in the same words, else each side's own
/// words (the failing side may have sent HTTP/1.0 where the working one sent HTTP/1.1).
fn write_aligned<W: Write>(
    out: &mut W,
    first: &str,
    rest: &str,
    (working, working_frame): (&str, u64),
    (failing, failing_frame): (&str, u64),
) -> std::io::Result<()> {
    if working == failing {
        writeln!(
            out,
            "{first}{working}  (working frame {working_frame}, failing frame {failing_frame})"
        )
    } else {
        writeln!(out, "{first}working: {working}  (frame {working_frame})")?;
        writeln!(out, "{rest}failing: {failing}  (frame {failing_frame})")
    }
}

fn write_departure<W: Write>(out: &mut W, d: &Departure, indent: &str) -> std::io::Result<()> {
    match &d.after {
        Some(a) => write_aligned(
            out,
            &format!("{indent}both:     "),
            &format!("{indent}          "),
            (&a.text, a.working_frame),
            (&a.failing_text, a.failing_frame),
        )?,
        None => writeln!(out, "{indent}both:     (nothing in common before it)")?,
    }
    match &d.working {
        Some(s) => writeln!(out, "{indent}working:  {}  (frame {})", s.text, s.frame)?,
        None => writeln!(out, "{indent}working:  nothing more")?,
    }
    match &d.failing {
        Some(s) => writeln!(out, "{indent}failing:  {}  (frame {})", s.text, s.frame)?,
        None => writeln!(out, "{indent}failing:  nothing more (the capture ends)")?,
    }
    for (k, a) in d.attribute_differences.iter().enumerate() {
        writeln!(
            out,
            "{indent}{}{}: working {}, failing {}",
            if k == 0 { "differs:  " } else { "          " },
            attribute_label(a.attribute, a.actor),
            a.working,
            a.failing
        )?;
    }
    Ok(())
}

/// A departure at a step sent differently, then where the steps part, when that is later.
fn write_departures<W: Write>(
    out: &mut W,
    d: &Departure,
    sequence: Option<&Departure>,
    indent: &str,
) -> std::io::Result<()> {
    write_departure(out, d, indent)?;
    if let Some(s) = sequence.filter(|s| *s != d) {
        writeln!(out, "{indent}then the steps part:")?;
        write_departure(out, s, &format!("{indent}  "))?;
    }
    Ok(())
}

/// (attribute, actor, working value, failing value).
type AttributeChange<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Attribute differences grouped by (attribute, request or response, working value, failing
/// value); changes made at the same steps (a request's HTTP version and keep-alive) share one
/// list of those steps.
fn write_attributes<W: Write>(out: &mut W, list: &[AttributeDifference]) -> std::io::Result<()> {
    let mut groups: Vec<(AttributeChange<'_>, Vec<&AttributeDifference>)> = Vec::new();
    for a in list {
        let key = (a.attribute, a.actor, a.working.as_str(), a.failing.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(a),
            None => groups.push((key, vec![a])),
        }
    }
    let frames = |steps: &[&AttributeDifference]| -> Vec<(u64, u64)> {
        steps
            .iter()
            .map(|s| (s.working_frame, s.failing_frame))
            .collect()
    };
    let mut blocks: Vec<(Vec<AttributeChange<'_>>, Vec<&AttributeDifference>)> = Vec::new();
    for (change, steps) in groups {
        match blocks.iter_mut().find(|(_, s)| frames(s) == frames(&steps)) {
            Some((changes, _)) => changes.push(change),
            None => blocks.push((vec![change], steps)),
        }
    }
    for (changes, steps) in blocks {
        for (attr, actor, w, f) in changes {
            writeln!(
                out,
                "      {}: working {w}, failing {f}",
                attribute_label(attr, actor)
            )?;
        }
        for s in steps {
            if s.step == s.failing_step {
                writeln!(
                    out,
                    "          {}  (frames {} ↔ {})",
                    s.step, s.working_frame, s.failing_frame
                )?;
            } else {
                writeln!(
                    out,
                    "          working: {}  (frame {})",
                    s.step, s.working_frame
                )?;
                writeln!(
                    out,
                    "          failing: {}  (frame {})",
                    s.failing_step, s.failing_frame
                )?;
            }
        }
    }
    Ok(())
}

fn write_conversation<W: Write>(out: &mut W, c: &ConversationDiff) -> std::io::Result<()> {
    let mark = if c.is_different() { "≠" } else { "=" };
    let counts = if c.working.connections == c.failing.connections {
        format!("{} aligned", plural(c.aligned_steps, "step", "steps"))
    } else {
        format!(
            "{} aligned; working {}, failing {}",
            plural(c.aligned_steps, "step", "steps"),
            streams(&c.working),
            streams(&c.failing)
        )
    };
    writeln!(out, "  {mark} {}   ({counts})", c.label)?;
    match c.matched_by {
        MatchBasis::Identity => {}
        MatchBasis::NameOnOtherPort => writeln!(
            out,
            "      paired by name on another port: failing {}",
            c.failing.label
        )?,
        MatchBasis::OnlyOneOnPort => writeln!(
            out,
            "      paired as the only {} :{} {} conversation of each capture: failing {}",
            c.working.identity.role,
            c.working.identity.service_port,
            c.working.identity.protocol.to_uppercase(),
            c.failing.label
        )?,
    }
    if let Some(d) = &c.departure {
        writeln!(out, "      departs:")?;
        write_departures(out, d, c.sequence_departure.as_ref(), "        ")?;
    }
    write_attributes(out, &c.attribute_differences)?;
    for t in &c.timing {
        writeln!(out, "      timing: {}", t.summary)?;
    }
    Ok(())
}

fn write_only<W: Write>(
    out: &mut W,
    title: &str,
    list: &[ConversationSummary],
) -> std::io::Result<()> {
    writeln!(out, "{title}")?;
    if list.is_empty() {
        writeln!(out, "  none")?;
    }
    for s in list {
        writeln!(
            out,
            "  {}   ({}, frames {}–{}{})",
            s.label,
            streams(s),
            s.first_frame,
            s.last_frame,
            s.ending
                .as_deref()
                .map(|e| format!("; ended: {e}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

fn write_findings<W: Write>(out: &mut W, title: &str, list: &[FindingRef]) -> std::io::Result<()> {
    writeln!(out, "{title}")?;
    if list.is_empty() {
        writeln!(out, "  none")?;
    }
    for f in list {
        writeln!(
            out,
            "  [{}] {}  (frame {}; {})",
            f.severity,
            f.id,
            f.frame,
            if f.conversations.is_empty() {
                "no conversation".to_string()
            } else {
                f.conversations.join(", ")
            }
        )?;
        writeln!(out, "     {}", f.summary)?;
    }
    Ok(())
}

fn write_text<W: Write>(
    out: &mut W,
    working: &CaptureJson,
    failing: &CaptureJson,
    c: &Comparison,
) -> std::io::Result<()> {
    // A damaged file is said so beside its name: its damage is not a difference in traffic.
    let damaged = |side: &CaptureJson| match side.damaged_bytes {
        0 => String::new(),
        n => format!("; damaged, {n} bytes skipped"),
    };
    writeln!(
        out,
        "Comparing working {} ({} frames, {}{})",
        working.capture,
        working.frames,
        plural(working.conversations, "conversation", "conversations"),
        damaged(working)
    )?;
    writeln!(
        out,
        "     with failing {} ({} frames, {}{})",
        failing.capture,
        failing.frames,
        plural(failing.conversations, "conversation", "conversations"),
        damaged(failing)
    )?;
    writeln!(out)?;
    match &c.first_departure {
        Some(d) => {
            writeln!(out, "First departure — {}", d.conversation)?;
            // Where its conversation's steps part, when the departure is a step sent
            // differently before that.
            let sequence = c
                .conversations
                .iter()
                .find(|conv| conv.departure.as_ref() == Some(d))
                .and_then(|conv| conv.sequence_departure.as_ref());
            write_departures(out, d, sequence, "  ")?;
        }
        None => writeln!(
            out,
            "First departure: none (every aligned conversation takes the same steps)"
        )?,
    }
    writeln!(out)?;
    writeln!(out, "Conversations in both")?;
    if c.conversations.is_empty() {
        writeln!(out, "  none")?;
    }
    for conv in &c.conversations {
        write_conversation(out, conv)?;
    }
    writeln!(out)?;
    write_only(out, "Only in the working capture", &c.only_in_working)?;
    write_only(out, "Only in the failing capture", &c.only_in_failing)?;
    writeln!(out)?;
    write_findings(
        out,
        "Findings only in the failing capture",
        &c.findings_only_in_failing,
    )?;
    write_findings(
        out,
        "Findings only in the working capture",
        &c.findings_only_in_working,
    )?;
    writeln!(out)?;
    // Counts of what made the verdict, so a script reading the text can see why.
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for conv in &c.conversations {
        *counts.entry(("departure", "departures")).or_default() +=
            usize::from(conv.departure.is_some());
        *counts
            .entry(("property difference", "property differences"))
            .or_default() += conv.attribute_differences.len();
        *counts
            .entry(("timing difference", "timing differences"))
            .or_default() += conv.timing.len();
    }
    *counts
        .entry((
            "conversation only in one capture",
            "conversations only in one capture",
        ))
        .or_default() += c.only_in_working.len() + c.only_in_failing.len();
    *counts
        .entry((
            "finding only in one capture",
            "findings only in one capture",
        ))
        .or_default() += c.findings_only_in_working.len() + c.findings_only_in_failing.len();
    let reasons: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|((one, many), n)| plural(*n, one, many))
        .collect();
    if c.different {
        writeln!(
            out,
            "Result: the captures differ{} (exit 1).",
            if reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", reasons.join(", "))
            }
        )?;
    } else {
        writeln!(out, "Result: no meaningful difference (exit 0).")?;
    }
    Ok(())
}
