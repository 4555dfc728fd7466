//! Findings: diagnosed problems with the evidence they rest on.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; not a failure by itself.
    Info,
    /// Something went wrong or looks wrong.
    Warning,
    /// A failure that explains a symptom.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One diagnosed fact. Ids are stable (documented in `docs/findings.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `ntlm-abandoned`.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// The frame it is best seen at.
    pub frame: u64,
    /// Every frame it rests on, ascending.
    pub frames: Vec<u64>,
    /// TCP streams involved.
    pub streams: Vec<u64>,
    /// One sentence.
    pub summary: String,
    /// The facts behind it, one per line.
    pub evidence: Vec<String>,
    /// Key facts in machine-readable form (e.g. `url`, `idle_secs`), for scripts and for
    /// chaining findings; keys are documented per finding in `docs/findings.md`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<&'static str, String>,
    /// What to try.
    pub suggestion: String,
}
