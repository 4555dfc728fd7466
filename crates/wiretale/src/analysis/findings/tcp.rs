//! TCP-level findings: resets after idle, unanswered or refused SYNs, bytes missing.

use super::super::finding::{Finding, Severity};
use super::super::index::Index;
use super::{closing_words, Thresholds};
use crate::tcp::{ConnEvent, Dir, Ending, GapCause};
use crate::timeline::Detail;

/// Runs the TCP detectors.
pub fn detect(index: &Index<'_>, t: &Thresholds, out: &mut Vec<Finding>) {
    for conn in index.conns.values() {
        let mut previous: Option<u64> = None;
        let mut gaps: Vec<(u64, Dir, u64, GapCause)> = Vec::new();
        for &i in &conn.events {
            let Some(e) = index.event(i) else { continue };
            match &e.detail {
                Detail::Tcp(ConnEvent::Rst { dir, idle_secs })
                    if *idle_secs >= t.idle_reset_secs =>
                {
                    let who = closing_words(*dir, conn);
                    let mut frames = vec![e.frame];
                    frames.extend(previous);
                    out.push(Finding {
                        id: "tcp-reset-after-idle",
                        severity: Severity::Warning,
                        frame: e.frame,
                        frames,
                        streams: vec![conn.stream],
                        summary: format!(
                            "The {who} reset stream {} ({} → {}) after {idle_secs:.1} s without traffic: the signature of a timeout.",
                            conn.stream, conn.client, conn.server
                        ),
                        evidence: vec![
                            match previous {
                                Some(p) => format!("Last activity before it: frame {p}"),
                                None => "No earlier application activity on the connection".to_string(),
                            },
                            format!("Frame {}: RST from the {who} after {idle_secs:.1} s idle", e.frame),
                        ],
                        facts: Default::default(),
                        suggestion: format!(
                            "Find out why nothing was sent for {idle_secs:.0} s: which side was expected to speak (see the other findings on stream {}), and what timeout the {who} applies.",
                            conn.stream
                        ),
                    });
                    if let Some(f) = out.last_mut() {
                        f.facts.insert("idle_secs", format!("{idle_secs:.1}"));
                        f.facts.insert("by", who.to_string());
                    }
                }
                Detail::Tcp(ConnEvent::Gap {
                    dir, len, cause, ..
                }) => {
                    gaps.push((e.frame, *dir, *len, *cause));
                }
                Detail::Tcp(_) => {}
                _ => previous = Some(e.frame),
            }
        }
        if !gaps.is_empty() {
            let total: u64 = gaps.iter().map(|g| g.2).sum();
            let snaplen = gaps.iter().all(|g| g.3 == GapCause::Snaplen);
            let mut evidence: Vec<String> = gaps
                .iter()
                .take(10)
                .map(|(f, d, len, cause)| {
                    format!(
                        "Frame {f}: {len} bytes from the {} missing ({})",
                        closing_words(*d, conn),
                        serde_json::to_value(cause)
                            .ok()
                            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                            .unwrap_or_default()
                    )
                })
                .collect();
            if gaps.len() > 10 {
                evidence.push(format!("… and {} more gaps", gaps.len() - 10));
            }
            out.push(Finding {
                id: "tcp-gap",
                severity: Severity::Info,
                frame: gaps[0].0,
                frames: gaps.iter().map(|g| g.0).take(1024).collect(),
                streams: vec![conn.stream],
                summary: format!(
                    "{total} bytes of stream {} are missing from the capture{}; conclusions about this connection are weaker.",
                    conn.stream,
                    if snaplen { " (cut by the snapshot length)" } else { "" }
                ),
                evidence,
                facts: Default::default(),
                suggestion: if snaplen {
                    "Capture again without a snapshot length limit (tcpdump -s 0)."
                } else {
                    "Capture closer to one endpoint, or with a larger buffer, so no segment is lost."
                }
                .to_string(),
            });
        }
        let Some(flow) = &conn.flow else { continue };
        if flow.syns > 0 && !flow.syn_ack {
            let refused = matches!(
                flow.ending,
                Ending::Rst {
                    by: Dir::ToClient,
                    ..
                }
            );
            let attempts = flow.syns;
            if refused {
                let rst_frame = match flow.ending {
                    Ending::Rst { frame, .. } => frame,
                    _ => flow.last_frame,
                };
                out.push(Finding {
                    id: "tcp-refused",
                    severity: Severity::Warning,
                    frame: rst_frame,
                    frames: vec![flow.first_frame, rst_frame],
                    streams: vec![conn.stream],
                    summary: format!(
                        "{} refused the connection from {} (SYN answered by RST).",
                        conn.server, conn.client
                    ),
                    evidence: vec![
                        format!("Frame {}: SYN to {}", flow.first_frame, conn.server),
                        format!("Frame {rst_frame}: RST from {}", conn.server),
                    ],
                    facts: Default::default(),
                    suggestion: "Nothing listens on that port, or a firewall rejects it: check the service and the port.".to_string(),
                });
            } else {
                out.push(Finding {
                    id: "tcp-no-answer",
                    severity: Severity::Warning,
                    frame: flow.first_frame,
                    frames: vec![flow.first_frame, flow.last_frame],
                    streams: vec![conn.stream],
                    summary: format!(
                        "{} never answered the SYN from {} ({attempts} attempt{} over {:.1} s).",
                        conn.server,
                        conn.client,
                        if attempts == 1 { "" } else { "s" },
                        flow.duration_secs
                    ),
                    evidence: vec![
                        format!("Frame {}: first SYN", flow.first_frame),
                        format!("{attempts} SYN(s), no SYN-ACK, no RST"),
                    ],
                    facts: Default::default(),
                    suggestion: "The server is down or unreachable, or a firewall drops the SYN: check routing and filtering towards it.".to_string(),
                });
            }
        }
    }
}
