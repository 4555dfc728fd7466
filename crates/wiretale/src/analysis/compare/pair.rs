//! The differences of one pair of conversations: where the failing one departs, which aligned
//! steps differ in their properties, which durations are much longer.

use super::align::{lcs, MatchBasis};
use super::conversation::{Conversation, Step, StepKind};
use super::{
    AlignedStep, AttributeDifference, CompareOptions, ConversationDiff, ConversationSummary,
    Departure, StepRef, TimingDifference, TimingKind, DEPARTING_ATTRIBUTES,
};
use std::collections::BTreeSet;

/// The steps a conversation is aligned on: its protocol messages, or every step when neither
/// side has a message (plain TCP).
fn units(c: &Conversation, all: bool) -> Vec<usize> {
    c.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| all || s.kind == StepKind::Message)
        .map(|(i, _)| i)
        .collect()
}

fn has_messages(c: &Conversation) -> bool {
    c.steps.iter().any(|s| s.kind == StepKind::Message)
}

/// Compares two paired conversations.
pub fn diff(
    w: &Conversation,
    f: &Conversation,
    basis: MatchBasis,
    opts: &CompareOptions,
) -> ConversationDiff {
    let all = !has_messages(w) && !has_messages(f);
    let wu = units(w, all);
    let fu = units(f, all);
    fn key(c: &Conversation, i: usize) -> &str {
        c.steps.get(i).map_or("", |s| s.key.as_str())
    }
    let wk: Vec<&str> = wu.iter().map(|&i| key(w, i)).collect();
    let fk: Vec<&str> = fu.iter().map(|&i| key(f, i)).collect();
    // Positions in wu/fu, then step indexes.
    let positions = lcs(&wk, &fk);
    let matched: Vec<(usize, usize)> = positions
        .iter()
        .filter_map(|&(a, b)| Some((*wu.get(a)?, *fu.get(b)?)))
        .collect();
    let label = w.identity.label();
    let sequence_departure = departure(&label, w, f, &wu, &fu, &positions, &matched);
    let departure =
        sent_differently(&label, w, f, &positions, &matched).or_else(|| sequence_departure.clone());
    ConversationDiff {
        departure,
        sequence_departure,
        attribute_differences: attributes(w, f, &matched),
        timing: timing(w, f, &matched, opts),
        aligned_steps: matched.len(),
        matched_by: basis,
        working: ConversationSummary::from(w),
        failing: ConversationSummary::from(f),
        label,
    }
}

/// The first place the alignment has a step on one side only.
fn departure(
    label: &str,
    w: &Conversation,
    f: &Conversation,
    wu: &[usize],
    fu: &[usize],
    positions: &[(usize, usize)],
    matched: &[(usize, usize)],
) -> Option<Departure> {
    let mut next = (0usize, 0usize);
    let mut anchor: Option<usize> = None; // index into `matched`
    let mut gap = false;
    for (k, &(a, b)) in positions.iter().enumerate() {
        if (a, b) != next {
            gap = true;
            break;
        }
        anchor = Some(k);
        next = (a.saturating_add(1), b.saturating_add(1));
    }
    if !gap && (next.0 < wu.len() || next.1 < fu.len()) {
        gap = true;
    }
    let anchor_steps = anchor.and_then(|k| matched.get(k).copied());
    let after = anchor_steps.and_then(|m| aligned_step(w, f, m));
    let (wi, fi) = if gap {
        let w_matched: BTreeSet<usize> = matched.iter().map(|m| m.0).collect();
        let f_matched: BTreeSet<usize> = matched.iter().map(|m| m.1).collect();
        (
            what_next(w, anchor_steps.map(|a| a.0), wu, &w_matched),
            what_next(f, anchor_steps.map(|a| a.1), fu, &f_matched),
        )
    } else {
        // Every message lines up: the endings still tell a reset from a close.
        let last_end = |c: &Conversation| c.steps.iter().rposition(|s| s.kind == StepKind::End);
        let (we, fe) = (last_end(w), last_end(f));
        let ws = we.and_then(|i| w.steps.get(i));
        let fs = fe.and_then(|i| f.steps.get(i));
        let differ = ws.map(|s| &s.key) != fs.map(|s| &s.key);
        let abnormal =
            ws.is_some_and(Step::is_abnormal_end) || fs.is_some_and(Step::is_abnormal_end);
        if !(differ && abnormal) {
            return None;
        }
        (we, fe)
    };
    let working = wi.and_then(|i| w.steps.get(i)).map(StepRef::from);
    let failing = fi.and_then(|i| f.steps.get(i)).map(StepRef::from);
    Some(departure_at(label, after, working, failing, Vec::new()))
}

/// A matched pair of steps as [`AlignedStep`]: each side's words and frame.
fn aligned_step(w: &Conversation, f: &Conversation, (i, j): (usize, usize)) -> Option<AlignedStep> {
    let (ws, fs) = (w.steps.get(i)?, f.steps.get(j)?);
    Some(AlignedStep {
        text: ws.text.clone(),
        working_frame: ws.frame,
        failing_frame: fs.frame,
        failing_text: fs.text.clone(),
    })
}

/// A departure and its one-sentence summary.
fn departure_at(
    label: &str,
    after: Option<AlignedStep>,
    working: Option<StepRef>,
    failing: Option<StepRef>,
    attribute_differences: Vec<AttributeDifference>,
) -> Departure {
    let said = |s: &Option<StepRef>, none: &str| match s {
        Some(s) => format!("{} (frame {})", s.text, s.frame),
        None => none.to_string(),
    };
    let mut summary = format!(
        "{label}: {}working: {}; failing: {}",
        match &after {
            Some(a) if a.text == a.failing_text => format!(
                "after {} (working frame {}, failing frame {}), ",
                a.text, a.working_frame, a.failing_frame
            ),
            Some(a) => format!(
                "after {} (working frame {}) / {} (failing frame {}), ",
                a.text, a.working_frame, a.failing_text, a.failing_frame
            ),
            None => "from the start, ".to_string(),
        },
        said(&working, "nothing more"),
        said(&failing, "nothing more (the capture ends)")
    );
    if !attribute_differences.is_empty() {
        let how: Vec<String> = attribute_differences
            .iter()
            .map(|a| {
                format!(
                    "{} (working {}, failing {})",
                    a.attribute, a.working, a.failing
                )
            })
            .collect();
        summary.push_str(&format!("; sent differently: {}", how.join(", ")));
    }
    Departure {
        conversation: label.to_string(),
        after,
        working,
        failing,
        summary,
        attribute_differences,
    }
}

/// Whether a property difference makes its step a departure: one of
/// [`DEPARTING_ATTRIBUTES`], and for keep-alive a different answer, not only a different
/// reason (`yes (HTTP/1.1 default)` and `yes (HTTP/1.1 with Connection: keep-alive)` both keep
/// the connection open).
fn departs(d: &AttributeDifference) -> bool {
    if !DEPARTING_ATTRIBUTES.contains(&d.attribute) {
        return false;
    }
    let answer = |v: &str| v.split(' ').next().map(str::to_owned);
    d.attribute != "keep_alive" || answer(&d.working) != answer(&d.failing)
}

/// The first aligned step, before the steps part, that the two sides sent differently: its
/// [`DEPARTING_ATTRIBUTES`] differ (an HTTP/1.0 request without keep-alive where the working
/// client sent HTTP/1.1). `working` and `failing` are that step on each side.
fn sent_differently(
    label: &str,
    w: &Conversation,
    f: &Conversation,
    positions: &[(usize, usize)],
    matched: &[(usize, usize)],
) -> Option<Departure> {
    let mut next = (0usize, 0usize);
    for (k, (&(a, b), &(i, j))) in positions.iter().zip(matched).enumerate() {
        if (a, b) != next {
            return None;
        }
        next = (a.saturating_add(1), b.saturating_add(1));
        let differences: Vec<AttributeDifference> = attributes(w, f, &[(i, j)])
            .into_iter()
            .filter(departs)
            .collect();
        if differences.is_empty() {
            continue;
        }
        let after = k
            .checked_sub(1)
            .and_then(|p| matched.get(p).copied())
            .and_then(|m| aligned_step(w, f, m));
        return Some(departure_at(
            label,
            after,
            w.steps.get(i).map(StepRef::from),
            f.steps.get(j).map(StepRef::from),
            differences,
        ));
    }
    None
}

/// What a side did after its last aligned step: the first step of its own (unaligned), or the
/// first abnormal ending if that came earlier; failing both, the first ending.
fn what_next(
    c: &Conversation,
    after: Option<usize>,
    units: &[usize],
    matched: &BTreeSet<usize>,
) -> Option<usize> {
    let from = after.map_or(0, |i| i.saturating_add(1));
    let rest = from..c.steps.len();
    let own = rest
        .clone()
        .find(|i| units.contains(i) && !matched.contains(i));
    let abnormal = rest
        .clone()
        .find(|&i| c.steps.get(i).is_some_and(Step::is_abnormal_end));
    let end = rest
        .clone()
        .find(|&i| c.steps.get(i).is_some_and(|s| s.kind == StepKind::End));
    match (own, abnormal) {
        (Some(o), Some(a)) => Some(o.min(a)),
        (Some(o), None) => Some(o),
        (None, Some(a)) => Some(a),
        (None, None) => end,
    }
}

/// Properties that differ between aligned steps.
fn attributes(
    w: &Conversation,
    f: &Conversation,
    matched: &[(usize, usize)],
) -> Vec<AttributeDifference> {
    let mut out = Vec::new();
    for &(i, j) in matched {
        let (Some(ws), Some(fs)) = (w.steps.get(i), f.steps.get(j)) else {
            continue;
        };
        let names: BTreeSet<&'static str> =
            ws.attrs.keys().chain(fs.attrs.keys()).copied().collect();
        for name in names {
            let wv = ws.attrs.get(name).map_or("-", String::as_str);
            let fv = fs.attrs.get(name).map_or("-", String::as_str);
            if wv != fv {
                out.push(AttributeDifference {
                    step: ws.text.clone(),
                    attribute: name,
                    working: wv.to_string(),
                    failing: fv.to_string(),
                    working_frame: ws.frame,
                    failing_frame: fs.frame,
                    failing_step: fs.text.clone(),
                    actor: ws.actor,
                });
            }
        }
    }
    out
}

/// The longest silence between two steps of one connection (or before the capture's end):
/// (seconds, from frame, to frame).
fn longest_idle(c: &Conversation) -> Option<(f64, u64, u64)> {
    let mut best: Option<(f64, u64, u64)> = None;
    let mut consider = |secs: f64, from: u64, to: u64| {
        if !matches!(best, Some(b) if b.0 >= secs) {
            best = Some((secs, from, to));
        }
    };
    for pair in c.steps.windows(2) {
        if let [a, b] = pair {
            if a.stream == b.stream {
                // From the step's last event: a step of application data spans many runs.
                let (last_frame, last_time) = a.last;
                consider(b.time.seconds_since(last_time), last_frame, b.frame);
            }
        }
    }
    for s in &c.steps {
        if let Some(idle) = s.idle_secs {
            consider(idle, s.frame, s.frame);
        }
        if let Some((gap, from, to)) = s.longest_gap_inside {
            consider(gap, from, to);
        }
    }
    best
}

fn secs(x: f64) -> String {
    format!("{x:.1} s")
}

/// Durations much longer in the failing conversation.
fn timing(
    w: &Conversation,
    f: &Conversation,
    matched: &[(usize, usize)],
    opts: &CompareOptions,
) -> Vec<TimingDifference> {
    let mut out = Vec::new();
    if let (Some(wt), Some(ft)) = (w.tls_handshake_secs, f.tls_handshake_secs) {
        if opts.is_slower(wt, ft) {
            out.push(TimingDifference {
                kind: TimingKind::TlsHandshake,
                what: "TLS handshake (Client Hello to the later Finished)".to_string(),
                working_secs: wt,
                failing_secs: ft,
                working_frames: Vec::new(),
                failing_frames: Vec::new(),
                summary: format!(
                    "the TLS handshake took {} in the failing capture, {} in the working one",
                    secs(ft),
                    secs(wt)
                ),
            });
        }
    }
    for pair in matched.windows(2) {
        let [(wa, fa), (wb, fb)] = pair else { continue };
        let (Some(w0), Some(w1), Some(f0), Some(f1)) = (
            w.steps.get(*wa),
            w.steps.get(*wb),
            f.steps.get(*fa),
            f.steps.get(*fb),
        ) else {
            continue;
        };
        // From the earlier step's last event: a step of application data spans its runs.
        let ((w0_frame, w0_time), (f0_frame, f0_time)) = (w0.last, f0.last);
        let (dw, df) = (
            w1.time.seconds_since(w0_time),
            f1.time.seconds_since(f0_time),
        );
        if opts.is_slower(dw, df) {
            out.push(TimingDifference {
                kind: TimingKind::StepDelay,
                what: format!("from “{}” to “{}”", w0.text, w1.text),
                working_secs: dw,
                failing_secs: df,
                working_frames: vec![w0_frame, w1.frame],
                failing_frames: vec![f0_frame, f1.frame],
                summary: format!(
                    "“{}” came {} after “{}” in the failing capture (frames {} → {}), {} in the working one (frames {} → {})",
                    w1.text,
                    secs(df),
                    w0.text,
                    f0_frame,
                    f1.frame,
                    secs(dw),
                    w0_frame,
                    w1.frame
                ),
            });
        }
    }
    let (wi, fi) = (longest_idle(w), longest_idle(f));
    if let Some((fs, ff, ft)) = fi {
        let (ws, wf, wt) = wi.unwrap_or((0.0, 0, 0));
        if opts.is_slower(ws, fs) {
            let at = |from: u64, to: u64| {
                if from == to {
                    format!("after frame {from}, until the capture ends")
                } else {
                    format!("frames {from} → {to}")
                }
            };
            out.push(TimingDifference {
                kind: TimingKind::Idle,
                what: "longest silence on a connection".to_string(),
                working_secs: ws,
                failing_secs: fs,
                working_frames: if wi.is_some() { vec![wf, wt] } else { Vec::new() },
                failing_frames: vec![ff, ft],
                summary: format!(
                    "a connection sat idle {} in the failing capture ({}); at most {} in the working one",
                    secs(fs),
                    at(ff, ft),
                    secs(ws)
                ),
            });
        }
    }
    out
}
