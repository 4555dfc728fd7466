//! The syntax tree of a parsed, type-checked filter, and its canonical text form.
//!
//! The parser keeps the tree flat: `a && b && c` is one [`Expr::And`] with three children, and a
//! parenthesised `&&` inside an `&&` is spliced into its parent. So the depth of the tree is
//! bounded by the nesting of parentheses and `!`, which the parser caps.

use core::fmt;
use std::net::IpAddr;

use super::field::{Field, FieldSet, Protocol, ProtocolSet};

/// A filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A protocol name alone: true if the frame carries that protocol.
    Protocol(Protocol),
    /// A field name alone: true if the frame has at least one value for the field (its value
    /// does not matter: `tcp.flags.syn` is true for every TCP segment, as in Wireshark).
    Exists(Field),
    /// A field compared with a literal.
    Compare(Comparison),
    /// `!e` / `not e`.
    Not(Box<Expr>),
    /// `a && b && ...`: true if every child is (at least two children).
    And(Vec<Expr>),
    /// `a ^^ b ^^ ...`: true if an odd number of children are (at least two children).
    Xor(Vec<Expr>),
    /// `a || b || ...`: true if any child is (at least two children).
    Or(Vec<Expr>),
}

/// Whether a comparison must hold for any or for all of a field's values.
///
/// Either way the field must have at least one value: Wireshark's implicit "exists" test, which
/// makes `ip.dst != 1.2.3.4` false for a frame without `ip.dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// At least one value satisfies the predicate.
    Any,
    /// Every value satisfies the predicate.
    All,
}

/// A field, a quantifier and a per-value predicate: `tcp.port == 80` is
/// `{ field: TcpPort, quantifier: Any, predicate: Eq(80) }`, and `tcp.port != 80` is
/// `{ field: TcpPort, quantifier: All, predicate: Ne(80) }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The field whose values are tested.
    pub field: Field,
    /// Any value or all values.
    pub quantifier: Quantifier,
    /// The test applied to each value.
    pub predicate: Predicate,
}

/// A test applied to one value of a field. The literal has already been checked against the
/// field's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// Equal (for an address literal with a prefix length: inside that network).
    Eq(Literal),
    /// Not equal (outside the network).
    Ne(Literal),
    /// Less than.
    Lt(Literal),
    /// Less than or equal.
    Le(Literal),
    /// Greater than.
    Gt(Literal),
    /// Greater than or equal.
    Ge(Literal),
    /// The string value contains this substring (case-sensitive).
    Contains(String),
    /// The value equals one of these elements or lies in one of these ranges.
    In(Vec<SetElement>),
}

/// A constant in a filter, already converted to the type of the field it is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// An unsigned integer (numbers and value names such as `"Client Hello"`).
    Unsigned(u64),
    /// A Boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// An IPv4 or IPv6 address, possibly a network in CIDR notation.
    Addr(AddrLiteral),
}

/// An address, or a network when `prefix_len` is shorter than the address
/// (`10.0.0.0/8`). Host bits are kept as written and ignored when comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrLiteral {
    /// The address as written.
    pub addr: IpAddr,
    /// Leading bits that must match: 32 / 128 for a plain address.
    pub prefix_len: u8,
}

impl AddrLiteral {
    /// A plain address (full-length prefix).
    pub fn host(addr: IpAddr) -> AddrLiteral {
        AddrLiteral {
            addr,
            prefix_len: max_prefix(addr),
        }
    }

    /// Whether this is a network rather than a single address.
    pub fn is_network(&self) -> bool {
        self.prefix_len < max_prefix(self.addr)
    }

    /// Whether `addr` is this address, or inside this network. Different families never match.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32u32.saturating_sub(u32::from(self.prefix_len)))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128u32.saturating_sub(u32::from(self.prefix_len)))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

pub(super) fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// One element of a set in `field in {...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetElement {
    /// A single value (or, for addresses, a network).
    Value(Literal),
    /// An inclusive range `low..high`.
    Range(Literal, Literal),
}

impl Expr {
    /// Adds every field and protocol this expression reads to the two sets.
    pub(super) fn collect_names(&self, fields: &mut FieldSet, protocols: &mut ProtocolSet) {
        match self {
            Expr::Protocol(p) => protocols.insert(*p),
            Expr::Exists(f) => fields.insert(*f),
            Expr::Compare(c) => fields.insert(c.field),
            Expr::Not(inner) => inner.collect_names(fields, protocols),
            Expr::And(children) | Expr::Xor(children) | Expr::Or(children) => {
                for child in children {
                    child.collect_names(fields, protocols);
                }
            }
        }
    }

    /// Binding strength in the canonical text: `||` < `^^` < `&&` < `!` < tests.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::Xor(_) => 2,
            Expr::And(_) => 3,
            Expr::Not(_) => 4,
            Expr::Protocol(_) | Expr::Exists(_) | Expr::Compare(_) => 5,
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, min_precedence: u8) -> fmt::Result {
        let parenthesise = self.precedence() < min_precedence;
        if parenthesise {
            f.write_str("(")?;
        }
        match self {
            Expr::Protocol(p) => f.write_str(p.name())?,
            Expr::Exists(field) => f.write_str(field.name())?,
            Expr::Compare(c) => write!(f, "{c}")?,
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Compare(Comparison {
                    field,
                    quantifier: Quantifier::Any,
                    predicate: Predicate::In(set),
                }) => {
                    write!(f, "{field} not in ")?;
                    write_set(f, set)?;
                }
                // `!tcp.port == 80` already means `!(tcp.port == 80)`; the parentheses are for
                // the human reader.
                Expr::Compare(c) => write!(f, "!({c})")?,
                other => {
                    f.write_str("!")?;
                    other.write(f, 4)?;
                }
            },
            Expr::And(children) => write_joined(f, children, " && ", 4)?,
            Expr::Xor(children) => write_joined(f, children, " ^^ ", 3)?,
            Expr::Or(children) => write_joined(f, children, " || ", 2)?,
        }
        if parenthesise {
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    children: &[Expr],
    separator: &str,
    min_precedence: u8,
) -> fmt::Result {
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        child.write(f, min_precedence)?;
    }
    Ok(())
}

/// Canonical form: C-like operators, single spaces, parentheses only where precedence needs
/// them (plus around a negated comparison), strings always quoted, numbers in decimal.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = self.quantifier == Quantifier::All;
        // `==` and `!=` carry their Wireshark default quantifiers (any / all); `===` and `!==`
        // are the other two combinations. Every other operator defaults to "any".
        let (prefix, op) = match &self.predicate {
            Predicate::Eq(_) => ("", if all { "===" } else { "==" }),
            Predicate::Ne(_) => ("", if all { "!=" } else { "!==" }),
            Predicate::Lt(_) => (if all { "all " } else { "" }, "<"),
            Predicate::Le(_) => (if all { "all " } else { "" }, "<="),
            Predicate::Gt(_) => (if all { "all " } else { "" }, ">"),
            Predicate::Ge(_) => (if all { "all " } else { "" }, ">="),
            Predicate::Contains(_) => (if all { "all " } else { "" }, "contains"),
            Predicate::In(_) => (if all { "all " } else { "" }, "in"),
        };
        write!(f, "{prefix}{} {op} ", self.field)?;
        match &self.predicate {
            Predicate::Eq(v)
            | Predicate::Ne(v)
            | Predicate::Lt(v)
            | Predicate::Le(v)
            | Predicate::Gt(v)
            | Predicate::Ge(v) => write!(f, "{v}"),
            Predicate::Contains(s) => write_quoted(f, s),
            Predicate::In(set) => write_set(f, set),
        }
    }
}

fn write_set(f: &mut fmt::Formatter<'_>, set: &[SetElement]) -> fmt::Result {
    f.write_str("{")?;
    for (i, element) in set.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        match element {
            SetElement::Value(v) => write!(f, "{v}")?,
            SetElement::Range(low, high) => write!(f, "{low}..{high}")?,
        }
    }
    f.write_str("}")
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Unsigned(n) => write!(f, "{n}"),
            Literal::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
            Literal::Str(s) => write_quoted(f, s),
            Literal::Addr(a) => write!(f, "{a}"),
        }
    }
}

impl fmt::Display for AddrLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_network() {
            write!(f, "{}/{}", self.addr, self.prefix_len)
        } else {
            write!(f, "{}", self.addr)
        }
    }
}

/// Writes `s` as a double-quoted filter string, escaping what the lexer would not read back
/// verbatim.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => {
                let code = u32::from(c);
                if code <= 0x7f {
                    write!(f, "\\x{code:02x}")?;
                } else {
                    write!(f, "\\u{code:04x}")?;
                }
            }
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn net(addr: &str, prefix_len: u8) -> AddrLiteral {
        AddrLiteral {
            addr: addr.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            prefix_len,
        }
    }

    #[test]
    fn cidr_contains_masks_host_bits() {
        let ten = net("10.1.2.3", 8);
        assert!(ten.is_network());
        assert!(ten.contains(IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1))));
        assert!(!ten.contains(IpAddr::V4(Ipv4Addr::new(11, 0, 0, 1))));
        assert!(net("0.0.0.0", 0).contains(IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))));
        let host = AddrLiteral::host(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(!host.is_network());
        assert!(host.contains(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert!(!host.contains(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))));
        let link_local = net("fe80::", 64);
        assert!(link_local.contains(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 1, 2, 3, 4))));
        assert!(!link_local.contains(IpAddr::V6(Ipv6Addr::new(0xfe81, 0, 0, 0, 0, 0, 0, 1))));
        assert!(net("::", 0).contains(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        // Families never mix, even for ::ffff:a.b.c.d.
        assert!(!net("::ffff:10.0.0.1", 128).contains(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
    }

    #[test]
    fn strings_are_quoted_with_escapes() {
        let lit = Literal::Str("a\"b\\c\nd\u{1}é".to_string());
        assert_eq!(lit.to_string(), r#""a\"b\\c\nd\x01é""#);
    }

    #[test]
    fn precedence_decides_parentheses() {
        let a = Expr::Protocol(Protocol::Tcp);
        let b = Expr::Protocol(Protocol::Udp);
        let c = Expr::Protocol(Protocol::Http);
        let or = Expr::Or(vec![a.clone(), b.clone()]);
        let and = Expr::And(vec![or.clone(), c.clone()]);
        assert_eq!(and.to_string(), "(tcp || udp) && http");
        let or2 = Expr::Or(vec![Expr::And(vec![a.clone(), b.clone()]), c.clone()]);
        assert_eq!(or2.to_string(), "tcp && udp || http");
        assert_eq!(Expr::Not(Box::new(or)).to_string(), "!(tcp || udp)");
        assert_eq!(
            Expr::Not(Box::new(Expr::Not(Box::new(a.clone())))).to_string(),
            "!!tcp"
        );
        let xor = Expr::Xor(vec![Expr::Or(vec![a.clone(), b]), a]);
        assert_eq!(xor.to_string(), "(tcp || udp) ^^ tcp");
    }
}
