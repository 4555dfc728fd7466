//! Wireshark display filters: the subset people type, parsed and type-checked up front, then
//! evaluated per frame against any [`FieldSource`].
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use wiretale::filter::{parse, Field, FieldSource, Protocol, Value};
//!
//! /// A TCP segment from 10.0.0.5:49152 to 10.0.0.9:5061.
//! struct Segment;
//!
//! impl FieldSource for Segment {
//!     fn has_protocol(&self, protocol: Protocol) -> bool {
//!         matches!(protocol, Protocol::Frame | Protocol::Ip | Protocol::Tcp)
//!     }
//!     fn values(&self, field: Field, out: &mut dyn FnMut(Value<'_>)) {
//!         match field {
//!             Field::TcpPort => {
//!                 out(Value::Unsigned(49152));
//!                 out(Value::Unsigned(5061));
//!             }
//!             Field::IpAddr => {
//!                 out(Value::Addr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))));
//!                 out(Value::Addr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))));
//!             }
//!             _ => {}
//!         }
//!     }
//! }
//!
//! let filter = parse("tcp.port==5061 || http").unwrap();
//! assert!(filter.matches(&Segment));
//! assert_eq!(filter.to_string(), "tcp.port == 5061 || http");
//! assert!(parse("ip.addr == 10.0.0.0/8 and not tls").unwrap().matches(&Segment));
//! assert!(!parse("tcp.port != 5061").unwrap().matches(&Segment));
//! assert!(parse("tcp.port !== 5061").unwrap().matches(&Segment));
//! ```
//!
//! # Syntax
//!
//! * A protocol name alone tests for its presence: `frame`, `ip`, `ipv6`, `tcp`, `udp`, `tls`
//!   (also `ssl`), `http`, `ntlmssp`. A field name alone tests that the field is present, whatever
//!   its value (`tcp.flags.syn` is true for every TCP segment; write `tcp.flags.syn == 1`).
//! * Comparisons: `==` `!=` `<` `<=` `>` `>=`, their word forms `eq` `ne` `lt` `le` `gt` `ge`,
//!   `===` / `all_eq`, `!==` / `any_ne`, `any_eq`, `all_ne`, and `contains` (strings).
//!   `any` / `all` before a comparison choose the quantifier (`all tcp.port > 1024`).
//! * Sets: `tcp.port in {80, 443, 8000..8080}`, `ip.addr in {10.0.0.0/8 192.168.1.1}` (commas
//!   or spaces), `tcp.port not in {...}` (which is `!(tcp.port in {...})`).
//! * Logic: `!` / `not`, `&&` / `and`, `^^` / `xor`, `||` / `or`, parentheses. Precedence as in
//!   Wireshark: `not` > `and` > `xor` > `or`, so `a && b || !c && d` is
//!   `(a && b) || ((!c) && d)`. A comparison binds tighter than `!`: `!tcp.port == 80` is
//!   `!(tcp.port == 80)`.
//! * Values: decimal, hex (`0x16`), binary (`0b101`) and octal (`012`, as in Wireshark)
//!   integers; value names for fields that have them (`tls.handshake.type == "Client Hello"`,
//!   `ntlmssp.messagetype == NTLMSSP_AUTH`, `tls.alert_message.desc == "Handshake Failure"`);
//!   IPv4 / IPv6 addresses and CIDR networks (`10.0.0.0/8`, `fe80::/64`); Booleans (`1`, `0`,
//!   `true`, `false`); double-quoted strings with C escapes (`\"`, `\\`, `\n`, `\xNN`, `\NNN`,
//!   `\uNNNN`, ...) or raw `r"..."` strings. Unquoted words are accepted as strings, as
//!   Wireshark does (`http.request.method == GET`).
//!
//! Every value is checked against its field's type when the filter is parsed: `tcp.port ==
//! 70000`, `ip.addr == fe80::1` or `ip.addr contains "x"` are errors with the column of the
//! offending token, not filters that silently never match.
//!
//! # Fields with several values
//!
//! A frame may carry a field more than once (`ip.addr` is both addresses). As in Wireshark 3.6
//! and later:
//!
//! * `f == v` is true if **any** value equals `v`; `<`, `contains`, `in`, ... likewise.
//! * `f != v` is true if **all** values differ from `v` (so `ip.addr != 10.0.0.1` excludes
//!   every frame to or from 10.0.0.1). It is the negation of `f == v` — with one difference
//!   Wireshark documents: every comparison also requires the field to be present, so on a frame
//!   without `f`, both `f == v` and `f != v` are false while `!(f == v)` is true.
//!   Write `!(ip.dst == 224.1.2.3)` to keep frames that have no `ip.dst`.
//! * `f === v` (all equal) and `f !== v` (any differs) are the other two combinations.
//!
//! # Not supported
//!
//! `matches` / `~` (regular expressions), slices (`frame[0:2]`), functions (`len()`),
//! arithmetic and bitwise `&`, field-to-field and chained (`a == b == c`) comparisons, host
//! names in place of addresses, character constants (`'a'`),
//! `#` layers, `$` references and macros. Each is rejected with an error at its column. An empty
//! filter is an error rather than "match everything".
//!
//! # Bounds
//!
//! Filters longer than [`MAX_FILTER_CHARS`] characters, or nested deeper than [`MAX_DEPTH`]
//! parentheses and `!`, are rejected. `&&` / `||` chains are kept flat, so a long chain does
//! not deepen the tree: parsing, evaluation and dropping never recurse more than
//! [`MAX_DEPTH`] levels.

mod ast;
mod error;
mod eval;
mod field;
mod lexer;
mod literal;
mod parser;

use core::fmt;
use core::str::FromStr;

pub use ast::{AddrLiteral, Comparison, Expr, Literal, Predicate, Quantifier, SetElement};
pub use error::{FilterError, FilterErrorKind};
pub use eval::{FieldSource, Value};
pub use field::{Field, FieldSet, FieldType, Layer, Protocol, ProtocolSet};

/// The longest filter accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 4096;

/// The deepest nesting of parentheses and `!` accepted.
pub const MAX_DEPTH: usize = 64;

/// A parsed, type-checked display filter.
///
/// Built by [`parse`] (or [`str::parse`]); `Display` gives the canonical form, which parses back
/// to an equal filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    expr: Expr,
    fields: FieldSet,
    protocols: ProtocolSet,
}

/// Parses a Wireshark display filter.
///
/// ```
/// use wiretale::filter::{parse, Field, Layer};
///
/// let filter = parse("tcp.port eq 5061 or http").unwrap();
/// assert_eq!(filter.to_string(), "tcp.port == 5061 || http");
/// assert_eq!(filter.fields().iter().collect::<Vec<_>>(), [Field::TcpPort]);
/// assert_eq!(filter.layer(), Layer::Application); // `http` needs the HTTP decoder
///
/// let err = parse("tcp.port == ").unwrap_err();
/// assert_eq!(err.column, 12);
/// assert_eq!(
///     err.render("tcp.port == "),
///     "tcp.port == \n            ^ expected a value after \"==\""
/// );
/// ```
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    check_length(text)?;
    let expr = parser::parse_expr(text)?;
    let mut fields = FieldSet::EMPTY;
    let mut protocols = ProtocolSet::EMPTY;
    expr.collect_names(&mut fields, &mut protocols);
    Ok(Filter {
        expr,
        fields,
        protocols,
    })
}

fn check_length(text: &str) -> Result<(), FilterError> {
    if text.len() <= MAX_FILTER_CHARS {
        return Ok(()); // at most one character per byte
    }
    let chars = text
        .chars()
        .take(MAX_FILTER_CHARS.saturating_add(1))
        .count();
    if chars <= MAX_FILTER_CHARS {
        return Ok(());
    }
    Err(FilterError::new(
        FilterErrorKind::TooLong,
        MAX_FILTER_CHARS,
        1,
        format!("The filter is too long (the limit is {MAX_FILTER_CHARS} characters)."),
    ))
}

impl Filter {
    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Whether the frame behind `src` passes the filter.
    pub fn matches(&self, src: &dyn FieldSource) -> bool {
        eval::eval(&self.expr, src)
    }

    /// The fields whose values the filter reads; a [`FieldSource`] need not compute others.
    pub fn fields(&self) -> FieldSet {
        self.fields
    }

    /// The protocols whose presence the filter tests with a bare protocol name.
    pub fn protocols(&self) -> ProtocolSet {
        self.protocols
    }

    /// How far the pipeline must run before the filter can be decided: the most expensive
    /// [`Layer`] among the fields and protocols it uses.
    pub fn layer(&self) -> Layer {
        self.fields
            .iter()
            .map(Field::layer)
            .chain(self.protocols.iter().map(Protocol::layer))
            .max()
            .unwrap_or(Layer::Packet)
    }

    /// Whether the filter only needs what one frame's own headers tell (no flow table, no
    /// reassembly, no TLS / HTTP / NTLM decoding), so frames can be filtered before any of that
    /// runs.
    pub fn is_frame_level(&self) -> bool {
        self.layer() == Layer::Packet
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Filter, FilterError> {
        parse(text)
    }
}

/// Serialized as its canonical text.
impl serde::Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests;
