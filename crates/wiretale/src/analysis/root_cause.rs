//! The root-cause paragraph: chains related findings into one explanation.

use super::finding::{Finding, Severity};
use serde::Serialize;

/// The explanation that ties the findings together.
#[derive(Debug, Clone, Serialize)]
pub struct RootCause {
    /// The paragraph.
    pub summary: String,
    /// Finding ids in causal order.
    pub chain: Vec<&'static str>,
    /// Frames the chain rests on.
    pub frames: Vec<u64>,
    /// The direction of the fix.
    pub fix: String,
}

const FETCH_CAUSES: [&str; 4] = [
    "ntlm-abandoned",
    "ntlm-challenge-missing",
    "ntlm-connection-switch",
    "auth-rejected",
];

/// Chains the findings, most specific pattern first.
pub fn explain(findings: &[Finding]) -> Option<RootCause> {
    // Revocation check that failed while a TLS connection waited.
    if let Some(rev) = findings
        .iter()
        .find(|f| f.id == "revocation-check-during-handshake" && f.severity >= Severity::Warning)
    {
        let tls_stream = *rev.streams.first()?;
        let fetch_streams: Vec<u64> = rev
            .streams
            .iter()
            .copied()
            .filter(|s| *s != tls_stream)
            .collect();
        let cause = findings.iter().find(|f| {
            FETCH_CAUSES.contains(&f.id) && f.streams.iter().any(|s| fetch_streams.contains(s))
        });
        let stall = findings
            .iter()
            .find(|f| f.id == "tls-stalled" && f.streams.contains(&tls_stream));
        let reset = findings
            .iter()
            .find(|f| f.id == "tcp-reset-after-idle" && f.streams.contains(&tls_stream));
        let mut chain = vec![rev];
        chain.extend(cause);
        chain.extend(stall);
        chain.extend(reset);
        let fact = |f: &Finding, k: &str| f.facts.get(k).cloned().unwrap_or_default();
        let mut summary = format!(
            "The client's TLS connection to {} (stream {tls_stream}) waited on the client's check of the server certificate's revocation, and that check failed: fetching {} through {} {}.",
            fact(rev, "tls_server"),
            fact(rev, "url"),
            fact(rev, "fetched_via"),
            fact(rev, "fetch_outcome"),
        );
        if let Some(c) = cause {
            if c.id == "ntlm-abandoned" {
                let keep_alive = if fact(c, "request_keep_alive") == "false" {
                    " without keep-alive"
                } else {
                    ""
                };
                summary.push_str(&format!(
                    " The client offered NTLM on an {} connection{keep_alive} and closed it after the challenge (frame {}), so NTLM, which authenticates a connection, could not complete.",
                    fact(c, "request_version"),
                    fact(c, "challenge_frame"),
                ));
            } else {
                summary.push(' ');
                summary.push_str(&c.summary);
            }
        }
        match (stall, reset) {
            (Some(_), Some(r)) => summary.push_str(&format!(
                " Without an answer the client never used the TLS connection, and the {} reset it after {} s idle (frame {}).",
                fact(r, "by"),
                fact(r, "idle_secs"),
                r.frame
            )),
            (Some(s), None) => summary.push_str(&format!(
                " Without an answer the client never used the TLS connection ({} s idle).",
                fact(s, "idle_secs")
            )),
            (None, Some(r)) => summary.push_str(&format!(
                " The {} reset the TLS connection after {} s idle (frame {}).",
                fact(r, "by"),
                fact(r, "idle_secs"),
                r.frame
            )),
            (None, None) => {}
        }
        let fix = cause.unwrap_or(rev).suggestion.clone();
        return Some(RootCause {
            summary: summary.trim_end().to_string(),
            chain: chain.iter().map(|f| f.id).collect(),
            frames: frames_of(&chain),
            fix,
        });
    }
    // Otherwise: the worst finding, with the findings on the same connections.
    let top = findings.iter().find(|f| f.severity >= Severity::Warning)?;
    let mut chain = vec![top];
    for f in findings {
        if f.id != top.id
            && f.severity >= Severity::Warning
            && f.streams.iter().any(|s| top.streams.contains(s))
            && !chain.iter().any(|c| std::ptr::eq(*c, f))
        {
            chain.push(f);
        }
    }
    chain.sort_by_key(|f| f.frame);
    let summary = chain
        .iter()
        .map(|f| f.summary.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Some(RootCause {
        summary,
        chain: chain.iter().map(|f| f.id).collect(),
        frames: frames_of(&chain),
        fix: top.suggestion.clone(),
    })
}

fn frames_of(chain: &[&Finding]) -> Vec<u64> {
    let mut frames: Vec<u64> = chain
        .iter()
        .flat_map(|f| f.frames.iter().copied())
        .collect();
    frames.sort_unstable();
    frames.dedup();
    frames
}
