//! TCP-level findings: resets after idle, unanswered or refused SYNs, bytes missing,
//! receive windows that closed.

use super::super::finding::{Finding, Severity};
use super::super::index::{ConnIndex, FlowFacts, Index, ZeroWindowSeen, LONG_ZERO_WINDOW_SECS};
use super::{short_duration, side_name, Thresholds};
use crate::tcp::{Dir, Ending, MAX_REPORTED_EPISODES};

/// Runs the TCP detectors.
pub fn detect(index: &Index, t: &Thresholds, out: &mut Vec<Finding>) {
    for conn in index.conns.values() {
        for reset in &conn.tcp.resets {
            let idle_secs = reset.idle_secs;
            // A reset after the other side's FIN ends a conversation that was already over
            // (an abortive close of the last half), however long after: not a timeout.
            if idle_secs < t.idle_reset_secs || reset.after_peer_fin.is_some() {
                continue;
            }
            let who = side_name(reset.by, conn);
            let mut frames = vec![reset.frame];
            frames.extend(reset.previous);
            let mut finding = Finding {
                id: "tcp-reset-after-idle",
                severity: Severity::Warning,
                frame: reset.frame,
                frames,
                streams: vec![conn.stream],
                summary: format!(
                    "The {who} reset stream {} ({} → {}) after {idle_secs:.1} s without traffic: the signature of a timeout.",
                    conn.stream, conn.client, conn.server
                ),
                evidence: vec![
                    match reset.previous {
                        Some(p) => format!("Last TLS, HTTP or NTLM message before it: frame {p}"),
                        None => "No TLS, HTTP or NTLM message before it on the connection".to_string(),
                    },
                    format!(
                        "Frame {}: RST from the {who} after {idle_secs:.1} s without any packet on the connection",
                        reset.frame
                    ),
                ],
                facts: Default::default(),
                suggestion: format!(
                    "Find out why nothing was sent for {idle_secs:.0} s: which side was expected to speak (see the other findings on stream {}), and what timeout the {who} applies.",
                    conn.stream
                ),
            };
            finding.facts.insert("idle_secs", format!("{idle_secs:.1}"));
            finding.facts.insert("by", who.to_string());
            out.push(finding);
        }
        // RSTs beyond the index's cap were counted, not kept: say so on the last one told.
        let not_kept = conn.tcp.resets_not_kept;
        if not_kept > 0 {
            let last = out.iter_mut().rev().find(|f| {
                f.id == "tcp-reset-after-idle" && f.streams.first() == Some(&conn.stream)
            });
            if let Some(f) = last {
                f.evidence.push(format!(
                    "… and {not_kept} later RSTs on stream {} were not examined (more than {})",
                    conn.stream,
                    super::super::index::MAX_RESETS
                ));
            }
        }
        let gaps = &conn.tcp.gaps;
        if let Some(first) = gaps.first.first() {
            let mut evidence: Vec<String> = gaps
                .first
                .iter()
                .take(10)
                .map(|g| {
                    format!(
                        "Frame {}: {} bytes from the {} missing ({})",
                        g.frame,
                        g.len,
                        side_name(g.dir, conn),
                        serde_json::to_value(g.cause)
                            .ok()
                            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                            .unwrap_or_default()
                    )
                })
                .collect();
            if gaps.count > 10 {
                let more = gaps.count - 10;
                evidence.push(format!(
                    "… and {more} more gap{}",
                    if more == 1 { "" } else { "s" }
                ));
            }
            out.push(Finding {
                id: "tcp-gap",
                severity: Severity::Info,
                frame: first.frame,
                frames: gaps.first.iter().map(|g| g.frame).collect(),
                streams: vec![conn.stream],
                summary: format!(
                    "{} bytes of stream {} are missing from the capture{}; conclusions about this connection are weaker.",
                    gaps.bytes,
                    conn.stream,
                    if gaps.all_snaplen { " (cut by the snapshot length)" } else { "" }
                ),
                evidence,
                facts: Default::default(),
                suggestion: if gaps.all_snaplen {
                    "Capture again without a snapshot length limit (tcpdump -s 0)."
                } else {
                    "Capture closer to one endpoint, or with a larger buffer, so no segment is lost."
                }
                .to_string(),
            });
        }
        let Some(flow) = &conn.flow else { continue };
        for zw in &conn.tcp.zero_windows {
            out.push(zero_window(conn, flow, zw));
        }
        if let Some(secs) = conn.tcp.slow_handshake_secs {
            let (syns, syn_acks) = (flow.syns, flow.syn_acks);
            let plural = |n: u32| if n == 1 { "" } else { "s" };
            // The server answered every SYN the capture saw, yet the client kept resending:
            // the answers were lost between the capture point and the client, or dropped by
            // it. Fewer answers than SYNs: SYNs were lost on the way to the server, or it was
            // slow to accept.
            let answered_each = syns > 1 && syn_acks >= syns;
            let what = if answered_each {
                format!(
                    "the server answered each of the client's {syns} SYNs ({syn_acks} SYN-ACKs), but the client kept resending its SYN"
                )
            } else if syns > 1 {
                format!(
                    "a SYN or SYN-ACK was lost and sent again ({syns} SYNs from the client, {syn_acks} SYN-ACK{} from the server)",
                    plural(syn_acks)
                )
            } else {
                "a SYN or SYN-ACK was lost and sent again".to_string()
            };
            let mut finding = Finding {
                id: "tcp-slow-handshake",
                severity: Severity::Warning,
                frame: flow.first_frame,
                frames: vec![flow.first_frame],
                streams: vec![conn.stream],
                summary: format!(
                    "The 3-way handshake of stream {} ({} → {}) took {secs:.1} s: {what}.",
                    conn.stream, conn.client, conn.server,
                ),
                evidence: vec![
                    format!("Frame {}: first SYN", flow.first_frame),
                    format!(
                        "{syns} SYN{} from the client, {syn_acks} SYN-ACK{} from the server; the handshake completed {secs:.1} s after the first SYN",
                        plural(syns),
                        plural(syn_acks)
                    ),
                ],
                facts: Default::default(),
                suggestion: if answered_each {
                    "The SYN-ACKs reached the capture point but not the client, or the client dropped them: look between the capture point and the client (asymmetric routing, a firewall or NAT on the way back, a host firewall), or capture on the client itself."
                } else {
                    "Packets are lost between the two (look for the same on other connections to this server), or the server accepts connections slowly (a full backlog): the client waited the retransmission timeouts out."
                }
                .to_string(),
            };
            finding.facts.insert("handshake_secs", format!("{secs:.1}"));
            finding.facts.insert("syns", syns.to_string());
            finding.facts.insert("syn_acks", syn_acks.to_string());
            out.push(finding);
        }
        // An unanswered SYN is tcp-no-answer's (its retries are retransmissions too).
        if let (Some(sp), false) = (flow.silent_peer, flow.syns > 0 && !flow.syn_ack) {
            let (side, peer) = (side_name(sp.dir, conn), side_name(sp.dir.flip(), conn));
            let peer_addr = match sp.dir {
                Dir::ToServer => conn.server,
                Dir::ToClient => conn.client,
            };
            let mut finding = Finding {
                id: "tcp-unanswered",
                severity: Severity::Warning,
                frame: flow.last_frame,
                frames: vec![flow.first_frame, flow.last_frame],
                streams: vec![conn.stream],
                summary: format!(
                    "The {side} sent {} bytes on stream {} ({} → {}) and retransmitted them {} times over {:.1} s; the {peer} never sent a single packet.",
                    sp.bytes, conn.stream, conn.client, conn.server, sp.retransmissions, flow.duration_secs
                ),
                evidence: vec![
                    format!(
                        "Frames {}–{}: {} packets from the {side}, {} of them retransmissions",
                        flow.first_frame, flow.last_frame, sp.packets, sp.retransmissions
                    ),
                    format!("No packet from the {peer} ({peer_addr}) in the capture: not even an ACK"),
                ],
                facts: Default::default(),
                suggestion: format!(
                    "The {peer} is gone or unreachable, or a firewall drops what it sends back; if the capture was taken where only one direction passes, capture where both do."
                ),
            };
            finding
                .facts
                .insert("retransmissions", sp.retransmissions.to_string());
            finding.facts.insert("by", side.to_string());
            out.push(finding);
        }
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
                // Each RST the server sent (a client retrying on the same ports after a
                // refusal gets one per SYN; a retry after a lost SYN does not).
                let mut rst_frames: Vec<u64> = (conn.tcp.resets.iter())
                    .filter(|r| r.by == Dir::ToClient)
                    .map(|r| r.frame)
                    .collect();
                if rst_frames.is_empty() {
                    rst_frames.push(rst_frame);
                }
                let rsts = rst_frames.len() as u64 + conn.tcp.resets_not_kept;
                let listed = list_frames(&rst_frames);
                let (summary, rst_evidence) = if attempts == 1 {
                    (
                        format!(
                            "{} refused the connection from {} (SYN answered by RST).",
                            conn.server, conn.client
                        ),
                        format!("Frame {rst_frame}: RST from {}", conn.server),
                    )
                } else if rsts >= u64::from(attempts) {
                    (
                        format!(
                            "{} refused the connection from {}: each of {attempts} SYNs on the same ports was answered by RST.",
                            conn.server, conn.client
                        ),
                        format!("RST from {} to each SYN: {listed}", conn.server),
                    )
                } else {
                    (
                        format!(
                            "{} refused the connection from {} ({attempts} SYNs on the same ports, {rsts} answered by RST).",
                            conn.server, conn.client
                        ),
                        format!("RST from {}: {listed}", conn.server),
                    )
                };
                let first_rst = rst_frames.first().copied().unwrap_or(rst_frame);
                let mut frames = vec![flow.first_frame];
                frames.extend(rst_frames.iter().take(64));
                out.push(Finding {
                    id: "tcp-refused",
                    severity: Severity::Warning,
                    frame: first_rst,
                    frames,
                    streams: vec![conn.stream],
                    summary,
                    evidence: vec![
                        if attempts > 1 {
                            format!(
                                "Frame {}: first of {attempts} SYNs to {} (a client retrying on the same ports)",
                                flow.first_frame, conn.server
                            )
                        } else {
                            format!("Frame {}: SYN to {}", flow.first_frame, conn.server)
                        },
                        rst_evidence,
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
                        format!(
                            "{attempts} SYN{}, no SYN-ACK, no RST",
                            if attempts == 1 { "" } else { "s" }
                        ),
                    ],
                    facts: Default::default(),
                    suggestion: "The server is down or unreachable, or a firewall drops the SYN: check routing and filtering towards it.".to_string(),
                });
            }
        }
    }
}

/// `tcp-zero-window`: a side of `conn` advertised a zero receive window (`zw`).
fn zero_window(conn: &ConnIndex, flow: &FlowFacts, zw: &ZeroWindowSeen) -> Finding {
    let st = &zw.stats;
    let (who, peer) = (side_name(zw.by, conn), side_name(zw.by.flip(), conn));
    let (first, longest, last) = (st.first, st.longest, st.last);
    let stream = conn.stream;
    let long = longest.closed_secs >= LONG_ZERO_WINDOW_SECS;
    let mut frames = vec![first.frame, longest.frame, last.frame];
    frames.extend(first.reopened_frame);
    frames.extend(longest.reopened_frame);
    let mut evidence = vec![format!(
        "Frame {}: the {who} advertises a zero window (Win=0): its receive buffer is full, the {peer} must stop sending",
        first.frame
    )];
    if let Some(reopened) = first.reopened_frame {
        evidence.push(format!(
            "Frame {reopened}: the {who} reopens its window after {} (window update)",
            short_duration(first.closed_secs)
        ));
    }
    if st.episodes > 1 {
        let longest_end = match longest.reopened_frame {
            Some(f) => format!("reopened at frame {f}"),
            None => "never reopened".to_string(),
        };
        let mut line = format!(
            "{} zero-window episodes, {} closed in all; the longest from frame {}: {}, {longest_end}",
            st.episodes,
            short_duration(st.closed_secs),
            longest.frame,
            short_duration(longest.closed_secs)
        );
        if st.not_reported > 0 {
            line.push_str(&format!(
                " ({} not told in the story: more than {MAX_REPORTED_EPISODES} on the connection)",
                st.not_reported
            ));
        }
        evidence.push(line);
    }
    if st.probes > 0 {
        evidence.push(format!(
            "{} zero-window probe{} from the {peer} while the window was closed",
            st.probes,
            if st.probes == 1 { "" } else { "s" }
        ));
    }
    // How the connection ended, for a window that never reopened: `(what, frame)`.
    let end = st.closed_at_end.then(|| match flow.ending {
        Ending::Rst { by, frame, .. } => {
            // Named from the index's roles (the RST's sender's address), as `tcp.resets`.
            let by = (conn.tcp.resets.iter())
                .find(|r| r.frame == frame)
                .map_or(by, |r| r.by);
            (
                format!(
                    "the {} reset the connection at frame {frame}",
                    side_name(by, conn)
                ),
                Some(frame),
            )
        }
        Ending::Fin { first, .. } => match conn.first_close() {
            Some(c) if !c.rst => (
                format!(
                    "the {} closed the connection (FIN at frame {})",
                    side_name(c.by, conn),
                    c.frame
                ),
                Some(c.frame),
            ),
            _ => (
                format!("the {} closed the connection (FIN)", side_name(first, conn)),
                None,
            ),
        },
        Ending::Open => (
            format!(
                "the capture ended (the connection's last frame is {})",
                flow.last_frame
            ),
            None,
        ),
        Ending::Evicted => (
            format!(
                "the connection was dropped from the flow table (at frame {})",
                flow.last_frame
            ),
            None,
        ),
    });
    let closed_for = short_duration(last.closed_secs);
    if let Some((what, frame)) = &end {
        if last.frame != first.frame {
            evidence.push(format!(
                "Frame {}: the {who} advertises a zero window again",
                last.frame
            ));
        }
        evidence.push(format!(
            "The window never reopened: {what}, {closed_for} after frame {}",
            last.frame
        ));
        frames.extend(*frame);
    }
    let addr = zw.addr;
    let (severity, frame, summary, suggestion) = match &end {
        Some((what, _)) => (
            Severity::Warning,
            last.frame,
            format!(
                "The {who} ({addr}) stopped reading stream {stream}: it advertised a zero receive window at frame {} and had not reopened it when {what}, {closed_for} later.",
                last.frame
            ),
            format!(
                "The {who}'s application stopped reading from the connection while the {peer} still had data for it (hung, blocked on something else, or busy): find out what it was doing at frame {} (logs, thread dumps, CPU). A reset or close by the {peer} after such a wait is usually its timeout.",
                last.frame
            ),
        ),
        None if long => (
            Severity::Warning,
            longest.frame,
            format!(
                "The {who} ({addr}) stalled stream {stream}: its receive window stayed zero for {} from frame {}{}, so the {peer} could not send.",
                short_duration(longest.closed_secs),
                longest.frame,
                match longest.reopened_frame {
                    Some(f) => format!(" to frame {f}"),
                    None => String::new(),
                }
            ),
            format!(
                "The {who}'s application read more slowly than the {peer} sent for {}: look at what slowed its reading (CPU, disk, a blocked thread) and at its receive buffer size.",
                short_duration(longest.closed_secs)
            ),
        ),
        None => (
            Severity::Info,
            first.frame,
            if st.episodes > 1 {
                format!(
                    "The {who} ({addr}) briefly stalled stream {stream} {} times: it advertised a zero receive window (first at frame {}), the {peer} had to wait up to {} each time.",
                    st.episodes,
                    first.frame,
                    short_duration(longest.closed_secs)
                )
            } else {
                format!(
                    "The {who} ({addr}) briefly stalled stream {stream}: it advertised a zero receive window at frame {} and reopened it {} later{}; the {peer} had to wait.",
                    first.frame,
                    short_duration(first.closed_secs),
                    match first.reopened_frame {
                        Some(f) => format!(" (frame {f})"),
                        None => String::new(),
                    }
                )
            },
            format!(
                "Brief zero windows that recover are TCP flow control at work: the {who} read more slowly than the {peer} sent for a moment. Worth a look only if they recur or coincide with reported slowness."
            ),
        ),
    };
    let mut finding = Finding {
        id: "tcp-zero-window",
        severity,
        frame,
        frames,
        streams: vec![stream],
        summary,
        evidence,
        facts: Default::default(),
        suggestion,
    };
    let facts = &mut finding.facts;
    facts.insert("by", who.to_string());
    facts.insert("episodes", st.episodes.to_string());
    facts.insert("longest_secs", format!("{:.3}", longest.closed_secs));
    facts.insert("closed_at_end", st.closed_at_end.to_string());
    facts.insert("probes", st.probes.to_string());
    facts.insert("first_frame", first.frame.to_string());
    if let Some(f) = first.reopened_frame {
        facts.insert("reopened_frame", f.to_string());
    }
    finding
}

/// `frames 130, 135 and 138`, the first ten of a longer list and how many more.
fn list_frames(frames: &[u64]) -> String {
    let shown: Vec<String> = frames.iter().take(10).map(u64::to_string).collect();
    let mut text = match shown.as_slice() {
        [one] => format!("frame {one}"),
        [init @ .., last] => format!("frames {} and {last}", init.join(", ")),
        [] => String::new(),
    };
    if frames.len() > 10 {
        text.push_str(&format!(" (and {} more)", frames.len() - 10));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::list_frames;

    #[test]
    fn frame_lists_read_as_prose() {
        assert_eq!(list_frames(&[7]), "frame 7");
        assert_eq!(list_frames(&[7, 9]), "frames 7 and 9");
        assert_eq!(list_frames(&[1, 2, 3]), "frames 1, 2 and 3");
        let many: Vec<u64> = (1..=12).collect();
        assert_eq!(
            list_frames(&many),
            "frames 1, 2, 3, 4, 5, 6, 7, 8, 9 and 10 (and 2 more)"
        );
    }
}
