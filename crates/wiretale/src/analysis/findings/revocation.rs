//! `revocation-check-during-handshake`: a fetch of a URL named by a certificate while that
//! certificate's TLS connection waited.

use super::super::finding::{Finding, Severity};
use super::super::index::{Exchange, Index};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// Fetches a finding lists one by one (the first and the last half); the others are counted.
const SHOWN_FETCHES: usize = 20;

/// A TLS connection whose server's certificate names URLs.
struct CertificateHolder<'i> {
    stream: u64,
    client: SocketAddr,
    server: SocketAddr,
    /// Frame of the server's Certificate.
    cert_frame: u64,
    /// Last frame of the connection (`u64::MAX` while it is open).
    end_frame: u64,
    /// Frame at which the handshake completed, when it did.
    handshake_done: Option<u64>,
    urls: &'i [(String, &'static str)],
}

/// Every connection whose server's certificate names URLs, kept whole or retired, in stream
/// order.
fn certificate_holders(index: &Index) -> Vec<CertificateHolder<'_>> {
    let kept = index.conns.values().filter_map(|conn| {
        let p = conn.tls_progress.as_ref()?;
        Some(CertificateHolder {
            stream: conn.stream,
            client: conn.client,
            server: conn.server,
            cert_frame: p.certificate?,
            end_frame: conn.flow.as_ref().map_or(u64::MAX, |f| f.last_frame),
            handshake_done: p.completed_frame(),
            urls: &p.cert_urls,
        })
    });
    let retired = index.certificates.iter().map(|c| CertificateHolder {
        stream: c.stream,
        client: c.client,
        server: c.server,
        cert_frame: c.frame,
        end_frame: c.last_frame,
        handshake_done: c.handshake_done,
        urls: &c.urls,
    });
    let mut all: Vec<CertificateHolder<'_>> =
        kept.chain(retired).filter(|h| !h.urls.is_empty()).collect();
    all.sort_by_key(|h| h.stream);
    all
}

/// Links TLS connections to HTTP fetches of their certificates' CRL/OCSP/AIA URLs; `earlier`
/// are the other detectors' findings (to say how a fetch ended).
pub fn detect(index: &Index, earlier: &[Finding]) -> Vec<Finding> {
    let mut out = Vec::new();
    // Fetch candidates (exchanges with a URL), in request-frame order, and their positions by
    // normalised URL and client address: a certificate's URLs are looked up rather than
    // compared with every request made while its connection lived, which was quadratic in a
    // proxy capture of many TLS connections and many requests.
    let candidates: Vec<&Exchange> = (index.exchanges().into_iter())
        .filter(|x| x.url.is_some())
        .collect();
    let mut by_url: HashMap<(String, IpAddr), Vec<usize>> = HashMap::new();
    for (at, x) in candidates.iter().enumerate() {
        let (Some(url), Some(c)) = (x.url.as_deref(), index.conn(x.stream)) else {
            continue;
        };
        by_url
            .entry((normalize(url), c.client.ip()))
            .or_default()
            .push(at);
    }
    let by_stream = by_stream(earlier);
    for conn in certificate_holders(index) {
        let cert_frame = conn.cert_frame;
        let end_frame = conn.end_frame;
        let frame_of = |at: &usize| candidates.get(*at).map_or(u64::MAX, |x| x.request_frame);
        // (position, kind, URL as the certificate spells it); a URL named twice counts once,
        // with its first kind.
        let mut found: Vec<(usize, &'static str, &str)> = Vec::new();
        let mut looked_up: Vec<String> = Vec::new();
        for (original, kind) in conn.urls {
            let url = normalize(original);
            if looked_up.contains(&url) {
                continue;
            }
            let key = (url, conn.client.ip());
            if let Some(list) = by_url.get(&key) {
                let from = list.partition_point(|at| frame_of(at) <= cert_frame);
                let during = (list.get(from..).unwrap_or_default().iter())
                    .take_while(|at| frame_of(at) <= end_frame)
                    .map(|&at| (at, *kind, original.as_str()));
                found.extend(during);
            }
            looked_up.push(key.0);
        }
        found.sort_unstable_by_key(|f| f.0);
        let fetches: Vec<(&Exchange, &'static str, &str)> = (found.into_iter())
            .filter_map(|(at, kind, url)| Some((*candidates.get(at)?, kind, url)))
            .collect();
        let Some(&(first, kind, url)) = fetches.first() else {
            continue;
        };
        let stalled = by_stream.contains_key(&("tls-stalled", conn.stream));
        let mut evidence = vec![format!(
            "Frame {cert_frame}: the server's certificate on stream {} names {url} as {kind}",
            conn.stream
        )];
        let mut frames = vec![cert_frame];
        let mut streams = vec![conn.stream];
        // Every fetch counts in the summary, but a client retrying in a loop must not make a
        // finding of thousands of lines: the first and the last ones are listed (the last
        // tells the outcome), the middle counted.
        let hidden = fetches.len().saturating_sub(SHOWN_FETCHES);
        let head = SHOWN_FETCHES / 2;
        for (at, (x, _, _)) in fetches.iter().enumerate() {
            if hidden > 0 && at >= head && at < head + hidden {
                if at == head {
                    evidence.push(format!("… and {hidden} more fetches"));
                }
                // Their connections still belong to the finding (`compare` links findings to
                // conversations by stream).
                if !streams.contains(&x.stream) {
                    streams.push(x.stream);
                }
                continue;
            }
            let via = index
                .conn(x.stream)
                .map(|c| format!("{} {}", c.server_role(), c.server))
                .unwrap_or_default();
            let answer = match &x.response {
                Some(r) => format!("→ {} {} (frame {})", r.status, r.reason, r.frame),
                None => "→ no response".to_string(),
            };
            let ntlm = match x.ntlm_request {
                Some(t) => format!(" with NTLM Type {t}"),
                None => String::new(),
            };
            evidence.push(format!(
                "Frame {}: client sent {} {} {}{ntlm} to {via} (stream {}) {answer}",
                x.request_frame, x.method, x.target, x.version, x.stream
            ));
            frames.push(x.request_frame);
            frames.extend(x.response.as_ref().map(|r| r.frame));
            streams.push(x.stream);
        }
        let outcome = fetch_outcome(&fetches, &by_stream);
        evidence.push(format!("How the fetch ended: {outcome}"));
        let failed = !outcome.starts_with("succeeded");
        out.push(Finding {
            id: "revocation-check-during-handshake",
            severity: if stalled && failed {
                Severity::Error
            } else if failed {
                Severity::Warning
            } else {
                Severity::Info
            },
            frame: first.request_frame,
            frames,
            streams,
            summary: format!(
                "While TLS stream {} {}, the client fetched its {kind} {url} ({} attempt{}): {outcome}.",
                conn.stream,
                tls_state(stalled, cert_frame, conn.handshake_done, first.request_frame),
                fetches.len(),
                if fetches.len() == 1 { "" } else { "s" }
            ),
            evidence,
            facts: Default::default(),
            suggestion: if failed {
                "The client validates the server certificate by fetching its revocation information and waits for it: make that URL reachable for the client without interactive authentication (proxy exemption, or a proxy/HTTP setting the client's library can complete)."
            } else {
                "The revocation check succeeded; it only delayed the connection's first use."
            }
            .to_string(),
        });
        if let Some(f) = out.last_mut() {
            f.facts.insert("url", url.to_string());
            f.facts.insert("url_kind", kind.to_string());
            f.facts.insert("tls_server", conn.server.to_string());
            f.facts.insert("tls_stream", conn.stream.to_string());
            f.facts.insert("fetch_outcome", outcome.clone());
            f.facts.insert("fetch_failed", failed.to_string());
            if let Some(c) = index.conn(first.stream) {
                f.facts
                    .insert("fetched_via", format!("{} {}", c.server_role(), c.server));
            }
        }
    }
    out
}

/// Where the TLS connection stood when the client began fetching (`fetch_frame`): in its
/// handshake after the server's certificate, or past it (a client may finish the handshake
/// and validate the certificate before it sends data, as in the case study), stalled or
/// not.
fn tls_state(stalled: bool, cert_frame: u64, done: Option<u64>, fetch_frame: u64) -> String {
    let waiting = if stalled {
        "was stalled"
    } else {
        "was waiting"
    };
    match done {
        Some(done) if done < fetch_frame => format!(
            "{waiting} after its handshake (completed at frame {done}; the server's certificate at frame {cert_frame})"
        ),
        _ if stalled => format!("was stalled after the server's certificate (frame {cert_frame})"),
        _ => format!("was in its handshake after the server's certificate (frame {cert_frame})"),
    }
}

/// The first of the earlier findings this detector consults, by id and stream (looked up per
/// TLS connection: a scan of every finding each time was quadratic).
type ByStream<'f> = HashMap<(&'static str, u64), &'f Finding>;

fn by_stream(earlier: &[Finding]) -> ByStream<'_> {
    let mut map = ByStream::new();
    for f in earlier {
        if matches!(
            f.id,
            "tls-stalled" | "ntlm-abandoned" | "ntlm-challenge-missing"
        ) {
            for &stream in &f.streams {
                map.entry((f.id, stream)).or_insert(f);
            }
        }
    }
    map
}

fn fetch_outcome(fetches: &[(&Exchange, &'static str, &str)], by_stream: &ByStream<'_>) -> String {
    let Some((last, _, _)) = fetches.last() else {
        return "unknown".into();
    };
    let by = |id: &'static str| by_stream.get(&(id, last.stream)).copied();
    if let Some(f) = by("ntlm-abandoned") {
        return format!(
            "failed — NTLM proxy authentication was abandoned after the challenge (frame {})",
            f.frame
        );
    }
    if let Some(f) = by("ntlm-challenge-missing") {
        return format!("failed — NTLM could not start (frame {})", f.frame);
    }
    match &last.response {
        Some(r) if (200..300).contains(&r.status) => {
            format!("succeeded ({} {}, frame {})", r.status, r.reason, r.frame)
        }
        Some(r) => format!("failed — {} {} (frame {})", r.status, r.reason, r.frame),
        None => "failed — no response".into(),
    }
}

/// A URL in a form where equal URLs compare equal: scheme and host lower-cased, a default
/// port dropped.
pub(crate) fn normalize(u: &str) -> String {
    let u = u.trim();
    let (scheme, rest) = split_scheme(u).unwrap_or(("http", u));
    // Found as a byte (`find('/')`'s character search cost a quarter of the normalisation):
    // `/` is ASCII, so where its byte is, a character boundary is.
    let (host, path) = match memchr::memchr(b'/', rest.as_bytes()) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        ":80"
    } else if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ""
    };
    let host = match host.strip_suffix(default_port) {
        Some(bare) if !default_port.is_empty() => bare,
        _ => host,
    };
    // One string, lowercased in place (every certificate's URLs are normalised once).
    let mut out = String::with_capacity(scheme.len() + 3 + host.len() + path.len());
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(host);
    out.make_ascii_lowercase();
    out.push_str(path);
    out
}

/// `u.split_once("://")`, found from the colons: every certificate's URLs and every fetch
/// checked against them are normalised, and the general substring search cost more than the
/// rest of the normalisation.
pub(crate) fn split_scheme(u: &str) -> Option<(&str, &str)> {
    let bytes = u.as_bytes();
    let at =
        memchr::memchr_iter(b':', bytes).find(|&at| bytes.get(at + 1..at + 3) == Some(b"//"))?;
    // `at` is an ASCII colon and `at + 3` follows the ASCII `//`: both char boundaries.
    Some((u.get(..at)?, u.get(at + 3..)?))
}

#[cfg(test)]
mod tests {
    use super::{normalize, split_scheme};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn split_scheme_is_split_once(u in "[a-zA-Z:/ä.]{0,16}") {
            prop_assert_eq!(split_scheme(&u), u.split_once("://"));
        }
    }

    /// The normalisation as first written: lowercase scheme and host, default port dropped.
    fn reference(u: &str) -> String {
        let u = u.trim();
        let (scheme, rest) = u.split_once("://").unwrap_or(("http", u));
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let scheme = scheme.to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        let host = match (scheme.as_str(), host.rsplit_once(':')) {
            ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
            _ => host,
        };
        format!("{scheme}://{host}{path}")
    }

    #[test]
    fn normalisation_matches_its_definition() {
        for u in [
            "http://crl.verisign.com/pca3.crl",
            "HTTP://CRL.VeriSign.com:80/pca3.crl",
            "HTTPS://Ocsp.Example:443",
            "https://ocsp.example:80/x",
            "http://h:180/a",
            "http://h:8080/A/B",
            "ldap://DIR.example:389/CN=Ca",
            "  crl.example.com/Path ",
            "http://:80/",
            "http://[2001:DB8::1]:80/crl",
            "http://[2001:db8::80]/x",
            "Http://ÄÖ.example:80/ü",
            "://x",
            "",
        ] {
            assert_eq!(normalize(u), reference(u), "{u:?}");
        }
    }

    #[test]
    fn urls_compare_loosely() {
        assert_eq!(
            normalize("http://crl.verisign.com/pca3.crl"),
            normalize("HTTP://CRL.VeriSign.com:80/pca3.crl")
        );
        assert_ne!(
            normalize("http://crl.verisign.com/pca3.crl"),
            normalize("http://crl.verisign.com/other.crl")
        );
    }
}
