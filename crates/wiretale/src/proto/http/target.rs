//! The four forms of a request-target (RFC 9112 §3.2).

use serde::Serialize;

/// Which form a request-target has, with the host it names when it names one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum RequestTarget {
    /// `/path?query`: a request to an origin server.
    Origin,
    /// `scheme://authority/path`: a request to a forward proxy.
    Absolute {
        /// The URI scheme, lower-cased (`http`).
        scheme: String,
        /// Host name or address (IPv6 without brackets); user info is dropped.
        host: String,
        /// The explicit port, if any.
        port: Option<u16>,
    },
    /// `host:port`: the target of a CONNECT.
    Authority {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// The port, if it parsed.
        port: Option<u16>,
    },
    /// `*`: a server-wide OPTIONS request.
    Asterisk,
    /// None of the above.
    Unrecognized,
}

impl RequestTarget {
    /// True for the forms only a proxy receives (absolute and authority form).
    pub fn is_proxy_form(&self) -> bool {
        matches!(
            self,
            RequestTarget::Absolute { .. } | RequestTarget::Authority { .. }
        )
    }
}

/// Classifies `target` as sent with `method`.
pub fn classify_target(method: &str, target: &str) -> RequestTarget {
    if target.starts_with('/') {
        return RequestTarget::Origin;
    }
    if target == "*" {
        return RequestTarget::Asterisk;
    }
    if let Some((scheme, rest)) = target.split_once("://") {
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if scheme_ok {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let (host, port) = split_authority(authority);
            return RequestTarget::Absolute {
                scheme: scheme.to_ascii_lowercase(),
                host,
                port,
            };
        }
        return RequestTarget::Unrecognized;
    }
    let looks_like_authority = !target.is_empty()
        && !target.contains(['/', '?', '#', ' '])
        && (method.eq_ignore_ascii_case("CONNECT") || target.contains(':'));
    if looks_like_authority {
        let (host, port) = split_authority(target);
        return RequestTarget::Authority { host, port };
    }
    RequestTarget::Unrecognized
}

/// Splits `[userinfo@]host[:port]` into host and port.
fn split_authority(authority: &str) -> (String, Option<u16>) {
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, after)| after);
    if let Some(rest) = host_port.strip_prefix('[') {
        // IPv6 literal: "[::1]:443".
        if let Some((addr, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (addr.to_string(), port);
        }
        return (host_port.to_string(), None);
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host.to_string(), port.parse().ok()),
        _ => (host_port.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_asterisk() {
        assert_eq!(classify_target("GET", "/x?y=1"), RequestTarget::Origin);
        assert_eq!(classify_target("OPTIONS", "*"), RequestTarget::Asterisk);
    }

    #[test]
    fn absolute_form_is_a_proxy_request() {
        let t = classify_target("GET", "HTTP://bro.org/");
        assert_eq!(
            t,
            RequestTarget::Absolute {
                scheme: "http".into(),
                host: "bro.org".into(),
                port: None
            }
        );
        assert!(t.is_proxy_form());
        assert_eq!(
            classify_target("GET", "http://user:pw@[::1]:8080/a"),
            RequestTarget::Absolute {
                scheme: "http".into(),
                host: "::1".into(),
                port: Some(8080)
            }
        );
    }

    #[test]
    fn authority_form_for_connect() {
        assert_eq!(
            classify_target("CONNECT", "ts01-b.cloudsink.net:443"),
            RequestTarget::Authority {
                host: "ts01-b.cloudsink.net".into(),
                port: Some(443)
            }
        );
        assert_eq!(
            classify_target("CONNECT", "host:notaport"),
            RequestTarget::Authority {
                host: "host".into(),
                port: None
            }
        );
    }

    #[test]
    fn garbage_is_unrecognized() {
        assert_eq!(
            classify_target("GET", "index.html"),
            RequestTarget::Unrecognized
        );
        assert_eq!(
            classify_target("GET", "1x://a"),
            RequestTarget::Unrecognized
        );
        assert_eq!(classify_target("GET", ""), RequestTarget::Unrecognized);
    }
}
