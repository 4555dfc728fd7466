//! The detectors. Each reads the [`Index`] and appends [`Finding`]s; none touches bytes.
//! Every id is documented in `docs/findings.md`.

mod auth;
pub(crate) mod damage;
mod limits;
mod ntlm;
mod revocation;
mod tcp;
mod tls;
mod tunnel;

use super::finding::Finding;
use super::index::{ConnIndex, Index};
pub(crate) use crate::tcp::Dir;
pub(crate) use revocation::normalize as normalize_url;
pub(crate) use revocation::split_scheme;

pub(crate) use crate::timeline::summary::short_duration;

/// Limits the detectors use.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A RST after at least this many idle seconds is reported as a timeout signature.
    pub idle_reset_secs: f64,
    /// A TLS connection idle this long after its last message counts as stalled even when
    /// the capture simply ends.
    pub stall_secs: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            idle_reset_secs: 5.0,
            stall_secs: 5.0,
        }
    }
}

/// Runs every detector; findings come out sorted by severity (worst first), then frame.
pub fn detect(index: &Index, thresholds: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    ntlm::detect(index, &mut out);
    auth::detect(index, &mut out);
    tls::detect(index, thresholds, &mut out);
    tunnel::detect(index, &mut out);
    tcp::detect(index, thresholds, &mut out);
    let linked = revocation::detect(index, &out);
    out.extend(linked);
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.frame.cmp(&b.frame)));
    for f in &mut out {
        f.frames.sort_unstable();
        f.frames.dedup();
        f.streams.sort_unstable();
        f.streams.dedup();
    }
    out
}

/// Adds the findings read from the analysis counters and the reader rather than the timeline
/// (`limits-reached`, `capture-damaged`), keeping the order of [`detect`].
pub fn add_capture_findings(findings: &mut Vec<Finding>, report: &crate::pipeline::Report) {
    let found = [
        limits::detect(&report.stats),
        damage::detect(&report.stats, report.error.as_ref()),
    ];
    for f in found.into_iter().flatten() {
        let at = findings
            .iter()
            .position(|g| {
                (g.severity, std::cmp::Reverse(g.frame)) < (f.severity, std::cmp::Reverse(f.frame))
            })
            .unwrap_or(findings.len());
        findings.insert(at, f);
    }
}

/// "client" or "proxy"/"server" for the sender of direction `dir`: what every finding calls
/// the two ends of a TCP connection (a TLS message's sender is still the TLS client or server).
pub(crate) fn side_name(dir: Dir, conn: &ConnIndex) -> &'static str {
    match dir {
        Dir::ToServer => "client",
        Dir::ToClient => conn.server_role(),
    }
}
