//! TLS findings: handshakes that stall, fatal alerts.

use super::super::finding::{Finding, Severity};
use super::super::index::{Index, TlsProgress};
use super::{side_name, Thresholds};

/// Runs the TLS detectors.
pub fn detect(index: &Index, t: &Thresholds, out: &mut Vec<Finding>) {
    for conn in index.conns.values() {
        let Some(p) = &conn.tls_progress else {
            continue;
        };
        let mut fatal = false;
        let first_alert_finding = out.len();
        for (frame, from_client, level, desc, meaning, is_fatal) in &p.alerts {
            if desc == "close_notify" {
                continue;
            }
            fatal |= *is_fatal;
            let sender = if *from_client { "client" } else { "server" };
            out.push(Finding {
                id: "tls-alert",
                severity: if *is_fatal {
                    Severity::Error
                } else {
                    Severity::Info
                },
                frame: *frame,
                frames: vec![*frame],
                streams: vec![conn.stream],
                summary: format!(
                    "The {sender} sent a {level} TLS alert {desc} on stream {}: {meaning}",
                    conn.stream
                ),
                evidence: {
                    let mut evidence = vec![
                        format!("Frame {frame}: {level} alert {desc} from the {sender}"),
                        match &p.last {
                            Some((f, c, d, _)) if f != frame => format!(
                                "Last handshake step before it: frame {f}, {} sent {d}",
                                if *c { "client" } else { "server" }
                            ),
                            _ => "It was the first thing the peer said".to_string(),
                        },
                    ];
                    // A client refusing the server's certificate: say when the server sent
                    // no intermediate with it.
                    if *from_client {
                        evidence.extend(lone_leaf(p));
                    }
                    evidence
                },
                facts: Default::default(),
                suggestion: alert_advice(desc).to_string(),
            });
        }
        if p.alerts_not_kept > 0 {
            if let Some(last) = out.get_mut(first_alert_finding..).and_then(<[_]>::last_mut) {
                last.evidence.push(format!(
                    "… and {} more alerts on stream {}, not listed (the first {} and the first fatal one are)",
                    p.alerts_not_kept,
                    conn.stream,
                    super::super::index::MAX_ALERTS
                ));
            }
        }
        if fatal || p.client_hello.is_none() {
            continue;
        }
        stalled(index, conn, p, t, out);
    }
}

fn stalled(
    index: &Index,
    conn: &super::super::index::ConnIndex,
    p: &TlsProgress,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let completed = p.completed();
    if completed && p.has_app_data() {
        return;
    }
    let Some((last_frame, last_from_client, last_desc, last_time)) = p.last.clone() else {
        return;
    };
    // How the connection ended after the last TLS message.
    let end: Option<(u64, String, crate::capture::Timestamp)> = conn
        .tcp
        .ends
        .iter()
        .find(|e| e.frame >= last_frame)
        .map(|e| {
            let sender = side_name(e.by, conn);
            let what = if e.rst { "reset" } else { "closed" };
            (
                e.frame,
                format!("the {sender} {what} the connection"),
                e.time,
            )
        });
    let (end_desc, idle) = match &end {
        Some((frame, what, time)) => (
            format!("Frame {frame}: {what}"),
            time.seconds_since(last_time),
        ),
        None => {
            let idle = index
                .capture_end
                .map(|c| c.seconds_since(last_time))
                .unwrap_or(0.0);
            (
                "The capture ends with the connection open".to_string(),
                idle,
            )
        }
    };
    if idle < t.stall_secs {
        // Not a stall: the connection ended (or the capture did) right after the last message.
        // A side that closes right after the handshake without using it is worth a note.
        // (Application data means the handshake did finish, in a way `completed` does not
        // read, e.g. SSLv2's.)
        if let (false, false, Some(end)) = (completed, p.has_app_data(), &end) {
            abandoned(conn, p, end, out);
        }
        if completed && end.is_some() {
            let completed_frame = p.completed_frame().unwrap_or(last_frame);
            let sender = if last_from_client { "client" } else { "server" };
            // Who ended it: the last message's sender, unless the other side had closed the
            // connection before that message (which then only answered the close).
            let closed_first = (conn.tcp.first_close)
                .filter(|c| c.frame >= completed_frame && c.frame < last_frame);
            let (closer, how, mut evidence) = match closed_first {
                Some(c) => {
                    let closer = side_name(c.by, conn);
                    let what = if c.rst { "reset" } else { "closed" };
                    (
                        closer,
                        format!("{what} the connection in frame {}; the {sender} answered with {last_desc}", c.frame),
                        vec![format!("Frame {}: the {closer} {what} the connection", c.frame)],
                    )
                }
                None => (sender, last_desc.clone(), Vec::new()),
            };
            evidence.insert(0, format!("Frame {completed_frame}: handshake complete"));
            // Only a client that ended the connection can have rejected the chain.
            let lone = lone_leaf(p).filter(|_| closer == "client");
            let lone_found = lone.is_some();
            evidence.splice(0..0, lone);
            evidence.push(format!("Frame {last_frame}: {sender} sent {last_desc}"));
            evidence.push(end_desc);
            out.push(Finding {
                id: "tls-unused",
                // Ended right after a chain a client may not be able to build: likely a
                // rejection, not a test client connecting and quitting.
                severity: if lone_found {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                frame: last_frame,
                frames: {
                    let mut frames = vec![completed_frame, last_frame];
                    frames.extend(closed_first.map(|c| c.frame));
                    frames.extend(p.certificate.filter(|_| lone_found));
                    frames.sort_unstable();
                    frames
                },
                streams: vec![conn.stream],
                summary: format!(
                    "TLS connection {} → {} (stream {}) completed its handshake but carried no application data; the {closer} ended it ({how}).{}",
                    conn.client,
                    conn.server,
                    conn.stream,
                    if lone_found {
                        " The server had sent its certificate without an intermediate."
                    } else {
                        ""
                    }
                ),
                evidence,
                facts: Default::default(),
                suggestion: if lone_found {
                    "The server sent its certificate without the intermediate certificate(s) that link it to a root, and the client ended the connection right after the handshake: a client that does not already hold the intermediate rejects the certificate. Configure the server to send its full chain (leaf and intermediates)."
                } else {
                    "An encrypted alert right after the handshake often means the side that ended it rejected the peer's certificate (the alert's reason is encrypted); a test client that connects and quits looks the same."
                }
                .to_string(),
            });
        }
        return;
    }
    let who_next = if completed {
        "the client (application data)".to_string()
    } else if last_from_client {
        "the server".to_string()
    } else {
        "the client".to_string()
    };
    let state = if completed {
        format!(
            "completed its handshake (frame {}) but no application data followed",
            p.completed_frame().unwrap_or(last_frame)
        )
    } else {
        "never completed its handshake".to_string()
    };
    let mut evidence = handshake_evidence(p, last_frame, last_from_client, &last_desc);
    evidence.push(format!("Next to speak: {who_next}"));
    evidence.push(format!(
        "{end_desc}, {idle:.1} s after the last TLS message"
    ));
    let mut frames = vec![last_frame];
    frames.extend(p.client_hello);
    frames.extend(end.as_ref().map(|e| e.0));
    out.push(Finding {
        id: "tls-stalled",
        severity: if end.as_ref().map(|e| e.1.contains("reset")).unwrap_or(false) {
            Severity::Error
        } else {
            Severity::Warning
        },
        frame: last_frame,
        frames,
        streams: vec![conn.stream],
        summary: format!(
            "TLS connection {} → {} (stream {}) {state}; it stopped after frame {last_frame} waiting for {who_next} and sat idle {idle:.1} s.",
            conn.client, conn.server, conn.stream
        ),
        evidence,
        facts: Default::default(),
        suggestion: if completed {
            "The client finished the handshake but did not use the connection: look at what it was doing meanwhile (certificate validation, revocation checks, proxy authentication — see related findings)."
        } else {
            "Find out why the expected side did not answer: certificate validation on the client, a middlebox, or a server-side timeout."
        }
        .to_string(),
    });
    if let Some(f) = out.last_mut() {
        f.facts.insert("idle_secs", format!("{idle:.1}"));
        f.facts.insert("completed", completed.to_string());
        f.facts.insert("next_to_speak", who_next.clone());
        f.facts.insert("server", conn.server.to_string());
    }
}

fn alert_advice(desc: &str) -> &'static str {
    match desc {
        "handshake_failure" | "insufficient_security" => {
            "Client and server share no acceptable protocol version, cipher suite or parameters: compare the Client Hello's offers with the server's configuration."
        }
        "protocol_version" => "The peer does not accept the TLS version offered: enable a common version on both sides.",
        "unknown_ca" | "bad_certificate" | "certificate_unknown" | "unsupported_certificate" => {
            "The certificate chain is not trusted or not acceptable: send the full chain (intermediates) and check the trust store."
        }
        "certificate_expired" => "A certificate in the chain has expired: renew it.",
        "certificate_revoked" => "A certificate in the chain is revoked: replace it.",
        "unrecognized_name" => "The server has no certificate for the SNI name requested: check the name the client uses.",
        "certificate_required" => "The server requires a client certificate: configure one on the client.",
        "decrypt_error" | "bad_record_mac" => "Keys disagree: a middlebox altered the traffic, or an implementation bug; check for TLS-inspecting proxies.",
        _ => "Read the alert's meaning above and check the sender's logs for the reason.",
    }
}

/// `tls-handshake-abandoned`: the connection was closed within the stall threshold while its
/// handshake was still under way, without a fatal alert (that would be `tls-alert`).
fn abandoned(
    conn: &super::super::index::ConnIndex,
    p: &TlsProgress,
    (end_frame, end_what, end_time): &(u64, String, crate::capture::Timestamp),
    out: &mut Vec<Finding>,
) {
    let Some((last_frame, last_from_client, last_desc, last_time)) = &p.last else {
        return;
    };
    let (last_frame, last_from_client, end_frame) = (*last_frame, *last_from_client, *end_frame);
    let sender = if last_from_client { "client" } else { "server" };
    let mut evidence = handshake_evidence(p, last_frame, last_from_client, last_desc);
    let after = end_time.seconds_since(*last_time).max(0.0);
    evidence.push(format!(
        "Frame {end_frame}: {end_what}, {after:.3} s later, without an alert"
    ));
    let mut frames: Vec<u64> = p
        .client_hello
        .into_iter()
        .chain([last_frame, end_frame])
        .collect();
    frames.sort_unstable();
    frames.dedup();
    let mut finding = Finding {
        id: "tls-handshake-abandoned",
        severity: Severity::Warning,
        frame: end_frame,
        frames,
        streams: vec![conn.stream],
        summary: format!(
            "TLS connection {} → {} (stream {}) never completed its handshake: after the {sender}'s {last_desc} (frame {last_frame}), {end_what} (frame {end_frame}) without sending an alert.",
            conn.client, conn.server, conn.stream
        ),
        evidence,
        facts: Default::default(),
        suggestion: "A client that closes right after the server's certificate without an alert usually rejected it (an untrusted or incomplete chain, a name mismatch, a failed revocation check) or could not go on (a client certificate it lacks, no parameters in common); its own logs say which. A server that closes after the Client Hello usually refused the SNI, the versions or the cipher suites offered.".to_string(),
    };
    finding.facts.insert("server", conn.server.to_string());
    out.push(finding);
}

/// The evidence line for a server certificate sent alone and not self-signed, if it was.
fn lone_leaf(p: &TlsProgress) -> Option<String> {
    let issuer = p.lone_leaf_issuer.as_deref()?;
    let frame = p.certificate?;
    Some(format!(
        "Frame {frame}: the server sent its certificate alone, not self-signed: no certificate of its issuer {issuer:?} (a client that does not already have it cannot build the chain)"
    ))
}

/// The evidence of where a handshake got to: its Client Hello (with the SNI), the server's
/// certificate, and its last message.
fn handshake_evidence(
    p: &TlsProgress,
    last_frame: u64,
    last_from_client: bool,
    last_desc: &str,
) -> Vec<String> {
    let mut evidence = Vec::new();
    if let Some(f) = p.client_hello {
        let sni = p.sni.as_deref().map(|s| format!(" (SNI {s})"));
        evidence.push(format!(
            "Frame {f}: Client Hello{}",
            sni.unwrap_or_default()
        ));
    }
    if let Some(f) = p.certificate {
        let leaf = p.leaf.as_deref().map(|s| format!(" {s}"));
        evidence.push(format!(
            "Frame {f}: server certificate{}",
            leaf.unwrap_or_default()
        ));
    }
    let sender = if last_from_client { "client" } else { "server" };
    evidence.push(format!(
        "Frame {last_frame}: last TLS message, {sender} sent {last_desc}"
    ));
    evidence
}
