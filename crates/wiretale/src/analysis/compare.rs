//! Compare a working capture with a failing one: where the failing one first departs from the
//! working one, what exists in only one of them, which findings only one has, and which
//! timings differ enough to matter.
//!
//! Captures are aligned by what their connections are for, never by addresses, ports or
//! frame numbers (see [`conversation`]): connections become [`Conversation`]s keyed by an
//! [`Identity`] (server role and service port, protocol, TLS SNI / HTTP host and path /
//! CONNECT authority); conversations are paired across the captures ([`align::pair`]); the
//! protocol messages of each pair are aligned as a longest common subsequence of their keys
//! ([`align::lcs`]). `docs/compare.md` documents the rules, the JSON and the limits.
//!
//! ```no_run
//! use wiretale::analysis::compare::{compare, CompareOptions};
//! use wiretale::analysis::Analysis;
//! use wiretale::pipeline::AnalyzerConfig;
//!
//! let config = AnalyzerConfig::default();
//! let working = Analysis::of_path("case-study-working.pcapng", &config)?;
//! let failing = Analysis::of_path("case-study.pcapng", &config)?;
//! let diff = compare(&working, &failing, &CompareOptions::default());
//! if let Some(d) = &diff.first_departure {
//!     println!("{}", d.summary);
//! }
//! # Ok::<(), wiretale::capture::CaptureError>(())
//! ```

pub mod align;
pub mod conversation;
mod findings;
mod pair;
mod recorder;

pub use align::{MatchBasis, MAX_ALIGNED_STEPS};
pub use conversation::{conversations, Conversation, Identity, Step, StepKind};
pub use recorder::{CaptureDescription, ConversationRecorder};

use super::{Analysis, Finding, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Settings of a comparison.
#[derive(Debug, Clone, Copy)]
pub struct CompareOptions {
    /// A duration counts as a difference when the failing one is more than this many times
    /// the working one ...
    pub slower_factor: f64,
    /// ... and longer by more than this many seconds.
    pub slower_min_secs: f64,
    /// Steps kept per conversation (at most [`MAX_ALIGNED_STEPS`]).
    pub max_steps: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            slower_factor: 3.0,
            slower_min_secs: 1.0,
            max_steps: 1000,
        }
    }
}

impl CompareOptions {
    /// Whether `failing` seconds is slow enough against `working` to report.
    pub fn is_slower(&self, working: f64, failing: f64) -> bool {
        failing > working * self.slower_factor && failing - working > self.slower_min_secs
    }
}

/// A step named in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRef {
    /// Frame that completed it.
    pub frame: u64,
    /// Seconds since its capture's first frame.
    pub offset_secs: f64,
    /// TCP stream.
    pub stream: u64,
    /// `client`, `server`, `proxy` or `capture`.
    pub actor: &'static str,
    /// What happened.
    pub text: String,
}

impl From<&Step> for StepRef {
    fn from(s: &Step) -> Self {
        StepRef {
            frame: s.frame,
            offset_secs: s.offset_secs,
            stream: s.stream,
            actor: s.actor,
            text: s.text.clone(),
        }
    }
}

/// The last step both captures took before they parted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlignedStep {
    /// The step in the working capture's words.
    pub text: String,
    /// Its frame in the working capture.
    pub working_frame: u64,
    /// Its frame in the failing capture.
    pub failing_frame: u64,
    /// The step in the failing capture's words (the same as `text` unless, say, the HTTP
    /// version, a URL or an amount of application data differs).
    pub failing_text: String,
}

/// Where a conversation of the failing capture stops doing what the working one did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Departure {
    /// The conversation (its working label).
    pub conversation: String,
    /// The last step both took, if any.
    pub after: Option<AlignedStep>,
    /// What the working capture did next (`None`: nothing more).
    pub working: Option<StepRef>,
    /// What the failing capture did instead (`None`: nothing more).
    pub failing: Option<StepRef>,
    /// One sentence.
    pub summary: String,
    /// When both sides took the step but sent it differently (a request in another HTTP
    /// version or with other keep-alive, see [`DEPARTING_ATTRIBUTES`]): how it differs
    /// (`working` and `failing` are then that step on each side). Empty when one side took a
    /// step the other did not.
    pub attribute_differences: Vec<AttributeDifference>,
}

/// The properties that make an aligned step a departure when they differ: they decide whether
/// the connection stays open after the message, which connection-bound exchanges (NTLM and
/// Negotiate authentication) need. Other properties are reported as differences only.
pub const DEPARTING_ATTRIBUTES: [&str; 2] = ["http_version", "keep_alive"];

/// A property of one aligned step that differs, e.g. the HTTP version of a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeDifference {
    /// The step in the working capture's words.
    pub step: String,
    /// The property: `http_version`, `keep_alive`, `auth_offered`, `tls_version`, ...
    pub attribute: &'static str,
    /// Its value in the working capture (`-`: absent).
    pub working: String,
    /// Its value in the failing capture (`-`: absent).
    pub failing: String,
    /// The step's frame in the working capture.
    pub working_frame: u64,
    /// The step's frame in the failing capture.
    pub failing_frame: u64,
    /// The step in the failing capture's words (the same as `step` unless they differ, e.g.
    /// in the HTTP version).
    pub failing_step: String,
    /// Who took the step (the same on both sides): `client` (an HTTP request), `server` or
    /// `proxy` (a response).
    pub actor: &'static str,
}

/// What a timing difference measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimingKind {
    /// The time between two consecutive aligned steps.
    StepDelay,
    /// The longest silence on any connection of the conversation.
    Idle,
    /// Client Hello to completed TLS handshake.
    TlsHandshake,
}

/// A duration that is much longer in the failing capture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingDifference {
    /// What was measured.
    pub kind: TimingKind,
    /// Between which steps, in words.
    pub what: String,
    /// Seconds in the working capture.
    pub working_secs: f64,
    /// Seconds in the failing capture.
    pub failing_secs: f64,
    /// The frames it was measured between, working capture.
    pub working_frames: Vec<u64>,
    /// The frames it was measured between, failing capture.
    pub failing_frames: Vec<u64>,
    /// One sentence.
    pub summary: String,
}

/// One conversation of one capture, in short.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationSummary {
    /// What it is.
    pub identity: Identity,
    /// [`Identity::label`].
    pub label: String,
    /// Number of TCP connections.
    pub connections: usize,
    /// Their streams.
    pub streams: Vec<u64>,
    /// First frame.
    pub first_frame: u64,
    /// Last frame.
    pub last_frame: u64,
    /// Number of steps.
    pub steps: usize,
    /// Steps were dropped at the cap.
    pub truncated: bool,
    /// TLS handshake duration, when one completed.
    pub tls_handshake_secs: Option<f64>,
    /// How its last connection ended (its first FIN, RST, unanswered SYN or open at the
    /// capture's end), if known.
    pub ending: Option<String>,
}

impl From<&Conversation> for ConversationSummary {
    fn from(c: &Conversation) -> Self {
        ConversationSummary {
            identity: c.identity.clone(),
            label: c.identity.label(),
            connections: c.streams.len(),
            streams: c.streams.clone(),
            first_frame: c.first_frame,
            last_frame: c.last_frame,
            steps: c.steps.len(),
            truncated: c.truncated,
            tls_handshake_secs: c.tls_handshake_secs,
            ending: c.steps.last().and_then(|last| {
                c.steps
                    .iter()
                    .find(|s| s.stream == last.stream && s.kind == StepKind::End)
                    .map(|s| s.text.clone())
            }),
        }
    }
}

/// A conversation found in both captures, and how they differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationDiff {
    /// The working conversation's label.
    pub label: String,
    /// How the two were paired.
    pub matched_by: MatchBasis,
    /// The working side.
    pub working: ConversationSummary,
    /// The failing side.
    pub failing: ConversationSummary,
    /// Steps aligned between the two.
    pub aligned_steps: usize,
    /// Where the failing side departs, if it does: the first step only one side took, or
    /// an earlier aligned step sent differently (see [`DEPARTING_ATTRIBUTES`]).
    pub departure: Option<Departure>,
    /// Aligned steps whose properties differ.
    pub attribute_differences: Vec<AttributeDifference>,
    /// Durations much longer on the failing side.
    pub timing: Vec<TimingDifference>,
    /// Where the two sides' steps part: the first step only one side took (or endings that
    /// differ), whatever was sent differently before it. The same as `departure` unless
    /// that is an aligned step sent differently.
    pub sequence_departure: Option<Departure>,
}

impl ConversationDiff {
    /// Whether anything meaningful differs (the number of connections alone does not).
    pub fn is_different(&self) -> bool {
        self.departure.is_some()
            || !self.attribute_differences.is_empty()
            || !self.timing.is_empty()
    }
}

/// A finding named in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRef {
    /// Finding id.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Frame it is best seen at (in its own capture).
    pub frame: u64,
    /// The conversations it concerns (working labels for paired conversations).
    pub conversations: Vec<String>,
    /// Its summary.
    pub summary: String,
}

/// Everything two captures differ in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Whether any meaningful difference was found (the CLI's exit code 1).
    pub different: bool,
    /// The earliest departure in the failing capture (by the failing frame where it shows).
    pub first_departure: Option<Departure>,
    /// Conversations found in both, in working order.
    pub conversations: Vec<ConversationDiff>,
    /// Conversations only the working capture has.
    pub only_in_working: Vec<ConversationSummary>,
    /// Conversations only the failing capture has.
    pub only_in_failing: Vec<ConversationSummary>,
    /// Findings only the working capture has (same id, severity and conversations).
    pub findings_only_in_working: Vec<FindingRef>,
    /// Findings only the failing capture has.
    pub findings_only_in_failing: Vec<FindingRef>,
}

/// Compares two analysed captures.
pub fn compare(working: &Analysis, failing: &Analysis, opts: &CompareOptions) -> Comparison {
    let max_steps = opts.max_steps.clamp(1, MAX_ALIGNED_STEPS);
    compare_conversations(
        &conversations(working, max_steps),
        &working.diagnosis.findings,
        &conversations(failing, max_steps),
        &failing.diagnosis.findings,
        opts,
    )
}

/// Compares two captures described by [`ConversationRecorder`] (memory bounded by their
/// open connections and conversations, not by the captures). The conversations are those
/// [`compare`] aligns on the captures' [`Analysis`]; the findings are `wiretale story`'s (see
/// [`ConversationRecorder`]). Each description keeps the steps its recorder's `max_steps`
/// allowed ([`CaptureDescription::max_steps`]); `opts.max_steps` is not read.
pub fn compare_described(
    working: &CaptureDescription,
    failing: &CaptureDescription,
    opts: &CompareOptions,
) -> Comparison {
    compare_conversations(
        &working.conversations,
        &working.diagnosis.findings,
        &failing.conversations,
        &failing.diagnosis.findings,
        opts,
    )
}

fn compare_conversations(
    w: &[Conversation],
    w_findings: &[Finding],
    f: &[Conversation],
    f_findings: &[Finding],
    opts: &CompareOptions,
) -> Comparison {
    let pairing = align::pair(w, f);
    // The conversation names of the streams findings mention (only those: a capture can
    // have millions of streams): paired conversations go by the working label.
    let mentioned = |findings: &[Finding]| -> HashSet<u64> {
        findings
            .iter()
            .flat_map(|x| x.streams.iter().copied())
            .collect()
    };
    let (w_mentioned, f_mentioned) = (mentioned(w_findings), mentioned(f_findings));
    let mut w_names: BTreeMap<u64, String> = BTreeMap::new();
    let mut f_names: BTreeMap<u64, String> = BTreeMap::new();
    for c in w {
        for s in c.streams.iter().filter(|s| w_mentioned.contains(s)) {
            w_names.insert(*s, c.identity.label());
        }
    }
    let mut partner: Vec<Option<usize>> = vec![None; f.len()];
    for &(i, j, _) in &pairing.pairs {
        if let Some(slot @ None) = partner.get_mut(j) {
            *slot = Some(i);
        }
    }
    for (j, c) in f.iter().enumerate() {
        let named = partner.get(j).copied().flatten().and_then(|i| w.get(i));
        let label = named.unwrap_or(c).identity.label();
        for s in c.streams.iter().filter(|s| f_mentioned.contains(s)) {
            f_names.insert(*s, label.clone());
        }
    }

    let conversations: Vec<ConversationDiff> = pairing
        .pairs
        .iter()
        .filter_map(|&(i, j, basis)| Some(pair::diff(w.get(i)?, f.get(j)?, basis, opts)))
        .collect();
    let first_departure = conversations
        .iter()
        .filter_map(|c| {
            let d = c.departure.as_ref()?;
            let at = d
                .failing
                .as_ref()
                .map(|s| s.frame)
                .or(d.after.as_ref().map(|a| a.failing_frame))
                .unwrap_or(c.failing.last_frame);
            Some((at, d))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, d)| d.clone());
    let (findings_only_in_working, findings_only_in_failing) =
        findings::only_in_one(w_findings, &w_names, f_findings, &f_names);
    let only_in_working: Vec<ConversationSummary> = pairing
        .only_working
        .iter()
        .filter_map(|&i| w.get(i).map(ConversationSummary::from))
        .collect();
    let only_in_failing: Vec<ConversationSummary> = pairing
        .only_failing
        .iter()
        .filter_map(|&j| f.get(j).map(ConversationSummary::from))
        .collect();
    let different = conversations.iter().any(ConversationDiff::is_different)
        || !only_in_working.is_empty()
        || !only_in_failing.is_empty()
        || !findings_only_in_working.is_empty()
        || !findings_only_in_failing.is_empty();
    Comparison {
        different,
        first_departure,
        conversations,
        only_in_working,
        only_in_failing,
        findings_only_in_working,
        findings_only_in_failing,
    }
}

#[cfg(test)]
mod tests;
