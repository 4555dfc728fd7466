//! Converts the text of a value (bare word or quoted string) into a [`Literal`] of the field's
//! type, with Wireshark's error messages when it does not fit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nom::branch::alt;
use nom::bytes::complete::tag_no_case;
use nom::character::complete::{bin_digit1, char, digit1, hex_digit1, oct_digit1};
use nom::combinator::{all_consuming, map, verify};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::ast::{AddrLiteral, Literal};
use super::field::{Field, FieldType};

/// Why a value was rejected (the parser adds the position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InvalidValue {
    pub message: String,
    pub hint: Option<String>,
}

impl InvalidValue {
    fn new(message: String) -> InvalidValue {
        InvalidValue {
            message,
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> InvalidValue {
        self.hint = Some(hint.into());
        self
    }
}

/// Converts `text` to a literal for `field`. Quoted and bare values are converted alike: like
/// Wireshark, a bare word is accepted wherever a string is, and quotes are only needed for text
/// with spaces or operator characters (`"Client Hello"`, `"/a?b=c"`).
pub(super) fn literal_for(field: Field, text: &str) -> Result<Literal, InvalidValue> {
    match field.field_type() {
        FieldType::Unsigned { max } => unsigned_literal(field, text, max).map(Literal::Unsigned),
        FieldType::Ipv4 => addr_literal(field, text, Family::V4).map(Literal::Addr),
        FieldType::Ipv6 => addr_literal(field, text, Family::V6).map(Literal::Addr),
        FieldType::String => Ok(Literal::Str(text.to_string())),
        FieldType::Boolean => bool_literal(text).map(Literal::Bool),
        // The parser rejects a comparison with a label before it reads a value.
        FieldType::Label => Err(InvalidValue::new(format!(
            "\"{field}\" is a label: it has no value to compare with \"{text}\"."
        ))),
    }
}

fn unsigned_literal(field: Field, text: &str, max: u64) -> Result<u64, InvalidValue> {
    if let Some(value) = field.value_for_name(text) {
        return Ok(value);
    }
    match parse_unsigned(text) {
        Ok(n) if n <= max => Ok(n),
        Ok(_) => Err(InvalidValue::new(format!(
            "\"{text}\" too big for this field, maximum {max}."
        ))),
        Err(NumberError::Negative) => Err(InvalidValue::new(
            "Unsigned numbers cannot be negative.".to_string(),
        )),
        Err(NumberError::Overflow) => Err(InvalidValue::new(format!(
            "\"{text}\" causes an integer overflow."
        ))),
        Err(NumberError::Invalid) if !field.value_names().is_empty() => {
            let examples: Vec<String> = field
                .value_names()
                .iter()
                .take(3)
                .map(|(v, name)| format!("\"{name}\" ({v})"))
                .collect();
            Err(InvalidValue::new(format!(
                "\"{text}\" cannot be found among the possible values for {field}."
            ))
            .hint(format!("possible values include {}", examples.join(", "))))
        }
        Err(NumberError::Invalid) => {
            let err = InvalidValue::new(format!("\"{text}\" is not a valid number."));
            let octal_lookalike =
                text.len() > 1 && text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit());
            Err(if octal_lookalike {
                err.hint("a leading 0 means octal, as in Wireshark; drop it for decimal")
            } else {
                err
            })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumberError {
    Invalid,
    Negative,
    Overflow,
}

/// The digits of an unsigned integer and their radix: `0x1f` (hex), `0b101` (binary), `017`
/// (octal, as with C's `strtoul`, which Wireshark uses), `42` (decimal).
fn radix_and_digits(input: &str) -> IResult<&str, (u32, &str)> {
    alt((
        map(preceded(tag_no_case("0x"), hex_digit1), |d| (16, d)),
        map(preceded(tag_no_case("0b"), bin_digit1), |d| (2, d)),
        map(preceded(char('0'), oct_digit1), |d| (8, d)),
        // No leading zero (that is octal, above). Not `recognize(pair(.., digit0))`: nom 8.0.0's
        // `digit0` on `&str` returns a remainder that does not point at the end of the input
        // when it consumes everything, which breaks `recognize`.
        map(
            verify(digit1, |d: &str| d == "0" || !d.starts_with('0')),
            |d| (10, d),
        ),
    ))
    .parse(input)
}

pub(super) fn parse_unsigned(text: &str) -> Result<u64, NumberError> {
    if let Some(rest) = text.strip_prefix('-') {
        return match all_consuming(radix_and_digits).parse(rest) {
            Ok(_) => Err(NumberError::Negative),
            Err(_) => Err(NumberError::Invalid),
        };
    }
    let (_, (radix, digits)) = all_consuming(radix_and_digits)
        .parse(text)
        .map_err(|_| NumberError::Invalid)?;
    u64::from_str_radix(digits, radix).map_err(|_| NumberError::Overflow)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

/// The field with the same role in the other address family (`ip.src` ↔ `ipv6.src`).
fn other_family_field(field: Field) -> Field {
    match field {
        Field::IpAddr => Field::Ipv6Addr,
        Field::IpSrc => Field::Ipv6Src,
        Field::IpDst => Field::Ipv6Dst,
        Field::Ipv6Addr => Field::IpAddr,
        Field::Ipv6Src => Field::IpSrc,
        Field::Ipv6Dst => Field::IpDst,
        other => other,
    }
}

fn addr_literal(field: Field, text: &str, family: Family) -> Result<AddrLiteral, InvalidValue> {
    let (family_name, max_prefix) = match family {
        Family::V4 => ("IPv4", 32u8),
        Family::V6 => ("IPv6", 128u8),
    };
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr = match (
        family,
        addr_text.parse::<Ipv4Addr>(),
        addr_text.parse::<Ipv6Addr>(),
    ) {
        (Family::V4, Ok(a), _) => IpAddr::V4(a),
        (Family::V6, _, Ok(a)) => IpAddr::V6(a),
        (_, v4, v6) => {
            let err =
                InvalidValue::new(format!("\"{text}\" is not a valid {family_name} address."));
            let other = other_family_field(field);
            return Err(if v4.is_ok() || v6.is_ok() {
                err.hint(format!(
                    "{field} holds {family_name} addresses; use {other} for this one"
                ))
            } else if addr_text.chars().any(|c| c.is_ascii_alphabetic()) && !addr_text.contains(':')
            {
                err.hint("host names are not resolved; write the address")
            } else {
                err
            });
        }
    };
    let prefix_len = match prefix_text {
        None => max_prefix,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max_prefix && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(InvalidValue::new(format!(
                    "\"{text}\" is not a valid {family_name} network: the prefix length must be 0 to {max_prefix}."
                )))
            }
        },
    };
    Ok(AddrLiteral { addr, prefix_len })
}

fn bool_literal(text: &str) -> Result<bool, InvalidValue> {
    if text.eq_ignore_ascii_case("true") {
        return Ok(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Ok(false);
    }
    match parse_unsigned(text) {
        Ok(n) => Ok(n != 0),
        Err(_) => Err(
            InvalidValue::new(format!("\"{text}\" is not a valid Boolean."))
                .hint("use 1, 0, true or false"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_numbers_in_every_radix() {
        assert_eq!(parse_unsigned("0"), Ok(0));
        assert_eq!(parse_unsigned("5061"), Ok(5061));
        assert_eq!(parse_unsigned("0x16"), Ok(22));
        assert_eq!(parse_unsigned("0X1f"), Ok(31));
        assert_eq!(parse_unsigned("0b1010"), Ok(10));
        assert_eq!(parse_unsigned("012"), Ok(10));
        assert_eq!(parse_unsigned("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_unsigned("18446744073709551616"),
            Err(NumberError::Overflow)
        );
        assert_eq!(parse_unsigned("-1"), Err(NumberError::Negative));
        for bad in ["", "0x", "08", "1.5", "12a", "0b2", "-", "--1", "+1", "１"] {
            assert_eq!(parse_unsigned(bad), Err(NumberError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn numbers_are_checked_against_the_field_width() {
        assert_eq!(
            literal_for(Field::TcpPort, "65535"),
            Ok(Literal::Unsigned(65535))
        );
        let err = literal_for(Field::TcpPort, "70000").unwrap_err();
        assert_eq!(
            err.message,
            r#""70000" too big for this field, maximum 65535."#
        );
        let err = literal_for(Field::TlsHandshakeType, "256").unwrap_err();
        assert_eq!(err.message, r#""256" too big for this field, maximum 255."#);
        let err = literal_for(Field::TcpPort, "http").unwrap_err();
        assert_eq!(err.message, r#""http" is not a valid number."#);
        let err = literal_for(Field::TcpPort, "-80").unwrap_err();
        assert_eq!(err.message, "Unsigned numbers cannot be negative.");
        let err = literal_for(Field::TcpPort, "080").unwrap_err();
        assert!(err.hint.is_some_and(|h| h.contains("octal")));
    }

    #[test]
    fn value_names_stand_for_numbers() {
        assert_eq!(
            literal_for(Field::TlsHandshakeType, "Client Hello"),
            Ok(Literal::Unsigned(1))
        );
        assert_eq!(
            literal_for(Field::NtlmsspMessageType, "NTLMSSP_AUTH"),
            Ok(Literal::Unsigned(3))
        );
        let err = literal_for(Field::TlsHandshakeType, "Client Hullo").unwrap_err();
        assert_eq!(
            err.message,
            r#""Client Hullo" cannot be found among the possible values for tls.handshake.type."#
        );
        assert_eq!(
            err.hint.as_deref(),
            Some(
                r#"possible values include "Hello Request" (0), "Client Hello" (1), "Server Hello" (2)"#
            )
        );
    }

    #[test]
    fn addresses_and_networks() {
        let v4 = |s: &str| literal_for(Field::IpAddr, s);
        assert_eq!(
            v4("10.0.0.1"),
            Ok(Literal::Addr(AddrLiteral {
                addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                prefix_len: 32
            }))
        );
        assert_eq!(
            v4("10.0.0.0/8"),
            Ok(Literal::Addr(AddrLiteral {
                addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)),
                prefix_len: 8
            }))
        );
        let err = v4("10.0.0.0/33").unwrap_err();
        assert_eq!(
            err.message,
            r#""10.0.0.0/33" is not a valid IPv4 network: the prefix length must be 0 to 32."#
        );
        assert!(v4("10.0.0.0/+8").is_err());
        assert!(v4("10.0.0.0/").is_err());
        let err = v4("fe80::1").unwrap_err();
        assert_eq!(err.message, r#""fe80::1" is not a valid IPv4 address."#);
        assert_eq!(
            err.hint.as_deref(),
            Some("ip.addr holds IPv4 addresses; use ipv6.addr for this one")
        );
        let err = v4("example.com").unwrap_err();
        assert!(err.hint.is_some_and(|h| h.contains("host names")));
        assert!(v4("256.0.0.1").is_err());
        assert!(v4("010.0.0.1").is_err());

        let v6 = |s: &str| literal_for(Field::Ipv6Src, s);
        assert_eq!(
            v6("fe80::/64"),
            Ok(Literal::Addr(AddrLiteral {
                addr: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)),
                prefix_len: 64
            }))
        );
        assert!(v6("::ffff:10.0.0.1").is_ok());
        assert!(v6("::/129").is_err());
        let err = v6("10.0.0.1").unwrap_err();
        assert_eq!(err.message, r#""10.0.0.1" is not a valid IPv6 address."#);
        assert_eq!(
            err.hint.as_deref(),
            Some("ipv6.src holds IPv6 addresses; use ip.src for this one")
        );
    }

    #[test]
    fn booleans_and_strings() {
        for (text, want) in [
            ("1", true),
            ("0", false),
            ("TRUE", true),
            ("false", false),
            ("0x2", true),
        ] {
            assert_eq!(
                literal_for(Field::TcpFlagsSyn, text),
                Ok(Literal::Bool(want)),
                "{text}"
            );
        }
        let err = literal_for(Field::TcpFlagsSyn, "yes").unwrap_err();
        assert_eq!(err.message, r#""yes" is not a valid Boolean."#);
        assert_eq!(
            literal_for(Field::HttpHost, "proxy.example:8080"),
            Ok(Literal::Str("proxy.example:8080".to_string()))
        );
    }
}
