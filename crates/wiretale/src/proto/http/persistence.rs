//! Whether a connection stays open after a message (RFC 9112 §9.3).

use serde::Serialize;

use super::ascii::{elements, str_eq_ignore_case};
use super::head::{HeaderBlock, HttpVersion};

/// Why a message leaves the connection open or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepAliveReason {
    /// HTTP/1.1 (or later) without `Connection: close` or a keep-alive token: persistent by
    /// default.
    Http11Default,
    /// HTTP/1.1 with `Connection: keep-alive`: persistent anyway, and said so (what an
    /// analyst looks for when a client's connection was expected to stay open).
    Http11ConnectionKeepAlive,
    /// HTTP/1.1 with `Proxy-Connection: keep-alive` (and no `Connection: keep-alive`).
    Http11ProxyConnectionKeepAlive,
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
    // One pass over the header lines for the four tokens that matter (every request and
    // response of a capture comes through here).
    let mut tokens = Tokens::default();
    for line in headers.lines() {
        let Some(value) = line.value else {
            continue;
        };
        let (close, keep) = if str_eq_ignore_case(line.name, "Connection") {
            (&mut tokens.close, &mut tokens.keep_alive)
        } else if str_eq_ignore_case(line.name, "Proxy-Connection") {
            (&mut tokens.proxy_close, &mut tokens.proxy_keep_alive)
        } else {
            continue;
        };
        // Most values are one of the two tokens alone: told whole, without splitting.
        if str_eq_ignore_case(value, "close") {
            *close = true;
        } else if str_eq_ignore_case(value, "keep-alive") {
            *keep = true;
        } else {
            for token in elements(value) {
                *close |= str_eq_ignore_case(token, "close");
                *keep |= str_eq_ignore_case(token, "keep-alive");
            }
        }
    }
    if tokens.close {
        return (false, KeepAliveReason::ConnectionClose);
    }
    if tokens.proxy_close {
        return (false, KeepAliveReason::ProxyConnectionClose);
    }
    if version >= HttpVersion::Http11 {
        let why = if tokens.keep_alive {
            KeepAliveReason::Http11ConnectionKeepAlive
        } else if tokens.proxy_keep_alive {
            KeepAliveReason::Http11ProxyConnectionKeepAlive
        } else {
            KeepAliveReason::Http11Default
        };
        return (true, why);
    }
    if tokens.keep_alive {
        return (true, KeepAliveReason::Http10ConnectionKeepAlive);
    }
    if tokens.proxy_keep_alive {
        return (true, KeepAliveReason::Http10ProxyConnectionKeepAlive);
    }
    (false, KeepAliveReason::Http10Default)
}

/// Which persistence tokens the `Connection` and `Proxy-Connection` headers carry.
#[derive(Default)]
struct Tokens {
    close: bool,
    keep_alive: bool,
    proxy_close: bool,
    proxy_keep_alive: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(fields: &[(&str, &str)]) -> HeaderBlock {
        let mut block = HeaderBlock::default();
        for (name, value) in fields {
            block.push(name, Some(value));
        }
        block
    }

    /// The rules as written in RFC order, one header query per token: `keep_alive` must
    /// agree with it on every combination of these headers.
    fn keep_alive_by_queries(version: HttpVersion, h: &HeaderBlock) -> (bool, KeepAliveReason) {
        use KeepAliveReason::*;
        if h.has_token("Connection", "close") {
            (false, ConnectionClose)
        } else if h.has_token("Proxy-Connection", "close") {
            (false, ProxyConnectionClose)
        } else if version >= HttpVersion::Http11 {
            if h.has_token("Connection", "keep-alive") {
                (true, Http11ConnectionKeepAlive)
            } else if h.has_token("Proxy-Connection", "keep-alive") {
                (true, Http11ProxyConnectionKeepAlive)
            } else {
                (true, Http11Default)
            }
        } else if h.has_token("Connection", "keep-alive") {
            (true, Http10ConnectionKeepAlive)
        } else if h.has_token("Proxy-Connection", "keep-alive") {
            (true, Http10ProxyConnectionKeepAlive)
        } else {
            (false, Http10Default)
        }
    }

    #[test]
    fn one_pass_agrees_with_one_query_per_token() {
        let names = ["Connection", "proxy-connection", "Keep-Alive", "CONNECTION"];
        let values = [
            "close",
            "CLOSE",
            "Keep-Alive",
            " Keep-Alive ",
            "Upgrade, close",
            "",
            ",,keep-alive,",
            "closed",
        ];
        let fields: Vec<(&str, &str)> = names
            .iter()
            .flat_map(|n| values.iter().map(move |v| (*n, *v)))
            .collect();
        let mut checked = 0;
        for a in &fields {
            for b in &fields {
                for version in [HttpVersion::Http10, HttpVersion::Http11] {
                    let h = block(&[*a, *b]);
                    assert_eq!(
                        keep_alive(version, &h),
                        keep_alive_by_queries(version, &h),
                        "{version:?} {a:?} {b:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 2 * 32 * 32);
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
