//! Whether a connection stays open after a message (RFC 9112 §9.3).

use serde::Serialize;

use super::head::{HeaderBlock, HttpVersion};

/// Why a message leaves the connection open or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepAliveReason {
    /// HTTP/1.1 (or later) without `Connection: close`: persistent by default.
    Http11Default,
    /// `Connection: close`.
    ConnectionClose,
    /// `Proxy-Connection: close` (non-standard; proxies such as squid honour it).
    ProxyConnectionClose,
    /// HTTP/1.0 with `Connection: keep-alive`.
    Http10ConnectionKeepAlive,
    /// HTTP/1.0 with `Proxy-Connection: keep-alive` (what HTTP/1.0 clients send to proxies).
    Http10ProxyConnectionKeepAlive,
    /// HTTP/1.0 without a keep-alive token: the connection closes after the response.
    Http10Default,
    /// A response whose body ends when the connection closes.
    CloseDelimitedBody,
}

/// Decides persistence from the version and the `Connection`/`Proxy-Connection` headers.
pub fn keep_alive(version: HttpVersion, headers: &HeaderBlock) -> (bool, KeepAliveReason) {
    if headers.has_token("Connection", "close") {
        return (false, KeepAliveReason::ConnectionClose);
    }
    if headers.has_token("Proxy-Connection", "close") {
        return (false, KeepAliveReason::ProxyConnectionClose);
    }
    if version >= HttpVersion::Http11 {
        return (true, KeepAliveReason::Http11Default);
    }
    if headers.has_token("Connection", "keep-alive") {
        return (true, KeepAliveReason::Http10ConnectionKeepAlive);
    }
    if headers.has_token("Proxy-Connection", "keep-alive") {
        return (true, KeepAliveReason::Http10ProxyConnectionKeepAlive);
    }
    (false, KeepAliveReason::Http10Default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::http::head::HeaderLine;

    fn block(fields: &[(&str, &str)]) -> HeaderBlock {
        HeaderBlock {
            lines: fields
                .iter()
                .map(|(n, v)| HeaderLine {
                    name: n.to_string(),
                    value: Some(v.to_string()),
                })
                .collect(),
            ..HeaderBlock::default()
        }
    }

    #[test]
    fn rfc9112_persistence_rules() {
        use HttpVersion::*;
        use KeepAliveReason::*;
        assert_eq!(keep_alive(Http11, &block(&[])), (true, Http11Default));
        assert_eq!(
            keep_alive(Http11, &block(&[("connection", "Upgrade, Close")])),
            (false, ConnectionClose)
        );
        assert_eq!(keep_alive(Http10, &block(&[])), (false, Http10Default));
        assert_eq!(
            keep_alive(Http10, &block(&[("Connection", "Keep-Alive")])),
            (true, Http10ConnectionKeepAlive)
        );
        assert_eq!(
            keep_alive(Http10, &block(&[("Proxy-Connection", "Keep-Alive")])),
            (true, Http10ProxyConnectionKeepAlive)
        );
        assert_eq!(
            keep_alive(Http11, &block(&[("Proxy-Connection", "close")])),
            (false, ProxyConnectionClose)
        );
        assert_eq!(
            keep_alive(
                Http10,
                &block(&[("Connection", "keep-alive"), ("Connection", "close")])
            ),
            (false, ConnectionClose)
        );
    }
}
