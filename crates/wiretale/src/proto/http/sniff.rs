//! Recognising HTTP start lines: the content sniff used to pick a decoder, the cheap checks that
//! reject garbage early, and the search for a resynchronisation point after garbage or a gap.

/// Request methods recognised by [`looks_like_http`] (RFC 9110, WebDAV, CalDAV, UPnP, RPC over
/// HTTP and a few common extensions).
pub const KNOWN_METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "REPORT",
    "MKCALENDAR",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "ACL",
    "BIND",
    "UNBIND",
    "REBIND",
    "VERSION-CONTROL",
    "ORDERPATCH",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PURGE",
    "LINK",
    "UNLINK",
    "RPC_IN_DATA",
    "RPC_OUT_DATA",
];

/// Does a stream that begins with `first_bytes` look like HTTP/1.x? `Some(true)` for a known
/// method followed by a space, or `HTTP/1.`; `Some(false)` when it cannot be; `None` when the
/// bytes are too few to tell (a prefix of one of those).
pub fn looks_like_http(first_bytes: &[u8]) -> Option<bool> {
    match (
        looks_like_http_request(first_bytes),
        looks_like_http_response(first_bytes),
    ) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// Does the stream begin like an HTTP request (a known method, a space, a target byte)?
/// Lets a caller tell the client side when a capture has no SYN. `None`: too few bytes.
pub fn looks_like_http_request(first_bytes: &[u8]) -> Option<bool> {
    let mut undecided = false;
    for method in KNOWN_METHODS {
        match starts_with_word(first_bytes, method.as_bytes(), b" ") {
            Some(true) => match first_bytes.get(method.len() + 1) {
                None => undecided = true,
                Some(&b) if b > b' ' && b != 0x7f => return Some(true),
                Some(_) => {}
            },
            None => undecided = true,
            Some(false) => {}
        }
    }
    if undecided {
        None
    } else {
        Some(false)
    }
}

/// Does the stream begin like an HTTP/1.x response (`HTTP/1.` and a digit)? `None`: too few
/// bytes.
pub fn looks_like_http_response(first_bytes: &[u8]) -> Option<bool> {
    match starts_with_word(first_bytes, b"HTTP/1.", b"") {
        Some(true) => first_bytes.get(7).map(u8::is_ascii_digit),
        other => other,
    }
}

/// `Some(true)` when `bytes` starts with `word` + `sep`, `None` when `bytes` is a proper prefix
/// of it, `Some(false)` otherwise.
fn starts_with_word(bytes: &[u8], word: &[u8], sep: &[u8]) -> Option<bool> {
    let full = word.iter().chain(sep.iter());
    let matches = bytes.iter().zip(full).all(|(a, b)| a == b);
    if !matches {
        Some(false)
    } else if bytes.len() < word.len() + sep.len() {
        None
    } else {
        Some(true)
    }
}

/// Answer of a check on a possibly incomplete start line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineCheck {
    /// It is (the beginning of) a start line.
    Yes,
    /// It cannot be.
    No,
    /// Consistent so far; more bytes are needed to tell.
    NeedMore,
}

/// Which start line a direction carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartLineKind {
    /// `method SP target SP HTTP/1.x` (client to server).
    Request,
    /// `HTTP/1.x SP 3DIGIT` (server to client).
    Status,
}

/// Longest method accepted by the quick prefix checks.
const MAX_METHOD_LEN: usize = 32;

/// Longest partial start line kept while resynchronising (bounds rescanning cost).
const RESYNC_MAX_LINE: usize = 8 * 1024;

pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A method as seen in practice: upper-case letters, digits, `-` and `_`.
fn is_strict_method_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

fn is_target_char(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

/// Quick check of the first bytes of a start line (at most ~40 bytes are looked at).
pub(crate) fn start_line_prefix(kind: StartLineKind, buf: &[u8]) -> LineCheck {
    match kind {
        StartLineKind::Request => request_line_prefix(buf),
        StartLineKind::Status => status_line_prefix(buf),
    }
}

/// `token{1,32} SP target-char`.
fn request_line_prefix(buf: &[u8]) -> LineCheck {
    let method_len = buf.iter().take_while(|&&b| is_tchar(b)).count();
    if method_len > MAX_METHOD_LEN {
        return LineCheck::No;
    }
    match buf.get(method_len) {
        None => LineCheck::NeedMore,
        Some(b' ') if method_len > 0 => match buf.get(method_len + 1) {
            None => LineCheck::NeedMore,
            Some(&b) if is_target_char(b) => LineCheck::Yes,
            Some(_) => LineCheck::No,
        },
        Some(_) => LineCheck::No,
    }
}

/// `HTTP/1.d SP ddd` followed by SP, CR or LF.
fn status_line_prefix(buf: &[u8]) -> LineCheck {
    // With the whole pattern there (nearly always), its fixed-size parts are compared at
    // once; byte by byte, it cost as much as the rest of finding a response's head.
    if let Some((&[ref version @ .., space, d1, d2, d3], after)) = buf.split_first_chunk::<12>() {
        let pattern_ok = version.starts_with(b"HTTP/1.")
            && version[7].is_ascii_digit()
            && space == b' '
            && [d1, d2, d3].iter().all(u8::is_ascii_digit);
        return match after.first() {
            _ if !pattern_ok => LineCheck::No,
            None => LineCheck::NeedMore,
            Some(b' ' | b'\r' | b'\n') => LineCheck::Yes,
            Some(_) => LineCheck::No,
        };
    }
    const PATTERN: &[u8] = b"HTTP/1.# ###";
    for (&b, &p) in buf.iter().zip(PATTERN) {
        let ok = if p == b'#' {
            b.is_ascii_digit()
        } else {
            b == p
        };
        if !ok {
            return LineCheck::No;
        }
    }
    LineCheck::NeedMore
}

/// A complete request line (without its LF): `method SP target SP HTTP/1.d [CR]`.
/// `strict_method` additionally demands an upper-case method (used when resynchronising).
pub(crate) fn is_request_line(line: &[u8], strict_method: bool) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // The version is the line's last nine bytes (a space before it): split off there, not
    // found by a search back from the end for the last space.
    let Some((method_and_target, version)) = line.split_last_chunk::<9>() else {
        return false;
    };
    let version_ok = version.starts_with(b" HTTP/1.") && version[8].is_ascii_digit();
    let Some(sp1) = method_and_target.iter().position(|&b| b == b' ') else {
        return false;
    };
    let (method, target) = method_and_target.split_at(sp1);
    let target = target.get(1..).unwrap_or(&[]);
    let method_ok = !method.is_empty()
        && method.len() <= MAX_METHOD_LEN
        && method.iter().all(|&b| {
            if strict_method {
                is_strict_method_char(b)
            } else {
                is_tchar(b)
            }
        });
    version_ok && method_ok && !target.is_empty() && target.iter().all(|&b| is_target_char(b))
}

/// Could `partial` (a line without LF yet) still become a request line?
fn request_line_could_continue(partial: &[u8]) -> bool {
    let partial = partial.strip_suffix(b"\r").unwrap_or(partial);
    let method_len = partial
        .iter()
        .take_while(|&&b| is_strict_method_char(b))
        .count();
    if method_len > MAX_METHOD_LEN {
        return false;
    }
    let Some(rest) = partial.get(method_len..) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(b" ") else {
        return rest.is_empty();
    };
    if method_len == 0 {
        return false;
    }
    let target_len = rest.iter().take_while(|&&b| is_target_char(b)).count();
    let Some(after_target) = rest.get(target_len..) else {
        return false;
    };
    let Some(version) = after_target.strip_prefix(b" ") else {
        return after_target.is_empty();
    };
    let expected = b"HTTP/1.#";
    version.len() <= expected.len()
        && version.iter().zip(expected.iter()).all(|(&b, &p)| {
            if p == b'#' {
                b.is_ascii_digit()
            } else {
                b == p
            }
        })
}

/// Result of a resynchronisation search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResyncScan {
    /// A start line begins at this offset.
    Found(usize),
    /// No start line yet: this many leading bytes can be dropped; what follows (if anything) is
    /// a partial line that may still become one.
    Discard(usize),
}

/// Looks for a start line of `kind` at a line start in `buf`. Offset 0 counts as a line start
/// only if `at_zero_ok` (true after a gap or after a consumed LF; false right after a start line
/// that failed to parse, which guarantees progress).
pub(crate) fn find_resync(
    buf: &[u8],
    kind: StartLineKind,
    at_zero_ok: bool,
    max_line: usize,
) -> ResyncScan {
    let max_line = max_line.min(RESYNC_MAX_LINE);
    let mut start = if at_zero_ok {
        Some(0)
    } else {
        buf.iter().position(|&b| b == b'\n').map(|p| p + 1)
    };
    while let Some(s) = start {
        let rest = buf.get(s..).unwrap_or(&[]);
        let lf = rest.iter().position(|&b| b == b'\n');
        let found = match kind {
            StartLineKind::Status => status_line_prefix(rest) == LineCheck::Yes,
            StartLineKind::Request => lf.is_some_and(|lf| {
                rest.get(..lf)
                    .is_some_and(|line| is_request_line(line, true))
            }),
        };
        if found {
            return ResyncScan::Found(s);
        }
        match lf {
            Some(lf) => start = Some(s + lf + 1),
            None => {
                let could_continue = rest.len() <= max_line
                    && match kind {
                        StartLineKind::Status => status_line_prefix(rest) == LineCheck::NeedMore,
                        StartLineKind::Request => request_line_could_continue(rest),
                    };
                return ResyncScan::Discard(if could_continue { s } else { buf.len() });
            }
        }
    }
    ResyncScan::Discard(buf.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_methods_and_status_lines() {
        for ok in [
            "GET / HTTP/1.1",
            "CONNECT a:443 HTTP/1.1",
            "PROPFIND /x",
            "MKCOL /d",
            "RPC_IN_DATA /rpc",
            "HTTP/1.1 407 Proxy",
            "HTTP/1.0 200",
        ] {
            assert_eq!(looks_like_http(ok.as_bytes()), Some(true), "{ok}");
        }
        for no in [
            "\x16\x03\x01\x02\x00",
            "SSH-2.0-OpenSSH",
            "GETX / HTTP/1.1",
            "GET  /",
            "HTTP/2 200",
            "get / HTTP/1.1",
        ] {
            assert_eq!(looks_like_http(no.as_bytes()), Some(false), "{no}");
        }
        for more in [
            "", "G", "GE", "GET", "GET ", "CONN", "HTTP/", "HTTP/1.", "M-SE",
        ] {
            assert_eq!(looks_like_http(more.as_bytes()), None, "{more}");
        }
    }

    #[test]
    fn request_line_checks() {
        assert!(is_request_line(b"GET / HTTP/1.1\r", true));
        assert!(is_request_line(b"M-SEARCH * HTTP/1.1", true));
        assert!(is_request_line(b"get / HTTP/1.0", false));
        assert!(!is_request_line(b"get / HTTP/1.0", true));
        assert!(!is_request_line(b"GET /a b HTTP/1.1", true));
        assert!(!is_request_line(b"GET / HTTP/2.0", true));
        assert!(!is_request_line(b"GET /", true));
        assert!(!is_request_line(b"GET  HTTP/1.1", true));
        assert_eq!(request_line_prefix(b"GET /"), LineCheck::Yes);
        assert_eq!(request_line_prefix(b"GET"), LineCheck::NeedMore);
        assert_eq!(request_line_prefix(b"\x16\x03"), LineCheck::No);
        assert_eq!(request_line_prefix(&[b'A'; 40]), LineCheck::No);
        assert_eq!(status_line_prefix(b"HTTP/1.1 200 OK"), LineCheck::Yes);
        assert_eq!(status_line_prefix(b"HTTP/1.1 200\r\n"), LineCheck::Yes);
        assert_eq!(status_line_prefix(b"HTTP/1.1 20"), LineCheck::NeedMore);
        assert_eq!(status_line_prefix(b"HTTP/1.1 2000"), LineCheck::No);
    }

    /// The start-line checks as first written, a byte at a time.
    fn status_line_prefix_bytewise(buf: &[u8]) -> LineCheck {
        for (i, &p) in b"HTTP/1.# ###".iter().enumerate() {
            let Some(&b) = buf.get(i) else {
                return LineCheck::NeedMore;
            };
            if !(if p == b'#' {
                b.is_ascii_digit()
            } else {
                b == p
            }) {
                return LineCheck::No;
            }
        }
        match buf.get(12) {
            None => LineCheck::NeedMore,
            Some(b' ' | b'\r' | b'\n') => LineCheck::Yes,
            Some(_) => LineCheck::No,
        }
    }

    fn is_request_line_by_last_space(line: &[u8], strict_method: bool) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(sp1) = line.iter().position(|&b| b == b' ') else {
            return false;
        };
        let (method, rest) = line.split_at(sp1);
        let rest = &rest[1..];
        let method_ok = !method.is_empty()
            && method.len() <= MAX_METHOD_LEN
            && method.iter().all(|&b| {
                if strict_method {
                    is_strict_method_char(b)
                } else {
                    is_tchar(b)
                }
            });
        let Some(sp2) = rest.iter().rposition(|&b| b == b' ') else {
            return false;
        };
        let (target, version) = rest.split_at(sp2);
        let version = &version[1..];
        method_ok
            && !target.is_empty()
            && target.iter().all(|&b| is_target_char(b))
            && version.len() == 8
            && version.starts_with(b"HTTP/1.")
            && version[7].is_ascii_digit()
    }

    #[test]
    fn start_line_checks_agree_with_bytewise_ones_on_every_prefix() {
        let lines: [&[u8]; 12] = [
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.0 404\r\n",
            b"HTTP/1.1 2000 x",
            b"HTTP/1.x 200 OK",
            b"HTTP/2.0 200 OK",
            b"HTTP/1.1  200 OK",
            b"GET /index.html HTTP/1.1\r",
            b"get / HTTP/1.0",
            b"GET /a b HTTP/1.1",
            b"GET  HTTP/1.1",
            b"GET / HTTP/1.1 HTTP/1.1",
            b"GET / xHTTP/1.1",
        ];
        for line in lines {
            for n in 0..=line.len() {
                let prefix = &line[..n];
                assert_eq!(
                    status_line_prefix(prefix),
                    status_line_prefix_bytewise(prefix),
                    "{prefix:?}"
                );
                for strict in [false, true] {
                    assert_eq!(
                        is_request_line(prefix, strict),
                        is_request_line_by_last_space(prefix, strict),
                        "{prefix:?} {strict}"
                    );
                }
            }
        }
    }

    #[test]
    fn resync_finds_lines_only_at_line_starts() {
        let buf = b"garbage GET / HTTP/1.1\r\nmore\r\nGET /x HTTP/1.1\r\nHost: a\r\n";
        let at = find_resync(buf, StartLineKind::Request, true, 65536);
        assert_eq!(at, ResyncScan::Found(30));
        let buf = b"GET / HTTP/1.1\r\nGET /2 HTTP/1.1\r\n";
        assert_eq!(
            find_resync(buf, StartLineKind::Request, true, 65536),
            ResyncScan::Found(0)
        );
        assert_eq!(
            find_resync(buf, StartLineKind::Request, false, 65536),
            ResyncScan::Found(16)
        );
        let buf = b"xx\r\nHTTP/1.1 200 OK\r\n";
        assert_eq!(
            find_resync(buf, StartLineKind::Status, false, 65536),
            ResyncScan::Found(4)
        );
    }

    #[test]
    fn resync_keeps_only_a_plausible_partial_line() {
        assert_eq!(
            find_resync(b"junk\r\nGET /partial", StartLineKind::Request, true, 65536),
            ResyncScan::Discard(6)
        );
        assert_eq!(
            find_resync(
                b"junk\r\nGET /p HTTP/1.1\r",
                StartLineKind::Request,
                true,
                65536
            ),
            ResyncScan::Discard(6)
        );
        assert_eq!(
            find_resync(b"junk\r\nhello world", StartLineKind::Request, true, 65536),
            ResyncScan::Discard(17)
        );
        assert_eq!(
            find_resync(b"junk\nHTTP/1.", StartLineKind::Status, true, 65536),
            ResyncScan::Discard(5)
        );
        assert_eq!(
            find_resync(b"no newline at all", StartLineKind::Status, false, 65536),
            ResyncScan::Discard(17)
        );
        let long = [b"x\nGET /".as_slice(), &[b'a'; 9000]].concat();
        assert_eq!(
            find_resync(&long, StartLineKind::Request, true, 65536),
            ResyncScan::Discard(long.len())
        );
    }
}
