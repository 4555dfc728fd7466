//! `tunnel-not-tls`: a CONNECT tunnel was granted, but what travelled through it is not TLS.

use super::super::finding::{Finding, Severity};
use super::super::index::{Exchange, Index};

/// Reports tunnels whose bytes the TLS decoder rejected (one finding per connection, at the
/// first rejected direction).
pub fn detect(index: &Index, out: &mut Vec<Finding>) {
    for conn in index.conns.values() {
        let Some(tunnel) = &conn.tunnel else {
            continue;
        };
        let Some(rejected) = &conn.not_tls else {
            continue;
        };
        let not_tls = &rejected.not_tls;
        let sender = if rejected.from_client {
            "client".to_string()
        } else {
            format!("far end (through the {})", conn.server_role())
        };
        // The CONNECT that opened the tunnel: the one answered 2xx (a client refused with 407
        // retries with credentials on the same connection), else the last one seen.
        let connects =
            || (conn.exchanges.iter()).filter(|x| x.method.eq_ignore_ascii_case("CONNECT"));
        let granted = |x: &&Exchange| x.response.as_ref().is_some_and(|r| r.status / 100 == 2);
        let connect = connects().find(granted).or_else(|| connects().next_back());
        let mut frames = vec![rejected.frame];
        let mut evidence = Vec::new();
        if let Some(x) = connect {
            frames.push(x.request_frame);
            evidence.push(format!(
                "Frame {}: client sent CONNECT {} {} to {} {}",
                x.request_frame,
                x.target,
                x.version,
                conn.server_role(),
                conn.server
            ));
            if let Some(r) = &x.response {
                frames.push(r.frame);
                evidence.push(format!(
                    "Frame {}: {} answered {} {}: tunnel established",
                    r.frame,
                    conn.server_role(),
                    r.status,
                    r.reason
                ));
            }
        }
        let shown = match &not_tls.text_preview {
            Some(text) => format!("{:?}", text),
            None => format!("bytes {}", not_tls.first_bytes),
        };
        evidence.push(format!(
            "Frame {}: the {sender} sent {shown}, which is not TLS ({})",
            rejected.frame,
            not_tls.reason.replace('_', " ")
        ));
        out.push(Finding {
            id: "tunnel-not-tls",
            severity: Severity::Warning,
            frame: rejected.frame,
            frames,
            streams: vec![conn.stream],
            summary: format!(
                "The CONNECT tunnel to {tunnel} through {} {} (stream {}) was established, but the {sender} then sent something that is not TLS (frame {}), so no TLS session started.",
                conn.server_role(),
                conn.server,
                conn.stream,
                rejected.frame
            ),
            evidence,
            facts: [
                ("tunnel", tunnel.clone()),
                ("sender", if rejected.from_client { "client" } else { "server" }.to_string()),
                ("first_bytes", not_tls.first_bytes.clone()),
            ]
            .into_iter()
            .collect(),
            suggestion: format!(
                "Check that {tunnel} really serves TLS on that port, and whether the proxy or a security device answers inside the tunnel instead of relaying it (the bytes above are what came back)."
            ),
        });
    }
}
