//! `auth-rejected`: credentials answered by 401/407 again.

use super::super::finding::{Finding, Severity};
use super::super::index::{CredentialsKey, Index};
use std::collections::BTreeMap;

/// Groups rejections by client address, server, scheme and user.
pub fn detect(index: &Index, out: &mut Vec<Finding>) {
    type Key = (
        std::net::IpAddr,
        std::net::SocketAddr,
        String,
        Option<String>,
    );
    let mut groups: BTreeMap<Key, Vec<(u64, u64, u64, String)>> = BTreeMap::new();
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
                .push((
                    ex.request_frame,
                    resp.frame,
                    conn.stream,
                    format!("{} {}", resp.status, resp.reason),
                ));
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
        // The same credentials accepted after the last rejection: mistyped and then right,
        // not a failure (the last rejection is the last kept one; a later success is later
        // than any rejection only counted, which came before it on its connection).
        let last_rejected = hits.iter().map(|h| h.0).max().unwrap_or(0);
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
        let mut evidence: Vec<String> = hits
            .iter()
            .map(|(req, resp, stream, status)| {
                format!("Frame {req} (stream {stream}): request with {who}; frame {resp}: {status}")
            })
            .collect();
        evidence.truncate(20);
        if total > 20 {
            evidence.push(format!("… and {} more", total - 20));
        }
        let first = hits.first().map(|h| h.1).unwrap_or(0);
        let mut frames: Vec<u64> = hits.iter().flat_map(|h| [h.0, h.1]).take(1024).collect();
        let mut streams: Vec<u64> = hits.iter().map(|h| h.2).collect();
        let times = format!("{total} time{}", if total == 1 { "" } else { "s" });
        let (severity, summary) = match accepted_later {
            Some(a) => {
                evidence.push(format!(
                    "Frame {} (stream {}): request with {who}; frame {}: {} — accepted",
                    a.request_frame, a.stream, a.response_frame, a.status
                ));
                frames.extend([a.request_frame, a.response_frame]);
                if !streams.contains(&a.stream) {
                    streams.push(a.stream);
                }
                (
                    Severity::Info,
                    format!(
                        "{role} {server} rejected {who} from {client} {times}, then accepted them ({} in frame {}).",
                        a.status, a.response_frame
                    ),
                )
            }
            None => (
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
            suggestion: if accepted_later.is_some() {
                "The same credentials worked afterwards: nothing to fix unless the refusals \
matter (a password mistyped first, or a client that tries stale credentials before the right \
ones)."
                    .to_string()
            } else {
                "The credentials were sent and refused: check the user name, password and \
domain, the account's permissions on the proxy/server, and (for NTLM) that Type 3 answers the \
challenge of the same connection."
                    .to_string()
            },
        });
    }
}
