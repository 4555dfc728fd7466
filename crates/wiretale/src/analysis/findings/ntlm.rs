//! NTLM over HTTP: abandoned handshakes, Type 3 on another connection, challenges withheld.
//!
//! NTLM authenticates a *connection*: Type 1 (client), Type 2 (server challenge) and Type 3
//! (client response) must travel on one TCP connection, which therefore has to stay open
//! (HTTP/1.1, or HTTP/1.0 with keep-alive).

use super::super::finding::{Finding, Severity};
use super::super::index::{ConnIndex, EndSeen, Exchange, Index};
use super::side_name;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

const FIX_KEEP_ALIVE: &str = "NTLM authenticates a connection, not a request: Type 1, Type 2 and \
Type 3 must travel on one connection that stays open. Let the client speak HTTP/1.1 (or HTTP/1.0 \
with keep-alive) to the proxy — for WinINet clients: Internet Options › Advanced › \"Use HTTP 1.1 \
through proxy connections\" — or exempt this URL from proxy authentication, or offer an \
authentication scheme that works per request.";

/// An NTLM Type 3, on a connection kept whole or retired.
struct Answer<'i> {
    stream: u64,
    client: SocketAddr,
    request_frame: u64,
    /// Frame, status and reason of its response.
    response: Option<(u64, u16, &'i str)>,
}

/// Every Type 3 of the capture by client host and server, in stream then exchange order.
type Answers<'i> = HashMap<(IpAddr, SocketAddr), Vec<Answer<'i>>>;

fn answers(index: &Index) -> Answers<'_> {
    let kept = index.conns.values().flat_map(|c| {
        (c.exchanges.iter())
            .filter(|x| x.ntlm_request == Some(3))
            .map(move |x| {
                let answer = Answer {
                    stream: c.stream,
                    client: c.client,
                    request_frame: x.request_frame,
                    response: (x.response.as_ref()).map(|r| (r.frame, r.status, r.reason.as_str())),
                };
                (c.server, answer)
            })
    });
    let retired = index.ntlm_answers.iter().map(|a| {
        let answer = Answer {
            stream: a.stream,
            client: a.client,
            request_frame: a.request_frame,
            response: (a.response.as_ref())
                .map(|(frame, status, reason)| (*frame, *status, &**reason)),
        };
        (a.server, answer)
    });
    let mut all: Answers<'_> = HashMap::new();
    for (server, answer) in kept.chain(retired) {
        all.entry((answer.client.ip(), server))
            .or_default()
            .push(answer);
    }
    // By request frame, so that "the first Type 3 after a challenge" is a binary search, not
    // a scan (a flood of challenges against a flood of Type 3s was quadratic).
    for list in all.values_mut() {
        list.sort_by_key(|a| (a.request_frame, a.stream));
    }
    all
}

/// Runs the NTLM detectors.
pub fn detect(index: &Index, out: &mut Vec<Finding>) {
    let answers = answers(index);
    for conn in index.conns.values() {
        let last_type3 = (conn.exchanges.iter()).rposition(|x| x.ntlm_request == Some(3));
        // Challenges answered neither here nor on another connection, in order: one finding
        // for the connection, at the last (the one its close followed).
        let mut abandoned: Vec<&Exchange> = Vec::new();
        // Type 1s refused without a challenge, in order.
        let mut missing: Vec<&Exchange> = Vec::new();
        // Challenges answered on another connection, with that answer, in order.
        let mut switched: Vec<(&Exchange, &Answer<'_>)> = Vec::new();
        for (i, ex) in conn.exchanges.iter().enumerate() {
            let Some(resp) = &ex.response else { continue };
            if resp.ntlm_response == Some(2) {
                // Answered on the same connection: the normal case (its outcome is
                // auth-rejected's business).
                if last_type3.is_some_and(|last| last > i) {
                    continue;
                }
                match type3_elsewhere(&answers, conn, ex) {
                    Some(x3) => switched.push((ex, x3)),
                    None => abandoned.push(ex),
                }
            } else if ex.ntlm_request == Some(1) && matches!(resp.status, 401 | 407) {
                missing.push(ex);
            }
        }
        // One finding per connection, at the first Type 1 refused without a challenge; the
        // client's retries on the connection are counted in it.
        if let Some((first, more)) = missing.split_first() {
            challenge_missing(conn, first, more, out);
        }
        // A Type 3 elsewhere answers the last of the challenges before it; the ones before
        // that were superseded by a new Type 1 on this connection (one finding per answer,
        // not per challenge: a client restarting the handshake a thousand times made a
        // thousand findings citing the same Type 3).
        let same_answer = |a: &(&Exchange, &Answer<'_>), b: &(&Exchange, &Answer<'_>)| {
            (a.1.stream, a.1.request_frame) == (b.1.stream, b.1.request_frame)
        };
        for group in switched.chunk_by(same_answer) {
            if let Some(((ex, x3), superseded)) = group.split_last() {
                let earlier: Vec<&Exchange> = superseded.iter().map(|s| s.0).collect();
                connection_switch(conn, ex, x3, &earlier, out);
            }
        }
        if let Some((last, earlier)) = abandoned.split_last() {
            challenge_abandoned(conn, last, earlier, out);
        }
    }
}

fn who(conn: &ConnIndex) -> String {
    format!("{} {}", conn.server_role(), conn.server)
}

/// A Type 2 arrived in `ex` and no Type 3 followed on its connection: the first Type 3 the
/// same client sent the same server on another connection after the challenge, if any.
fn type3_elsewhere<'a>(
    answers: &'a Answers<'a>,
    conn: &ConnIndex,
    ex: &Exchange,
) -> Option<&'a Answer<'a>> {
    let resp = ex.response.as_ref()?;
    let list = answers.get(&(conn.client.ip(), conn.server))?;
    let from = list.partition_point(|a| a.request_frame <= resp.frame);
    (list.get(from..).unwrap_or_default().iter()).find(|a| a.stream != conn.stream)
}

/// `ntlm-connection-switch`: the challenge in `ex` (after the unanswered ones in `earlier`,
/// on the same connection) answered by `x3` on another connection.
fn connection_switch(
    conn: &ConnIndex,
    ex: &Exchange,
    x3: &Answer<'_>,
    earlier: &[&Exchange],
    out: &mut Vec<Finding>,
) {
    let Some(resp) = &ex.response else { return };
    let outcome = match &x3.response {
        Some((frame, status, reason)) => format!("answered {status} {reason} (frame {frame})"),
        None => "never answered".to_string(),
    };
    out.push(Finding {
        id: "ntlm-connection-switch",
        severity: Severity::Error,
        frame: x3.request_frame,
        frames: vec![ex.request_frame, resp.frame, x3.request_frame],
        streams: vec![conn.stream, x3.stream],
        summary: format!(
            "The client answered the NTLM challenge from {} (stream {}, frame {}) on a different connection (stream {}, frame {}), so the challenge it answers does not exist there.",
            who(conn), conn.stream, resp.frame, x3.stream, x3.request_frame
        ),
        evidence: vec![
            format!("Frame {}: {} {} {} with NTLM Type 1 on stream {}", ex.request_frame, ex.method, ex.target, ex.version, conn.stream),
            format!("Frame {}: {} {} {} with the NTLM Type 2 challenge", resp.frame, resp.version, resp.status, resp.reason),
            format!("Frame {}: NTLM Type 3 sent on stream {} ({}:{}), {outcome}", x3.request_frame, x3.stream, x3.client.ip(), x3.client.port()),
            format!("Request keep-alive: {} ({}); response keep-alive: {} ({})", yes(ex.request_keep_alive), ex.request_keep_alive_reason, yes(resp.keep_alive), resp.keep_alive_reason),
        ],
        facts: Default::default(),
        suggestion: FIX_KEEP_ALIVE.to_string(),
    });
    if let (Some(f), Some((line, frames))) = (out.last_mut(), earlier_challenges(earlier)) {
        f.evidence.push(line);
        f.frames.extend(frames);
    }
}

/// Repeats of what a finding is about on the same connection (unanswered challenges, refused
/// Type 1s) listed one by one in it; the rest are counted.
const SHOWN_REPEATS: usize = 10;

/// An evidence line about `repeats`, exchanges of one connection like the one a finding is
/// about: "{head} {n} {what}{s} {tail} (frames a, b and N more)", with the response frames of
/// the first [`SHOWN_REPEATS`], which it also returns; `None` without any.
fn repeats_line(
    head: &str,
    what: &str,
    tail: &str,
    repeats: &[&Exchange],
) -> Option<(String, Vec<u64>)> {
    if repeats.is_empty() {
        return None;
    }
    let frames: Vec<u64> = (repeats.iter())
        .filter_map(|x| x.response.as_ref().map(|r| r.frame))
        .take(SHOWN_REPEATS)
        .collect();
    let listed: Vec<String> = frames.iter().map(u64::to_string).collect();
    let unlisted = repeats.len().saturating_sub(frames.len());
    let line = format!(
        "{head} {} {what}{} {tail} (frame{} {}{})",
        repeats.len(),
        if repeats.len() == 1 { "" } else { "s" },
        if frames.len() == 1 { "" } else { "s" },
        listed.join(", "),
        if unlisted > 0 {
            format!(" and {unlisted} more")
        } else {
            String::new()
        }
    );
    Some((line, frames))
}

/// [`repeats_line`] for challenges a client met with a new Type 1 on the same connection
/// instead of a Type 3.
fn earlier_challenges(earlier: &[&Exchange]) -> Option<(String, Vec<u64>)> {
    repeats_line(
        "Before it,",
        "other NTLM challenge",
        "on this connection went unanswered, the client sending a new Type 1 instead",
        earlier,
    )
}

/// The client left the challenge in `ex` unanswered (and those in `earlier`, on the same
/// connection, restarting with a new Type 1 each time): one finding for the connection.
fn challenge_abandoned(
    conn: &ConnIndex,
    ex: &Exchange,
    earlier: &[&Exchange],
    out: &mut Vec<Finding>,
) {
    let Some(resp) = &ex.response else { return };
    let mut evidence = vec![
        format!(
            "Frame {}: client sent {} {} {} with NTLM Type 1 ({})",
            ex.request_frame,
            ex.method,
            ex.target,
            ex.version,
            header_word(conn)
        ),
        format!(
            "Frame {}: {} answered {} {} {} carrying the NTLM Type 2 challenge",
            resp.frame,
            conn.server_role(),
            resp.version,
            resp.status,
            resp.reason
        ),
    ];
    if !ex.request_keep_alive {
        evidence.push(format!(
            "The request was {} without keep-alive ({}): the client cannot keep the connection open for Type 3",
            ex.version, ex.request_keep_alive_reason
        ));
    }
    evidence.push(format!(
        "The response {} the connection open ({})",
        if resp.keep_alive {
            "would keep"
        } else {
            "does not keep"
        },
        resp.keep_alive_reason
    ));
    let (frames_end, close_text) = match conn.first_close() {
        Some(&EndSeen {
            frame,
            by: dir,
            rst,
            time,
        }) if frame >= resp.frame => {
            let t = super::short_duration(time.seconds_since(resp.time));
            (
                Some(frame),
                format!(
                    "Frame {frame}: the {} {} the connection {t} after the challenge, without sending NTLM Type 3",
                    side_name(dir, conn),
                    if rst { "reset" } else { "closed" }
                ),
            )
        }
        _ => (
            None,
            "The capture ends with no NTLM Type 3 from the client on this connection".to_string(),
        ),
    };
    evidence.push(close_text);
    let mut frames = vec![ex.request_frame, resp.frame];
    frames.extend(frames_end);
    if let Some((line, shown)) = earlier_challenges(earlier) {
        evidence.push(line);
        frames.extend(shown);
    }
    out.push(Finding {
        id: "ntlm-abandoned",
        severity: Severity::Error,
        frame: frames_end.unwrap_or(resp.frame),
        frames,
        streams: vec![conn.stream],
        summary: format!(
            "The client received an NTLM challenge from {} (frame {}) and {} instead of answering with NTLM Type 3, so authentication never completed.",
            who(conn),
            resp.frame,
            match conn.first_close() {
                Some(c) if c.frame >= resp.frame && c.by == super::Dir::ToServer => "closed the connection",
                Some(c) if c.frame >= resp.frame => "the connection was closed",
                _ => "stopped",
            }
        ),
        evidence,
        facts: Default::default(),
        suggestion: FIX_KEEP_ALIVE.to_string(),
    });
    if let Some(f) = out.last_mut() {
        f.facts.insert("peer", who(conn));
        f.facts.insert("request_version", ex.version.to_string());
        f.facts
            .insert("request_keep_alive", ex.request_keep_alive.to_string());
        f.facts.insert("challenge_frame", resp.frame.to_string());
    }
}

/// The client offered NTLM (Type 1) in `ex` and got 401/407 without a Type 2; `more` are its
/// later Type 1s on the connection answered the same way, counted in the same finding.
fn challenge_missing(conn: &ConnIndex, ex: &Exchange, more: &[&Exchange], out: &mut Vec<Finding>) {
    let Some(resp) = &ex.response else { return };
    let offers = if resp.challenges.is_empty() {
        "no authentication scheme".to_string()
    } else {
        resp.challenges.join(", ")
    };
    let mut evidence = vec![
        format!(
            "Frame {}: client sent {} {} {} with NTLM Type 1",
            ex.request_frame, ex.method, ex.target, ex.version
        ),
        format!(
            "Frame {}: {} answered {} {} offering {offers}, without an NTLM Type 2",
            resp.frame,
            conn.server_role(),
            resp.status,
            resp.reason
        ),
    ];
    if !ex.request_keep_alive {
        evidence.push(format!(
            "The request was {} without keep-alive ({}); a server will not run the NTLM handshake on a connection that closes after one response",
            ex.version, ex.request_keep_alive_reason
        ));
    }
    evidence.push(format!(
        "The response {} the connection open ({})",
        if resp.keep_alive {
            "keeps"
        } else {
            "does not keep"
        },
        resp.keep_alive_reason
    ));
    out.push(Finding {
        id: "ntlm-challenge-missing",
        severity: Severity::Error,
        frame: resp.frame,
        frames: vec![ex.request_frame, resp.frame],
        streams: vec![conn.stream],
        summary: format!(
            "The client offered NTLM to {} (frame {}) but got {} {} without an NTLM challenge, so NTLM could not proceed.",
            who(conn),
            ex.request_frame,
            resp.status,
            resp.reason
        ),
        evidence,
        facts: Default::default(),
        suggestion: FIX_KEEP_ALIVE.to_string(),
    });
    let repeats = repeats_line(
        "After it,",
        "more NTLM Type 1",
        "on this connection got the same answer",
        more,
    );
    if let (Some(f), Some((line, frames))) = (out.last_mut(), repeats) {
        f.evidence.push(line);
        f.frames.extend(frames);
    }
}

fn header_word(conn: &ConnIndex) -> &'static str {
    if conn.is_proxy {
        "Proxy-Authorization"
    } else {
        "Authorization"
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
