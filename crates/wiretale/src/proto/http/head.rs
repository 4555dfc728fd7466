//! Request and response heads: start line plus header block, parsed with `httparse`.
//!
//! Every header name is kept in order; values are kept only for the headers listed in
//! [`KEPT_HEADERS`] and the authentication headers, which are also parsed into challenges and
//! credentials. The head size is capped (`max_head_len` of [`HttpConfig`]).

use std::borrow::Cow;
use std::mem::MaybeUninit;

use serde::Serialize;

use super::ascii::{elements, eq_ignore_case, str_eq_ignore_case, trim};
use super::auth::{
    displayable_credentials_value, parse_challenges, parse_credentials, AuthHeaderName, Challenge,
    Credentials,
};
use super::error::{excerpt, HttpError};
use super::sniff::{is_request_line, start_line_prefix, LineCheck, StartLineKind};
use super::target::{classify_target, RequestTarget};
use super::HttpConfig;

/// Headers whose values are kept (besides the four authentication headers).
pub const KEPT_HEADERS: &[&str] = &[
    "Host",
    "Content-Length",
    "Content-Type",
    "Transfer-Encoding",
    "Connection",
    "Proxy-Connection",
    "Keep-Alive",
    "Upgrade",
    "Expect",
    "Location",
    "Server",
    "User-Agent",
    "Via",
    "Authentication-Info",
    "Proxy-Authentication-Info",
    // Tells a client that a proxy keeps NTLM/Negotiate state per connection.
    "Proxy-Support",
    "Persistent-Auth",
];

/// [`KEPT_HEADERS`] by name length (row `len`, at most three a row, the rest empty): most
/// header names are compared with one kept name or none, where comparing each with every
/// kept name was a fifth of parsing a head. A kept name of 32 bytes or more, or a fourth of
/// one length, fails to compile (an index out of bounds in this constant).
const KEPT_BY_LENGTH: [[&str; 3]; 32] = {
    let mut table = [[""; 3]; 32];
    let mut i = 0;
    while i < KEPT_HEADERS.len() {
        let name = KEPT_HEADERS[i];
        let mut slot = 0;
        while !table[name.len()][slot].is_empty() {
            slot += 1;
        }
        table[name.len()][slot] = name;
        i += 1;
    }
    table
};

/// Whether `name` is one of [`KEPT_HEADERS`] (any case). An empty name would match the table's
/// empty slots.
fn is_kept_header(name: &str) -> bool {
    !name.is_empty()
        && KEPT_BY_LENGTH
            .get(name.len())
            .is_some_and(|row| row.iter().any(|k| str_eq_ignore_case(name, k)))
}

/// Most challenges plus credentials parsed from one head.
const MAX_AUTH_ITEMS_PER_HEAD: usize = 64;

/// The HTTP version of a start line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum HttpVersion {
    /// HTTP/1.0
    #[serde(rename = "HTTP/1.0")]
    Http10,
    /// HTTP/1.1
    #[serde(rename = "HTTP/1.1")]
    Http11,
}

impl HttpVersion {
    /// As on the start line: `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
        }
    }

    fn from_minor(minor: u8) -> HttpVersion {
        if minor == 0 {
            HttpVersion::Http10
        } else {
            HttpVersion::Http11
        }
    }
}

/// One header field: its name as sent, and its value when it is one of the kept headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeaderLine<'a> {
    /// Field name, as sent.
    pub name: &'a str,
    /// Field value (trimmed, lossy UTF-8) for kept headers; credentials of secret-bearing
    /// schemes are shown as `Basic [redacted]` unless `show_secrets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'a str>,
}

/// Where one field's name and kept value lie in [`HeaderBlock`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSpan {
    start: usize,
    name_end: usize,
    /// End of the kept value (which starts at `name_end`).
    value_end: Option<usize>,
}

/// The header block of a head.
///
/// Names and kept values are stored back to back in one string (a head costs two allocations,
/// not one or two per field: every request and response of a capture is parsed into one).
/// Serialized as `headers: [{name, value?}]`, plus `challenges` and `credentials` when there
/// are any.
///
/// ```
/// use wiretale::proto::http::HeaderBlock;
///
/// let mut block = HeaderBlock::default();
/// block.push("Host", Some("example.com"));
/// block.push("Accept", None);
/// block.push("Connection", Some("keep-alive, Upgrade"));
/// assert_eq!(block.get("host"), Some("example.com"));
/// assert!(block.contains("accept"));
/// assert!(block.has_token("Connection", "upgrade"));
/// assert_eq!(block.names().collect::<Vec<_>>(), ["Host", "Accept", "Connection"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderBlock {
    text: String,
    fields: Vec<FieldSpan>,
    /// Bit `len % 64` is set for the length of every field name: most queries are for
    /// headers a head does not have, and this answers them without a look at the fields.
    name_lengths: u64,
    /// Challenges from `WWW-Authenticate` / `Proxy-Authenticate`, in order.
    pub challenges: Vec<Challenge>,
    /// Credentials from `Authorization` / `Proxy-Authorization`, in order.
    pub credentials: Vec<Credentials>,
}

/// `name`'s bit in [`HeaderBlock`]'s `name_lengths`.
fn length_bit(name: &str) -> u64 {
    1 << (name.len() % 64)
}

impl Serialize for HeaderBlock {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            headers: Lines<'a>,
            #[serde(skip_serializing_if = "<[Challenge]>::is_empty")]
            challenges: &'a [Challenge],
            #[serde(skip_serializing_if = "<[Credentials]>::is_empty")]
            credentials: &'a [Credentials],
        }
        struct Lines<'a>(&'a HeaderBlock);
        impl Serialize for Lines<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.lines())
            }
        }
        View {
            headers: Lines(self),
            challenges: &self.challenges,
            credentials: &self.credentials,
        }
        .serialize(serializer)
    }
}

impl HeaderBlock {
    /// An empty block with room for `fields` fields and `text` bytes of names and values.
    fn with_capacity(fields: usize, text: usize) -> HeaderBlock {
        HeaderBlock {
            text: String::with_capacity(text),
            fields: Vec::with_capacity(fields),
            ..HeaderBlock::default()
        }
    }

    /// Appends a field (`value`: `None` for a header whose value is not kept).
    pub fn push(&mut self, name: &str, value: Option<&str>) {
        let start = self.text.len();
        self.text.push_str(name);
        let name_end = self.text.len();
        self.name_lengths |= length_bit(name);
        let value_end = value.map(|v| {
            self.text.push_str(v);
            self.text.len()
        });
        self.fields.push(FieldSpan {
            start,
            name_end,
            value_end,
        });
    }

    fn line(&self, f: &FieldSpan) -> HeaderLine<'_> {
        HeaderLine {
            name: self.text.get(f.start..f.name_end).unwrap_or(""),
            value: f.value_end.and_then(|end| self.text.get(f.name_end..end)),
        }
    }

    /// Every field, in order.
    pub fn lines(&self) -> impl Iterator<Item = HeaderLine<'_>> + '_ {
        self.fields.iter().map(|f| self.line(f))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the head has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields named `name` (case-insensitive). Lengths are compared first: most
    /// queries are ruled out without looking at any bytes, which matters because every head
    /// is queried several times (framing, persistence, upgrades).
    #[inline]
    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FieldSpan> + 'a {
        let text = self.text.as_bytes();
        let fields: &[FieldSpan] = if self.name_lengths & length_bit(name) == 0 {
            &[]
        } else {
            &self.fields
        };
        fields.iter().filter(move |f| {
            f.name_end - f.start == name.len()
                && text
                    .get(f.start..f.name_end)
                    .is_some_and(|n| eq_ignore_case(n, name.as_bytes()))
        })
    }

    #[inline]
    fn value(&self, f: &FieldSpan) -> Option<&str> {
        f.value_end.and_then(|end| self.text.get(f.name_end..end))
    }

    /// Kept values of the fields named `name` (case-insensitive), in order.
    #[inline]
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.named(name).filter_map(|f| self.value(f))
    }

    /// The first kept value of `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&str> {
        let mut kept = self
            .named(name)
            .filter_map(|f| f.value_end.map(|end| (f.name_end, end)));
        let (start, end) = kept.next()?;
        self.text.get(start..end)
    }

    /// True when a field named `name` is present (kept or not).
    #[inline]
    pub fn contains(&self, name: &str) -> bool {
        self.named(name).next().is_some()
    }

    /// Every field name, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lines().map(|l| l.name)
    }

    /// The comma-separated elements of every kept field named `name`, trimmed, empty ones
    /// dropped (for list headers such as `Connection` or `Transfer-Encoding`).
    #[inline]
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values(name)
            .flat_map(elements)
            .filter(|e| !e.is_empty())
    }

    /// True when the list header `name` has the element `token` (case-insensitive).
    #[inline]
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|e| str_eq_ignore_case(e, token))
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestHead {
    /// The method, as sent.
    pub method: String,
    /// The request-target, as sent.
    pub target: String,
    /// Which form the target has.
    pub target_form: RequestTarget,
    /// The protocol version.
    pub version: HttpVersion,
    /// The header block.
    #[serde(flatten)]
    pub headers: HeaderBlock,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseHead {
    /// The protocol version.
    pub version: HttpVersion,
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// The header block.
    #[serde(flatten)]
    pub headers: HeaderBlock,
}

fn parser_config() -> httparse::ParserConfig {
    // Lenient where real servers are sloppy; a diagnostic tool should read what clients read.
    let mut c = httparse::ParserConfig::default();
    c.allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .ignore_invalid_headers_in_responses(true)
        .ignore_invalid_headers_in_requests(true);
    c
}

fn map_httparse_error(e: httparse::Error, config: &HttpConfig) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders {
            limit: config.max_headers(),
        },
        other => HttpError::MalformedHead {
            detail: other.to_string(),
        },
    }
}

/// Parses a request head at the start of `buf`. `Ok(None)` means the head is not complete yet;
/// a head that does not end within `max_head_len` bytes is an error. On success returns the
/// head and its length in bytes (up to and including the empty line).
pub fn parse_request_head(
    buf: &[u8],
    config: &HttpConfig,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let limit = config.max_head_len();
    let window = buf.get(..limit).unwrap_or(buf);
    with_header_slots(config, |storage| {
        let mut req = httparse::Request::new(&mut []);
        match parser_config().parse_request_with_uninit_headers(&mut req, window, storage) {
            Ok(httparse::Status::Complete(len)) => Ok(Some((request_head(&req, config), len))),
            Ok(httparse::Status::Partial) => partial(buf.len(), limit),
            Err(e) => Err(map_httparse_error(e, config)),
        }
    })
}

fn request_head(req: &httparse::Request<'_, '_>, config: &HttpConfig) -> RequestHead {
    let method = req.method.unwrap_or("").to_string();
    let target = req.path.unwrap_or("").to_string();
    RequestHead {
        target_form: classify_target(&method, &target),
        method,
        target,
        version: HttpVersion::from_minor(req.version.unwrap_or(1)),
        headers: header_block(req.headers, config),
    }
}

fn response_head(resp: &httparse::Response<'_, '_>, config: &HttpConfig) -> ResponseHead {
    ResponseHead {
        version: HttpVersion::from_minor(resp.version.unwrap_or(1)),
        status: resp.code.unwrap_or(0),
        reason: resp.reason.unwrap_or("").to_string(),
        headers: header_block(resp.headers, config),
    }
}

/// What a partial head of `available` bytes is: `Ok(None)` (more bytes are needed), unless it
/// already fills the `limit`.
fn partial<H>(available: usize, limit: usize) -> Result<Option<H>, HttpError> {
    if available >= limit {
        Err(HttpError::HeadTooLarge { limit })
    } else {
        Ok(None)
    }
}

/// Header slots on the stack; a head with more headers than this (rare) is parsed again with
/// `max_headers` slots on the heap. Allocating and clearing 256 slots for every head was
/// a visible part of HTTP decoding; the slots are left uninitialised (httparse fills those it
/// uses), as clearing even 32 of them cost a hundred instructions a head.
const STACK_HEADER_SLOTS: usize = 32;

/// Header slots for one parse.
type HeaderSlots<'b> = [MaybeUninit<httparse::Header<'b>>];

/// Runs `parse` with header slots. `parse` answers in its caller's own result type (errors
/// already `HttpError`s): converted afterwards, a parsed head (a few hundred bytes) was copied
/// twice more.
fn with_header_slots<'b, T>(
    config: &HttpConfig,
    mut parse: impl FnMut(&mut HeaderSlots<'b>) -> Result<T, HttpError>,
) -> Result<T, HttpError> {
    let max = config.max_headers();
    let mut slots = [const { MaybeUninit::uninit() }; STACK_HEADER_SLOTS];
    if max <= STACK_HEADER_SLOTS {
        return parse(slots.get_mut(..max).unwrap_or(&mut []));
    }
    match parse(&mut slots) {
        Err(HttpError::TooManyHeaders { .. }) => {
            let mut heap: Vec<_> = std::iter::repeat_with(MaybeUninit::uninit)
                .take(max)
                .collect();
            parse(&mut heap)
        }
        done => done,
    }
}

/// Parses a response head at the start of `buf`; see [`parse_request_head`].
pub fn parse_response_head(
    buf: &[u8],
    config: &HttpConfig,
) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    let limit = config.max_head_len();
    let window = buf.get(..limit).unwrap_or(buf);
    with_header_slots(config, |storage| {
        let mut resp = httparse::Response::new(&mut []);
        match parser_config().parse_response_with_uninit_headers(&mut resp, window, storage) {
            Ok(httparse::Status::Complete(len)) => Ok(Some((response_head(&resp, config), len))),
            Ok(httparse::Status::Partial) => partial(buf.len(), limit),
            Err(e) => Err(map_httparse_error(e, config)),
        }
    })
}

fn header_block(fields: &[httparse::Header<'_>], config: &HttpConfig) -> HeaderBlock {
    // Room for every name and value: kept values are usually most of the bytes, and growing
    // the text once or twice costs more than the few bytes of unkept values it reserves.
    let text_len = fields.iter().map(|f| f.name.len() + f.value.len()).sum();
    let mut block = HeaderBlock::with_capacity(fields.len(), text_len);
    for field in fields {
        let auth = AuthHeaderName::from_header(field.name);
        let kept = auth.is_some() || is_kept_header(field.name);
        if !kept {
            block.push(field.name, None);
            continue;
        }
        let value = match std::str::from_utf8(field.value) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(field.value),
        };
        let value = trim(&value);
        match auth {
            Some(h) => push_auth_header(&mut block, h, field.name, value, config),
            None => block.push(field.name, Some(value)),
        }
    }
    block
}

/// Parses and keeps an authentication header (challenges or credentials). Kept out of
/// [`header_block`], whose loop runs over every header of every head: inlined, this made it
/// ~13 KB of code, and the plain headers' path was spread over more instruction-cache lines
/// (HTTP decoding was nearly half of a short connection's instruction-cache misses).
#[cold]
#[inline(never)]
fn push_auth_header(
    block: &mut HeaderBlock,
    h: AuthHeaderName,
    name: &str,
    value: &str,
    config: &HttpConfig,
) {
    let room =
        MAX_AUTH_ITEMS_PER_HEAD.saturating_sub(block.challenges.len() + block.credentials.len());
    if h.carries_credentials() {
        if room > 0 {
            block
                .credentials
                .extend(parse_credentials(h, value, config.show_secrets));
        }
        let shown = displayable_credentials_value(value, config.show_secrets);
        block.push(name, Some(&shown));
    } else {
        block
            .challenges
            .extend(parse_challenges(h, value).into_iter().take(room));
        block.push(name, Some(value));
    }
}

/// Where the incremental end-of-head search stands for the message starting at offset 0 of the
/// unconsumed bytes. Keeping it between feeds makes finding a head linear in its size even when
/// it arrives one byte at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeadScan {
    prefix_ok: bool,
    searched: usize,
    last_lf: Option<usize>,
}

/// Outcome of [`HeadScan::scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadScanResult {
    /// More bytes are needed.
    NeedMore,
    /// The head ends at this offset (just after the empty line).
    End(usize),
    /// The bytes are not (or no longer can be) a valid head.
    Invalid(HttpError),
}

impl HeadScan {
    /// True before anything of the current message was examined.
    pub(crate) fn is_fresh(&self) -> bool {
        !self.prefix_ok && self.searched == 0
    }

    /// Advances the search over `buf` (which starts at the message start and only ever grows
    /// between calls until the scan is reset).
    pub(crate) fn scan(&mut self, buf: &[u8], kind: StartLineKind, limit: usize) -> HeadScanResult {
        if !self.prefix_ok {
            match start_line_prefix(kind, buf) {
                LineCheck::Yes => self.prefix_ok = true,
                LineCheck::No => return HeadScanResult::Invalid(not_http(kind, buf)),
                LineCheck::NeedMore if buf.len() >= limit => {
                    return HeadScanResult::Invalid(HttpError::HeadTooLarge { limit })
                }
                LineCheck::NeedMore => return HeadScanResult::NeedMore,
            }
        }
        let end = buf.len().min(limit);
        let from = self.searched.min(end);
        let window = buf.get(from..end).unwrap_or(&[]);
        for rel in memchr::memchr_iter(b'\n', window) {
            let i = from + rel;
            match self.last_lf {
                None => {
                    // The start line is complete: validate it before waiting for the rest.
                    let line = buf.get(..i).unwrap_or(&[]);
                    if kind == StartLineKind::Request && !is_request_line(line, false) {
                        return HeadScanResult::Invalid(not_http(kind, buf));
                    }
                }
                Some(last) => {
                    let between = buf.get(last + 1..i).unwrap_or(&[]);
                    if between.is_empty() || between == b"\r" {
                        return HeadScanResult::End(i + 1);
                    }
                }
            }
            self.last_lf = Some(i);
        }
        self.searched = end;
        if buf.len() >= limit {
            HeadScanResult::Invalid(HttpError::HeadTooLarge { limit })
        } else {
            HeadScanResult::NeedMore
        }
    }
}

pub(crate) fn not_http(kind: StartLineKind, buf: &[u8]) -> HttpError {
    HttpError::NotHttp {
        expected: match kind {
            StartLineKind::Request => "request line",
            StartLineKind::Status => "status line",
        },
        excerpt: excerpt(buf, 32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::http::auth::AuthScheme;

    fn cfg() -> HttpConfig {
        HttpConfig::default()
    }

    #[test]
    fn request_head_from_squid_capture() {
        // squid-ntlm-proxy-auth-ok-curl.pcap, frame 4.
        let raw = b"GET http://crl.verisign.com/pca3.crl HTTP/1.1\r\nHost: crl.verisign.com\r\n\
Proxy-Authorization: NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=\r\nUser-Agent: curl/7.88.1\r\n\
Accept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n";
        let (head, len) = parse_request_head(raw, &cfg()).unwrap().unwrap();
        assert_eq!(len, raw.len());
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "http://crl.verisign.com/pca3.crl");
        assert!(head.target_form.is_proxy_form());
        assert_eq!(head.version, HttpVersion::Http11);
        let names: Vec<_> = head.headers.names().collect();
        assert_eq!(
            names,
            [
                "Host",
                "Proxy-Authorization",
                "User-Agent",
                "Accept",
                "Proxy-Connection"
            ]
        );
        assert_eq!(head.headers.get("host"), Some("crl.verisign.com"));
        assert_eq!(
            head.headers.get("Accept"),
            None,
            "Accept is not a kept header"
        );
        assert_eq!(head.headers.credentials.len(), 1);
        assert_eq!(head.headers.credentials[0].kind, AuthScheme::Ntlm);
        let json = serde_json::to_value(&head).unwrap();
        assert_eq!(json["method"], "GET");
        assert_eq!(json["version"], "HTTP/1.1");
        assert_eq!(json["target_form"]["form"], "absolute");
        assert_eq!(json["headers"][0]["name"], "Host");
    }

    #[test]
    fn response_head_with_two_proxy_authenticate_headers() {
        let raw = b"HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\n\
Proxy-Authenticate: NTLM\r\nProxy-Authenticate: Basic realm=\"LabProxy\"\r\n\
Connection: keep-alive\r\n\r\nbody";
        let (head, len) = parse_response_head(raw, &cfg()).unwrap().unwrap();
        assert_eq!(len, raw.len() - 4);
        assert_eq!(
            (head.status, head.reason.as_str()),
            (407, "Proxy Authentication Required")
        );
        let schemes: Vec<_> = head.headers.challenges.iter().map(|c| c.kind).collect();
        assert_eq!(schemes, [AuthScheme::Ntlm, AuthScheme::Basic]);
        assert_eq!(head.headers.challenges[1].realm(), Some("LabProxy"));
        let json = serde_json::to_value(&head).unwrap();
        assert_eq!(json["status"], 407);
        assert_eq!(json["reason"], "Proxy Authentication Required");
    }

    #[test]
    fn basic_authorization_value_is_redacted_in_the_header_list() {
        let raw = b"GET / HTTP/1.1\r\nAuthorization: Basic dXNlcnJycnI6cGFzc3dvcmRkZGRk\r\n\r\n";
        let (head, _) = parse_request_head(raw, &cfg()).unwrap().unwrap();
        assert_eq!(head.headers.get("Authorization"), Some("Basic [redacted]"));
        let json = serde_json::to_string(&head).unwrap();
        assert!(!json.contains("dXNlcnJycnI6cGFzc3dvcmRkZGRk"), "{json}");
        assert!(!json.contains("passwordddd"), "{json}");
        assert!(json.contains("userrrrr"), "{json}");
    }

    #[test]
    fn kept_headers_are_told_by_name_in_any_case() {
        for name in KEPT_HEADERS {
            assert!(is_kept_header(name), "{name}");
            assert!(is_kept_header(&name.to_ascii_uppercase()), "{name}");
            assert!(is_kept_header(&name.to_ascii_lowercase()), "{name}");
        }
        // Names as long as kept ones (`Accept`: `Expect`, `Server`; `Date`: `Host`;
        // `X-Forwarded-For`: `Persistent-Auth`; `Hos`: `Via`), of no kept length, and empty.
        for name in ["Accept", "Date", "X-Forwarded-For", "Hos", "Hosts", ""] {
            assert!(!is_kept_header(name), "{name}");
        }
    }

    #[test]
    fn header_block_queries_and_json() {
        // Invalid UTF-8 in a kept value is replaced, not dropped; `Accept` and `Expect` have
        // the same length, so the length filter alone cannot tell them apart.
        let raw =
            b"GET / HTTP/1.1\r\nAccept: */*\r\nHost: a\xffb \r\nConnection: close, TE\r\n\r\n";
        let (head, _) = parse_request_head(raw, &cfg()).unwrap().unwrap();
        let h = &head.headers;
        assert_eq!((h.len(), h.is_empty()), (3, false));
        assert_eq!(h.get("HOST"), Some("a\u{fffd}b"));
        assert!(h.contains("accept"));
        assert!(!h.contains("expect"));
        assert_eq!(h.get("Accept"), None, "present but not kept");
        assert!(h.has_token("connection", "te"));
        assert_eq!(h.list("Connection").collect::<Vec<_>>(), ["close", "TE"]);
        assert_eq!(h.values("Upgrade").count(), 0);
        let json = serde_json::to_value(&head).unwrap();
        assert_eq!(
            json["headers"],
            serde_json::json!([
                {"name": "Accept"},
                {"name": "Host", "value": "a\u{fffd}b"},
                {"name": "Connection", "value": "close, TE"},
            ])
        );
        assert!(json.get("challenges").is_none() && json.get("credentials").is_none());
        let lines: Vec<_> = h.lines().collect();
        assert_eq!(
            lines[1],
            HeaderLine {
                name: "Host",
                value: Some("a\u{fffd}b")
            }
        );
    }

    #[test]
    fn partial_and_oversized_heads() {
        assert_eq!(
            parse_request_head(b"GET / HTTP/1.1\r\nHost: a\r\n", &cfg()),
            Ok(None)
        );
        let config = HttpConfig {
            max_head_len: 64,
            ..HttpConfig::default()
        };
        let big = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 100]].concat();
        assert_eq!(
            parse_request_head(&big, &config),
            Err(HttpError::HeadTooLarge { limit: 64 })
        );
        let many: String = (0..10).map(|i| format!("X{i}: v\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\n{many}\r\n");
        let config = HttpConfig {
            max_headers: 4,
            ..HttpConfig::default()
        };
        assert_eq!(
            parse_request_head(raw.as_bytes(), &config),
            Err(HttpError::TooManyHeaders { limit: 4 })
        );
    }

    #[test]
    fn heads_with_more_headers_than_stack_slots_still_parse() {
        let lines = |n: usize| -> String { (0..n).map(|i| format!("X{i}: v{i}\r\n")).collect() };
        let n = STACK_HEADER_SLOTS + 8;
        let raw = format!("GET / HTTP/1.1\r\n{}\r\n", lines(n));
        let (head, len) = parse_request_head(raw.as_bytes(), &cfg()).unwrap().unwrap();
        assert_eq!(len, raw.len());
        assert_eq!(head.headers.len(), n);
        assert_eq!(
            head.headers.names().last(),
            Some(format!("X{}", n - 1).as_str())
        );
        let raw = format!("HTTP/1.1 204 No Content\r\n{}\r\n", lines(n));
        let (head, _) = parse_response_head(raw.as_bytes(), &cfg())
            .unwrap()
            .unwrap();
        assert_eq!(head.headers.len(), n);
        let config = HttpConfig {
            max_headers: STACK_HEADER_SLOTS + 4,
            ..HttpConfig::default()
        };
        assert_eq!(
            parse_response_head(raw.as_bytes(), &config),
            Err(HttpError::TooManyHeaders {
                limit: STACK_HEADER_SLOTS + 4
            })
        );
    }

    #[test]
    fn head_scan_is_incremental_and_rejects_garbage_early() {
        let raw = b"HTTP/1.0 200 OK\r\nServer:ng1nx\r\n\r\n";
        let mut scan = HeadScan::default();
        for n in 0..raw.len() {
            assert_eq!(
                scan.scan(&raw[..n], StartLineKind::Status, 1024),
                HeadScanResult::NeedMore,
                "at {n}"
            );
        }
        assert_eq!(
            scan.scan(raw, StartLineKind::Status, 1024),
            HeadScanResult::End(raw.len())
        );
        let mut scan = HeadScan::default();
        assert!(matches!(
            scan.scan(b"\x16\x03\x01", StartLineKind::Request, 1024),
            HeadScanResult::Invalid(HttpError::NotHttp { .. })
        ));
        let mut scan = HeadScan::default();
        assert!(matches!(
            scan.scan(b"GET /index.html\r\n", StartLineKind::Request, 1024),
            HeadScanResult::Invalid(HttpError::NotHttp { .. })
        ));
        let mut scan = HeadScan::default();
        assert_eq!(
            scan.scan(b"GET / HTTP/1.1\nA: b\n\n", StartLineKind::Request, 1024),
            HeadScanResult::End(21)
        );
    }
}
