//! `auth-rejected`: credentials answered by 401/407 again.

use super::super::finding::{Finding, Severity};
use super::super::index::{AcceptedCredentials, CredentialsKey, Index};
use std::collections::{BTreeMap, HashMap};

/// Groups rejections by client address, server, scheme and user.
pub fn detect(index: &Index, out: &mut Vec<Finding>) {
    type Key = (
        std::net::IpAddr,
        std::net::SocketAddr,
        String,
        Option<String>,
    );
    let mut groups: BTreeMap<Key, Vec<Rejected>> = BTreeMap::new();
    let mut roles: BTreeMap<std::net::SocketAddr, &'static str> = BTreeMap::new();
    let mut counted: BTreeMap<Key, u64> = BTreeMap::new();
    for conn in index.conns.values() {
        for ex in &conn.exchanges {
            let Some(scheme) = &ex.credentials else {
                continue;
            };
            // The first NTLM leg (Type 1) is answered by 401/407 with a challenge by design.
            if ex.ntlm_request == Some(1) {
                continue;
            }
            let Some(resp) = &ex.response else { continue };
            if !matches!(resp.status, 401 | 407) {
                continue;
            }
            // A Negotiate/NTLM continuation leg carrying a new challenge is not a rejection.
            if resp.ntlm_response == Some(2) {
                continue;
            }
            roles.insert(conn.server, conn.server_role());
            groups
                .entry((
                    conn.client.ip(),
                    conn.server,
                    scheme.clone(),
                    ex.basic_user.clone(),
                ))
                .or_default()
                .push(Rejected {
                    request_frame: ex.request_frame,
                    response_frame: resp.frame,
                    stream: conn.stream,
                    status: format!("{} {}", resp.status, resp.reason),
                    password: ex.basic_password,
                });
        }
        // Rejections a retiring index only counted (past the first `REJECTIONS_KEPT` of a
        // scheme and user on this connection, whose kept ones are in `groups` already).
        for ((scheme, user), n) in &conn.rejections_not_kept {
            let key = (conn.client.ip(), conn.server, scheme.clone(), user.clone());
            *counted.entry(key).or_insert(0) += n;
        }
    }
    for (key, hits) in groups {
        let total = (hits.len() as u64).saturating_add(counted.get(&key).copied().unwrap_or(0));
        let (client, server, scheme, user) = key;
        // Credentials of the same client, scheme and user accepted after the last rejection:
        // mistyped and then right, not a failure (unless the password accepted is one refused
        // before: then the server's side, a warning) (the last rejection is the last kept one; a later success is later
        // than any rejection only counted, which came before it on its connection).
        let last_rejected = hits.iter().map(|h| h.request_frame).max().unwrap_or(0);
        let credentials = CredentialsKey {
            client,
            server,
            scheme: scheme.clone(),
            user: user.clone(),
        };
        // The first acceptance after it when that is the first of all, else the latest.
        let accepted_later = (index.accepted.get(&credentials))
            .and_then(|[first, latest]| {
                [first, latest]
                    .into_iter()
                    .find(|a| a.request_frame > last_rejected)
            })
            .copied();
        let role = roles.get(&server).copied().unwrap_or("server");
        let who = match &user {
            Some(u) => format!("{scheme} credentials for user {u:?}"),
            None => format!("{scheme} credentials"),
        };
        // Basic passwords numbered in the order they were first sent, so the evidence shows
        // which retries repeated a password without showing any.
        // A map, not a scan: a capture of a password-guessing run holds thousands.
        let mut passwords: HashMap<u64, usize> = HashMap::new();
        for p in hits.iter().filter_map(|h| h.password) {
            let next = passwords.len() + 1;
            passwords.entry(p).or_insert(next);
        }
        let numbered = |p: Option<u64>| match p.and_then(|p| passwords.get(&p)) {
            Some(n) => format!(" (password #{n})"),
            None => String::new(),
        };
        // Only the evidence lines kept are formatted.
        let mut evidence: Vec<String> = (hits.iter().take(20))
            .map(|h| {
                format!(
                    "Frame {} (stream {}): request with {who}{}; frame {}: {}",
                    h.request_frame,
                    h.stream,
                    numbered(h.password),
                    h.response_frame,
                    h.status
                )
            })
            .collect();
        evidence.truncate(20);
        if total > 20 {
            evidence.push(format!("… and {} more", total - 20));
        }
        let first = hits.first().map(|h| h.response_frame).unwrap_or(0);
        let mut frames: Vec<u64> = (hits.iter())
            .flat_map(|h| [h.request_frame, h.response_frame])
            .take(1024)
            .collect();
        let mut streams: Vec<u64> = hits.iter().map(|h| h.stream).collect();
        let mut times = format!("{total} time{}", if total == 1 { "" } else { "s" });
        if passwords.len() > 1 {
            times.push_str(&format!(" ({} different passwords)", passwords.len()));
        }
        let outcome = accepted_later.map(|a| Accepted::of(&a, &passwords));
        let (severity, summary) = match (accepted_later, outcome) {
            (Some(a), Some(outcome)) => {
                let password = match outcome {
                    Accepted::SamePassword(n) => format!(" (password #{n}, refused before)"),
                    Accepted::OtherPassword => " (another password)".to_string(),
                    Accepted::Credentials => String::new(),
                };
                evidence.push(format!(
                    "Frame {} (stream {}): request with {who}{password}; frame {}: {} — accepted",
                    a.request_frame, a.stream, a.response_frame, a.status
                ));
                frames.extend([a.request_frame, a.response_frame]);
                if !streams.contains(&a.stream) {
                    streams.push(a.stream);
                }
                let then = match outcome {
                    Accepted::SamePassword(_) => "then accepted a password it had refused",
                    Accepted::OtherPassword => "then accepted another password",
                    Accepted::Credentials => "then accepted later ones",
                };
                (
                    outcome.severity(),
                    format!(
                        "{role} {server} rejected {who} from {client} {times}, {then} ({} in frame {}).",
                        a.status, a.response_frame
                    ),
                )
            }
            _ => (
                Severity::Error,
                format!("{role} {server} rejected {who} from {client} {times}."),
            ),
        };
        out.push(Finding {
            id: "auth-rejected",
            severity,
            frame: first,
            frames,
            streams,
            summary,
            evidence,
            facts: Default::default(),
            suggestion: if let Some(outcome) = outcome {
                outcome.suggestion(role)
            } else {
                "The credentials were sent and refused: check the user name, password and \
domain, the account's permissions on the proxy/server, and (for NTLM) that Type 3 answers the \
challenge of the same connection."
                    .to_string()
            },
        });
    }
}

/// A request whose credentials were refused.
struct Rejected {
    request_frame: u64,
    response_frame: u64,
    stream: u64,
    /// Status and reason.
    status: String,
    /// The Basic password's fingerprint.
    password: Option<u64>,
}

/// What the credentials accepted after the refusals were.
#[derive(Debug, Clone, Copy)]
enum Accepted {
    /// A Basic password refused before (its number among those refused): the client is not
    /// at fault.
    SamePassword(usize),
    /// A Basic password not refused before: mistyped, then right.
    OtherPassword,
    /// Another scheme's (NTLM answers a fresh challenge each time: nothing to compare).
    Credentials,
}

impl Accepted {
    /// `refused`: the refused passwords' fingerprints and numbers.
    fn of(a: &AcceptedCredentials, refused: &HashMap<u64, usize>) -> Self {
        match a.basic_password {
            Some(p) => match refused.get(&p) {
                Some(&n) => Accepted::SamePassword(n),
                None => Accepted::OtherPassword,
            },
            None => Accepted::Credentials,
        }
    }

    fn severity(self) -> Severity {
        match self {
            Accepted::SamePassword(_) => Severity::Warning,
            Accepted::OtherPassword | Accepted::Credentials => Severity::Info,
        }
    }

    fn suggestion(self, role: &str) -> String {
        match self {
            Accepted::SamePassword(_) => format!(
                "The same password was refused and later accepted, so the client is not at \
fault: look at the {role}'s side (an authentication backend that failed or timed out, an \
account locked for a while, rate limiting)."
            ),
            Accepted::OtherPassword => "A different password worked afterwards: nothing to fix \
unless the refusals matter (a password mistyped first, or a client that tries stale \
credentials before the right ones)."
                .to_string(),
            Accepted::Credentials => "Later credentials worked: nothing to fix unless the \
refusals matter (a password mistyped first, or a client that tries stale credentials before \
the right ones)."
                .to_string(),
        }
    }
}
