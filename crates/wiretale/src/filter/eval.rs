//! Evaluates a filter against one frame, through the [`FieldSource`] abstraction so this module
//! knows nothing about how frames are decoded.

use core::cmp::Ordering;
use std::net::IpAddr;

use super::ast::{Comparison, Expr, Literal, Predicate, Quantifier, SetElement};
use super::field::{Field, FieldType, Protocol};

/// One value of a field in one frame, borrowed from whatever holds the decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// For unsigned-integer fields (and accepted for Boolean fields: non-zero is true).
    Unsigned(u64),
    /// For `ip.*` (IPv4) and `ipv6.*` (IPv6) fields.
    Addr(IpAddr),
    /// For string fields.
    Str(&'a str),
    /// For Boolean fields.
    Bool(bool),
    /// For label fields ([`FieldType::Label`]): they have no value, only presence.
    Present,
}

/// What a filter asks of a frame. Implemented by whatever holds a decoded frame (or a test
/// double); the filter never allocates while asking.
///
/// Values whose type does not match the field's [`FieldType`] (an IPv6 address for `ip.src`,
/// a string for `tcp.port`) are ignored, as if absent.
pub trait FieldSource {
    /// Whether the frame carries `protocol` (for the bare protocol tests `tcp`, `http`, ...).
    fn has_protocol(&self, protocol: Protocol) -> bool;

    /// Calls `out` once per value of `field` in the frame, in any order; not at all if the
    /// frame does not have the field. `ip.addr` yields both the source and the destination,
    /// `tcp.port` both ports, and so on.
    fn values(&self, field: Field, out: &mut dyn FnMut(Value<'_>));
}

/// Whether `expr` is true for the frame behind `src`.
pub(super) fn eval(expr: &Expr, src: &dyn FieldSource) -> bool {
    match expr {
        Expr::Protocol(protocol) => src.has_protocol(*protocol),
        Expr::Exists(field) => {
            let ty = field.field_type();
            let mut found = false;
            src.values(*field, &mut |v| found |= fits(ty, &v));
            found
        }
        Expr::Compare(comparison) => compare(comparison, src),
        Expr::Not(inner) => !eval(inner, src),
        Expr::And(children) => children.iter().all(|c| eval(c, src)),
        Expr::Or(children) => children.iter().any(|c| eval(c, src)),
        Expr::Xor(children) => children.iter().filter(|c| eval(c, src)).count() % 2 == 1,
    }
}

/// Applies the predicate to every value. Either quantifier needs at least one value: this is
/// Wireshark's implicit "exists" test, which makes `a != b` mean "`a` is present and none of its
/// values equals `b`" (so `!(a == b)` is *not* the same filter on frames without `a`).
fn compare(comparison: &Comparison, src: &dyn FieldSource) -> bool {
    let ty = comparison.field.field_type();
    let mut seen = false;
    let mut any = false;
    let mut all = true;
    src.values(comparison.field, &mut |v| {
        if !fits(ty, &v) {
            return;
        }
        seen = true;
        if test(&comparison.predicate, v) {
            any = true;
        } else {
            all = false;
        }
    });
    match comparison.quantifier {
        Quantifier::Any => any,
        Quantifier::All => seen && all,
    }
}

/// Whether a value supplied by the source has the field's type.
fn fits(ty: FieldType, value: &Value<'_>) -> bool {
    matches!(
        (ty, value),
        (FieldType::Unsigned { .. }, Value::Unsigned(_))
            | (FieldType::Ipv4, Value::Addr(IpAddr::V4(_)))
            | (FieldType::Ipv6, Value::Addr(IpAddr::V6(_)))
            | (FieldType::String, Value::Str(_))
            | (FieldType::Boolean, Value::Bool(_) | Value::Unsigned(_))
            | (FieldType::Label, Value::Present)
    )
}

fn test(predicate: &Predicate, value: Value<'_>) -> bool {
    match predicate {
        Predicate::Eq(literal) => equals(value, literal),
        Predicate::Ne(literal) => !equals(value, literal),
        Predicate::Lt(literal) => order(value, literal) == Some(Ordering::Less),
        Predicate::Le(literal) => matches!(
            order(value, literal),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Predicate::Gt(literal) => order(value, literal) == Some(Ordering::Greater),
        Predicate::Ge(literal) => matches!(
            order(value, literal),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Predicate::Contains(needle) => {
            matches!(value, Value::Str(haystack) if haystack.contains(needle.as_str()))
        }
        Predicate::In(set) => set.iter().any(|element| match element {
            SetElement::Value(literal) => equals(value, literal),
            SetElement::Range(low, high) => {
                matches!(order(value, low), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(order(value, high), Some(Ordering::Less | Ordering::Equal))
            }
        }),
    }
}

fn equals(value: Value<'_>, literal: &Literal) -> bool {
    match (value, literal) {
        (Value::Addr(addr), Literal::Addr(net)) => net.contains(addr),
        _ => order(value, literal) == Some(Ordering::Equal),
    }
}

/// How `value` orders against `literal`; `None` when they are not comparable.
fn order(value: Value<'_>, literal: &Literal) -> Option<Ordering> {
    match (value, literal) {
        (Value::Unsigned(v), Literal::Unsigned(l)) => Some(v.cmp(l)),
        (Value::Str(v), Literal::Str(l)) => Some(v.cmp(l.as_str())),
        (Value::Bool(v), Literal::Bool(l)) => Some(v.cmp(l)),
        (Value::Unsigned(v), Literal::Bool(l)) => Some((v != 0).cmp(l)),
        (Value::Addr(IpAddr::V4(v)), Literal::Addr(l)) => match l.addr {
            IpAddr::V4(l) => Some(u32::from(v).cmp(&u32::from(l))),
            IpAddr::V6(_) => None,
        },
        (Value::Addr(IpAddr::V6(v)), Literal::Addr(l)) => match l.addr {
            IpAddr::V6(l) => Some(u128::from(v).cmp(&u128::from(l))),
            IpAddr::V4(_) => None,
        },
        _ => None,
    }
}
