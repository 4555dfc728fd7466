//! How long a message body is (RFC 9112 §6.3).

use serde::Serialize;

use super::ascii::elements;
use super::error::{clip, HttpError};
use super::head::HeaderBlock;

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BodyFraming {
    /// There is no body.
    None {
        /// Why not.
        why: NoBody,
    },
    /// Exactly `length` bytes (`Content-Length`).
    ContentLength {
        /// The declared length.
        length: u64,
    },
    /// `Transfer-Encoding: chunked`.
    Chunked {
        /// A `Content-Length` was also present and ignored (a request-smuggling indicator).
        content_length_ignored: bool,
    },
    /// The body runs until the server closes the connection.
    UntilClose,
}

/// Why a message has no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoBody {
    /// A request without `Content-Length` or `Transfer-Encoding`.
    RequestWithoutLength,
    /// A response to HEAD.
    ResponseToHead,
    /// A 1xx response.
    Informational,
    /// 204 No Content.
    NoContent,
    /// 304 Not Modified.
    NotModified,
    /// A 2xx response to CONNECT: the connection becomes a tunnel.
    ConnectEstablished,
}

/// Framing of a request body.
pub fn request_framing(headers: &HeaderBlock) -> Result<BodyFraming, HttpError> {
    if let Some(chunked) = transfer_encoding(headers) {
        return if chunked {
            Ok(BodyFraming::Chunked {
                content_length_ignored: headers.contains("Content-Length"),
            })
        } else {
            let value: Vec<&str> = headers.values("Transfer-Encoding").collect();
            Err(HttpError::UnframedRequestBody {
                value: clip(&value.join(", "), 64),
            })
        };
    }
    Ok(match content_length(headers)? {
        Some(length) => BodyFraming::ContentLength { length },
        None => BodyFraming::None {
            why: NoBody::RequestWithoutLength,
        },
    })
}

/// Framing of a response body, given the status and the method of the request it answers
/// (`None` when the request is unknown).
pub fn response_framing(
    status: u16,
    request_method: Option<&str>,
    headers: &HeaderBlock,
) -> Result<BodyFraming, HttpError> {
    let method = request_method.unwrap_or("");
    let none = |why| Ok(BodyFraming::None { why });
    if method.eq_ignore_ascii_case("HEAD") {
        return none(NoBody::ResponseToHead);
    }
    if (100..200).contains(&status) {
        return none(NoBody::Informational);
    }
    if status == 204 {
        return none(NoBody::NoContent);
    }
    if status == 304 {
        return none(NoBody::NotModified);
    }
    if method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&status) {
        return none(NoBody::ConnectEstablished);
    }
    if let Some(chunked) = transfer_encoding(headers) {
        return Ok(if chunked {
            BodyFraming::Chunked {
                content_length_ignored: headers.contains("Content-Length"),
            }
        } else {
            BodyFraming::UntilClose
        });
    }
    Ok(match content_length(headers)? {
        Some(length) => BodyFraming::ContentLength { length },
        None => BodyFraming::UntilClose,
    })
}

/// `None` without Transfer-Encoding; otherwise whether its final coding is `chunked`.
fn transfer_encoding(headers: &HeaderBlock) -> Option<bool> {
    if !headers.contains("Transfer-Encoding") {
        return None;
    }
    let last = headers.list("Transfer-Encoding").last();
    Some(last.is_some_and(|c| {
        // A coding may carry parameters (`chunked;q=1` is not valid, but be lenient).
        c.split(';')
            .next()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"))
    }))
}

/// The Content-Length, if any. Repeated identical values (`42, 42`) are accepted; differing or
/// non-numeric values are errors.
fn content_length(headers: &HeaderBlock) -> Result<Option<u64>, HttpError> {
    let mut found: Option<u64> = None;
    let values = || headers.values("Content-Length").flat_map(|v| v.split(','));
    let mut at = 0usize;
    // Notes the `at`-th number.
    let mut note = |n: u64| {
        match found {
            Some(prev) if prev != n => return Err(conflicting(values, at)),
            _ => found = Some(n),
        }
        at += 1;
        Ok(())
    };
    // Loops rather than one flattened iterator: every response with a body comes here, and
    // the usual single value should not pay for the adapters.
    for value in headers.values("Content-Length") {
        // Nearly every value is one number: read whole, without splitting it into elements.
        if let Some(n) = decimal_u64(value) {
            note(n)?;
            continue;
        }
        for v in elements(value) {
            let Some(n) = decimal_u64(v) else {
                return Err(HttpError::InvalidContentLength { value: clip(v, 64) });
            };
            note(n)?;
        }
    }
    Ok(found)
}

/// `v` as a decimal number: digits only (no sign, no spaces), at most `u64::MAX`.
fn decimal_u64(v: &str) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.bytes().try_fold(0u64, |n, b| {
        let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
        n.checked_mul(10)?.checked_add(digit)
    })
}

/// The error for differing lengths, the `at`-th value (from 0) being the first to differ.
fn conflicting<'a, I: Iterator<Item = &'a str>>(values: impl Fn() -> I, at: usize) -> HttpError {
    // Built only now (most heads have one good length): the values up to this one as they
    // came, then the others not already listed; 8 at most.
    let mut all: Vec<String> = Vec::new();
    for v in values().take(at + 1).take(8) {
        all.push(clip(v.trim(), 64));
    }
    for rest in values() {
        let rest = clip(rest.trim(), 64);
        if all.len() < 8 && !all.contains(&rest) {
            all.push(rest);
        }
    }
    HttpError::ConflictingContentLength { values: all }
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

    #[test]
    fn responses_without_body() {
        let cl = block(&[("Content-Length", "3108")]);
        let why = |s, m| match response_framing(s, m, &cl) {
            Ok(BodyFraming::None { why }) => Some(why),
            _ => None,
        };
        assert_eq!(why(200, Some("HEAD")), Some(NoBody::ResponseToHead));
        assert_eq!(why(100, Some("POST")), Some(NoBody::Informational));
        assert_eq!(why(204, None), Some(NoBody::NoContent));
        assert_eq!(why(304, Some("GET")), Some(NoBody::NotModified));
        assert_eq!(why(200, Some("CONNECT")), Some(NoBody::ConnectEstablished));
        assert_eq!(why(407, Some("CONNECT")), None);
        assert_eq!(
            response_framing(407, Some("CONNECT"), &cl),
            Ok(BodyFraming::ContentLength { length: 3108 })
        );
    }

    #[test]
    fn chunked_wins_over_content_length() {
        let h = block(&[
            ("Transfer-Encoding", "gzip, Chunked"),
            ("Content-Length", "5"),
        ]);
        assert_eq!(
            response_framing(200, Some("GET"), &h),
            Ok(BodyFraming::Chunked {
                content_length_ignored: true
            })
        );
        assert_eq!(
            request_framing(&h),
            Ok(BodyFraming::Chunked {
                content_length_ignored: true
            })
        );
        let gzip_only = block(&[("Transfer-Encoding", "gzip")]);
        assert_eq!(
            response_framing(200, Some("GET"), &gzip_only),
            Ok(BodyFraming::UntilClose)
        );
        assert!(matches!(
            request_framing(&gzip_only),
            Err(HttpError::UnframedRequestBody { .. })
        ));
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(
            request_framing(&block(&[])),
            Ok(BodyFraming::None {
                why: NoBody::RequestWithoutLength
            })
        );
        assert_eq!(
            response_framing(200, None, &block(&[])),
            Ok(BodyFraming::UntilClose)
        );
        assert_eq!(
            request_framing(&block(&[
                ("Content-Length", "42, 42"),
                ("content-length", "42")
            ])),
            Ok(BodyFraming::ContentLength { length: 42 })
        );
        assert_eq!(
            request_framing(&block(&[
                ("Content-Length", "42"),
                ("Content-Length", "43")
            ])),
            Err(HttpError::ConflictingContentLength {
                values: vec!["42".into(), "43".into()]
            })
        );
        // The values up to the conflict as they came, then the others not yet listed.
        assert_eq!(
            request_framing(&block(&[
                ("Content-Length", "42, 42"),
                ("Content-Length", "43, 42"),
                ("Content-Length", "44")
            ])),
            Err(HttpError::ConflictingContentLength {
                values: vec!["42".into(), "42".into(), "43".into(), "44".into()]
            })
        );
        assert_eq!(
            request_framing(&block(&[("Content-Length", "18446744073709551615")])),
            Ok(BodyFraming::ContentLength { length: u64::MAX })
        );
        for bad in [
            "-1",
            "+5",
            "0x10",
            "",
            "1 2",
            "99999999999999999999999",
            "18446744073709551616",
        ] {
            assert!(
                matches!(
                    request_framing(&block(&[("Content-Length", bad)])),
                    Err(HttpError::InvalidContentLength { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
