//! Splits filter text into tokens (nom parsers), keeping each token's byte span so errors can
//! point at it.
//!
//! Like Wireshark's scanner, the lexer does not decide whether a bare word is a field name or a
//! value (`tcp.port`, `10.0.0.1`, `fe80::1`, `10.0.0.0/8`, `GET` are all [`TokenKind::Word`]);
//! the parser does, from the word's position.

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{char, multispace0, satisfy};
use nom::combinator::{not, recognize, value};
use nom::error::{ErrorKind, ParseError};
use nom::multi::many1_count;
use nom::sequence::terminated;
use nom::{IResult, Parser};

use super::error::{FilterError, FilterErrorKind};

/// A comparison operator as written (C-like or word form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    /// `==`, `eq`, `any_eq`
    AnyEq,
    /// `!=`, `ne`, `all_ne`
    AllNe,
    /// `===`, `all_eq`
    AllEq,
    /// `!==`, `any_ne`
    AnyNe,
    /// `<`, `lt`
    Lt,
    /// `<=`, `le`
    Le,
    /// `>`, `gt`
    Gt,
    /// `>=`, `ge`
    Ge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenKind<'a> {
    /// A field name, protocol name or unquoted value.
    Word(&'a str),
    /// A double-quoted (or raw `r"..."`) string, escapes decoded.
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    DotDot,
    And,
    Or,
    Xor,
    Not,
    Cmp(CmpOp),
    Contains,
    Matches,
    In,
    Any,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub kind: TokenKind<'a>,
    /// Byte offset of the first byte in the filter text.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
}

/// What went wrong at the point a lexer error refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// The string opened here has no closing quote.
    UnterminatedString,
    /// A backslash escape spanning this many bytes is not valid.
    BadEscape(usize),
    /// The string opened here decodes (through `\x` / octal escapes) to bytes that are not UTF-8;
    /// the string spans this many bytes.
    NotUtf8(usize),
}

/// nom error type: the remaining input where the problem is, and what it is (`None` when no
/// token rule matched at all).
#[derive(Debug)]
struct LexError<'a> {
    input: &'a str,
    problem: Option<Problem>,
}

impl<'a> ParseError<&'a str> for LexError<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        LexError {
            input,
            problem: None,
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type LexResult<'a, O> = IResult<&'a str, O, LexError<'a>>;

/// Characters allowed in a bare word: enough for field names, numbers, IPv4/IPv6 addresses,
/// CIDR prefixes, host names and simple URI paths.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/')
}

fn comparison(input: &str) -> LexResult<'_, TokenKind<'_>> {
    alt((
        value(TokenKind::Cmp(CmpOp::AllEq), tag("===")),
        value(TokenKind::Cmp(CmpOp::AnyNe), tag("!==")),
        value(TokenKind::Cmp(CmpOp::AnyEq), tag("==")),
        value(TokenKind::Cmp(CmpOp::AllNe), tag("!=")),
        value(TokenKind::Cmp(CmpOp::Le), tag("<=")),
        value(TokenKind::Cmp(CmpOp::Ge), tag(">=")),
        value(TokenKind::Cmp(CmpOp::Lt), tag("<")),
        value(TokenKind::Cmp(CmpOp::Gt), tag(">")),
    ))
    .parse(input)
}

fn punctuation(input: &str) -> LexResult<'_, TokenKind<'_>> {
    alt((
        value(TokenKind::And, tag("&&")),
        value(TokenKind::Or, tag("||")),
        value(TokenKind::Xor, tag("^^")),
        value(TokenKind::DotDot, tag("..")),
        value(TokenKind::Not, char('!')),
        value(TokenKind::Matches, char('~')),
        value(TokenKind::LParen, char('(')),
        value(TokenKind::RParen, char(')')),
        value(TokenKind::LBrace, char('{')),
        value(TokenKind::RBrace, char('}')),
        value(TokenKind::Comma, char(',')),
    ))
    .parse(input)
}

/// A run of word characters. A `..` ends the word, so `80..90` is `80`, `..`, `90`.
fn word(input: &str) -> LexResult<'_, TokenKind<'_>> {
    let (rest, text) = recognize(many1_count(alt((
        satisfy(|c| is_word_char(c) && c != '.'),
        terminated(char('.'), not(char('.'))),
    ))))
    .parse(input)?;
    Ok((rest, keyword(text).unwrap_or(TokenKind::Word(text))))
}

/// Whether `text` is one of the reserved words.
pub(super) fn is_keyword(text: &str) -> bool {
    keyword(text).is_some()
}

/// Wireshark's reserved words (lowercase only, as in Wireshark).
fn keyword(text: &str) -> Option<TokenKind<'static>> {
    Some(match text {
        "and" => TokenKind::And,
        "or" => TokenKind::Or,
        "xor" => TokenKind::Xor,
        "not" => TokenKind::Not,
        "eq" | "any_eq" => TokenKind::Cmp(CmpOp::AnyEq),
        "ne" | "all_ne" => TokenKind::Cmp(CmpOp::AllNe),
        "all_eq" => TokenKind::Cmp(CmpOp::AllEq),
        "any_ne" => TokenKind::Cmp(CmpOp::AnyNe),
        "lt" => TokenKind::Cmp(CmpOp::Lt),
        "le" => TokenKind::Cmp(CmpOp::Le),
        "gt" => TokenKind::Cmp(CmpOp::Gt),
        "ge" => TokenKind::Cmp(CmpOp::Ge),
        "contains" => TokenKind::Contains,
        "matches" => TokenKind::Matches,
        "in" => TokenKind::In,
        "any" => TokenKind::Any,
        "all" => TokenKind::All,
        _ => return None,
    })
}

/// `"..."` with C-style escapes, or raw `r"..."` where a backslash is literal (but `\"` still
/// does not end the string, and keeps its backslash), as in Wireshark.
fn string(input: &str) -> LexResult<'_, TokenKind<'_>> {
    let (body, raw) = alt((value(true, tag("r\"")), value(false, tag("\"")))).parse(input)?;
    let mut bytes: Vec<u8> = Vec::new();
    let mut rest = body;
    loop {
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            return Err(fail(input, Problem::UnterminatedString));
        };
        match c {
            '"' => {
                let after = chars.as_str();
                let consumed = input.len().saturating_sub(after.len());
                return match String::from_utf8(bytes) {
                    Ok(s) => Ok((after, TokenKind::Str(s))),
                    Err(_) => Err(fail(input, Problem::NotUtf8(consumed))),
                };
            }
            '\\' if raw => {
                bytes.push(b'\\');
                if let Some(quote) = chars.as_str().strip_prefix('"') {
                    bytes.push(b'"');
                    rest = quote;
                } else {
                    rest = chars.as_str();
                }
            }
            '\\' => {
                let (after, decoded) = escape(chars.as_str())
                    .ok_or_else(|| fail(rest, Problem::BadEscape(escape_len(rest))))?;
                match decoded {
                    Decoded::Byte(b) => bytes.push(b),
                    Decoded::Char(ch) => {
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                }
                rest = after;
            }
            other => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                rest = chars.as_str();
            }
        }
    }
}

enum Decoded {
    Byte(u8),
    Char(char),
}

/// Decodes the escape after a backslash; `None` if it is not a valid escape.
fn escape(after_backslash: &str) -> Option<(&str, Decoded)> {
    let mut chars = after_backslash.chars();
    let c = chars.next()?;
    let simple = |b: u8| Some((chars.as_str(), Decoded::Byte(b)));
    match c {
        '\'' => simple(b'\''),
        '"' => simple(b'"'),
        '\\' => simple(b'\\'),
        'a' => simple(0x07),
        'b' => simple(0x08),
        'f' => simple(0x0c),
        'n' => simple(b'\n'),
        'r' => simple(b'\r'),
        't' => simple(b'\t'),
        'v' => simple(0x0b),
        '0'..='7' => {
            let digits = leading(after_backslash, 3, |c| c.is_digit(8));
            let value = u16::from_str_radix(digits, 8).ok()?;
            let byte = u8::try_from(value).ok()?;
            Some((after_backslash.get(digits.len()..)?, Decoded::Byte(byte)))
        }
        'x' => {
            let hex = chars.as_str();
            let digits = leading(hex, 2, |c| c.is_ascii_hexdigit());
            let byte = u8::from_str_radix(digits, 16).ok()?;
            Some((hex.get(digits.len()..)?, Decoded::Byte(byte)))
        }
        'u' | 'U' => {
            let want = if c == 'u' { 4 } else { 8 };
            let hex = chars.as_str();
            let digits = leading(hex, want, |c| c.is_ascii_hexdigit());
            if digits.len() != want {
                return None;
            }
            let ch = char::from_u32(u32::from_str_radix(digits, 16).ok()?)?;
            Some((hex.get(want..)?, Decoded::Char(ch)))
        }
        _ => None,
    }
}

/// The longest prefix of `s` of at most `max` ASCII characters satisfying `pred`.
fn leading(s: &str, max: usize, pred: impl Fn(char) -> bool) -> &str {
    let n = s.chars().take(max).take_while(|c| pred(*c)).count();
    s.get(..n).unwrap_or("")
}

/// Bytes to underline for a bad escape starting at the backslash: the backslash and the
/// character after it.
fn escape_len(at_backslash: &str) -> usize {
    let mut chars = at_backslash.chars();
    let backslash = chars.next().map_or(0, char::len_utf8);
    backslash + chars.next().map_or(0, char::len_utf8)
}

fn fail(at: &str, problem: Problem) -> nom::Err<LexError<'_>> {
    nom::Err::Failure(LexError {
        input: at,
        problem: Some(problem),
    })
}

fn token(input: &str) -> LexResult<'_, TokenKind<'_>> {
    alt((comparison, punctuation, string, word)).parse(input)
}

/// Character offset of byte offset `byte` in `text`.
pub(super) fn column(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |s| s.chars().count())
}

/// Number of characters in `text[start..end]`.
pub(super) fn width(text: &str, start: usize, end: usize) -> usize {
    text.get(start..end).map_or(1, |s| s.chars().count())
}

/// Splits `text` into tokens.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        // Positions are computed from lengths, never from nom's `Offset`: nom 8.0.0's `*0`
        // parsers on `&str` return an empty remainder that does not point at the input's end
        // when they consume everything.
        let (after_space, _) = multispace0::<&str, LexError<'_>>(rest).unwrap_or((rest, ""));
        rest = after_space;
        if rest.is_empty() {
            return Ok(tokens);
        }
        let start = text.len().saturating_sub(rest.len());
        match token(rest) {
            Ok((after, kind)) => {
                let end = text.len().saturating_sub(after.len());
                tokens.push(Token { kind, start, end });
                rest = after;
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => return Err(lex_error(text, e)),
            Err(nom::Err::Incomplete(_)) => {
                return Err(FilterError::new(
                    FilterErrorKind::UnexpectedEnd,
                    column(text, text.len()),
                    1,
                    "Unexpected end of filter expression.",
                ))
            }
        }
    }
}

fn lex_error(text: &str, e: LexError<'_>) -> FilterError {
    let at = text.len().saturating_sub(e.input.len());
    let col = column(text, at);
    match e.problem {
        Some(Problem::UnterminatedString) => FilterError::new(
            FilterErrorKind::Syntax,
            col,
            1,
            "The string is missing its closing double quote.",
        ),
        Some(Problem::BadEscape(len)) => {
            let seq = text.get(at..at.saturating_add(len)).unwrap_or("\\");
            FilterError::new(
                FilterErrorKind::Syntax,
                col,
                width(text, at, at.saturating_add(len)),
                format!("\"{seq}\" is not a valid escape sequence."),
            )
            .with_hint(r#"write "\\" for a backslash"#)
        }
        Some(Problem::NotUtf8(len)) => FilterError::new(
            FilterErrorKind::InvalidValue,
            col,
            width(text, at, at.saturating_add(len)),
            "The string is not valid UTF-8 (check its \\x and octal escapes).",
        ),
        None => {
            let c = e.input.chars().next().unwrap_or(' ');
            let err = FilterError::new(
                FilterErrorKind::Syntax,
                col,
                1,
                format!("\"{c}\" was unexpected in this context."),
            );
            match c {
                '=' => err.with_hint(r#"use "==" to test equality"#),
                '&' => err.with_hint(r#"use "&&" for "and" (bitwise "&" is not supported)"#),
                '|' => err.with_hint(r#"use "||" for "or""#),
                '^' => err.with_hint(r#"use "^^" for "xor""#),
                '[' => FilterError {
                    kind: FilterErrorKind::Unsupported,
                    message: "Slices (\"[...]\") are not supported.".to_string(),
                    ..err
                },
                '\'' => err
                    .with_hint("strings use double quotes; character constants are not supported"),
                '?' | '%' | '#' | '*' | '+' | ';' | '@' => {
                    err.with_hint("put values with special characters in double quotes")
                }
                _ => err,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind<'_>> {
        match tokenize(text) {
            Ok(tokens) => tokens.into_iter().map(|t| t.kind).collect(),
            Err(e) => panic!("{text:?} failed to lex: {e:?}"),
        }
    }

    fn lex_err(text: &str) -> FilterError {
        match tokenize(text) {
            Ok(tokens) => panic!("{text:?} lexed to {tokens:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn splits_the_case_study_filter() {
        use TokenKind::*;
        assert_eq!(
            kinds("tcp.port==5061 || http"),
            [
                Word("tcp.port"),
                Cmp(CmpOp::AnyEq),
                Word("5061"),
                Or,
                Word("http")
            ]
        );
        let tokens = tokenize("tcp.port==5061 || http").unwrap_or_default();
        let spans: Vec<_> = tokens.iter().map(|t| (t.start, t.end)).collect();
        assert_eq!(spans, [(0, 8), (8, 10), (10, 14), (15, 17), (18, 22)]);
    }

    #[test]
    fn operators_take_the_longest_match() {
        use CmpOp::*;
        use TokenKind::*;
        assert_eq!(
            kinds("=== !== == != <= >= < > ! ~ && || ^^"),
            [
                Cmp(AllEq),
                Cmp(AnyNe),
                Cmp(AnyEq),
                Cmp(AllNe),
                Cmp(Le),
                Cmp(Ge),
                Cmp(Lt),
                Cmp(Gt),
                Not,
                Matches,
                And,
                Or,
                Xor
            ]
        );
        assert_eq!(kinds("!tcp"), [Not, Word("tcp")]);
        assert_eq!(kinds("a!=b"), [Word("a"), Cmp(AllNe), Word("b")]);
    }

    #[test]
    fn keywords_are_lowercase_words() {
        use TokenKind::*;
        assert_eq!(
            kinds("and or xor not eq ne lt le gt ge contains matches in any all"),
            [
                And,
                Or,
                Xor,
                Not,
                Cmp(CmpOp::AnyEq),
                Cmp(CmpOp::AllNe),
                Cmp(CmpOp::Lt),
                Cmp(CmpOp::Le),
                Cmp(CmpOp::Gt),
                Cmp(CmpOp::Ge),
                Contains,
                Matches,
                In,
                Any,
                All
            ]
        );
        assert_eq!(kinds("AND android"), [Word("AND"), Word("android")]);
    }

    #[test]
    fn words_cover_addresses_networks_and_ranges() {
        use TokenKind::*;
        assert_eq!(
            kinds("fe80::1 10.0.0.0/8 0x16 my-host.example"),
            [
                Word("fe80::1"),
                Word("10.0.0.0/8"),
                Word("0x16"),
                Word("my-host.example")
            ]
        );
        assert_eq!(
            kinds("{80..90, 10.0.0.5 .. 10.0.0.9}"),
            [
                LBrace,
                Word("80"),
                DotDot,
                Word("90"),
                Comma,
                Word("10.0.0.5"),
                DotDot,
                Word("10.0.0.9"),
                RBrace
            ]
        );
    }

    #[test]
    fn strings_decode_escapes() {
        let one = |text| match kinds(text).as_slice() {
            [TokenKind::Str(s)] => s.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(one(r#""a \"quoted\" word""#), r#"a "quoted" word"#);
        assert_eq!(one(r#""\x48EAD""#), "HEAD");
        assert_eq!(one(r#""\110EAD""#), "HEAD");
        assert_eq!(one(r#""tab\there\n""#), "tab\there\n");
        assert_eq!(one(r#""\u00e9\U0001F600""#), "é😀");
        assert_eq!(one(r#""\\\\SERVER\\SHARE""#), r"\\SERVER\SHARE");
        assert_eq!(one(r#"r"\\SERVER\SHARE""#), r"\\SERVER\SHARE");
        assert_eq!(one(r#"r"say \"hi\"""#), r#"say \"hi\""#);
        assert_eq!(one(r#""""#), "");
        assert_eq!(one("\"é\""), "é");
    }

    #[test]
    fn string_errors_point_at_the_problem() {
        let e = lex_err(r#"http.host == "abc"#);
        assert_eq!((e.column, e.kind), (13, FilterErrorKind::Syntax));
        assert_eq!(e.message, "The string is missing its closing double quote.");

        let e = lex_err(r#"http.host == "a\qb""#);
        assert_eq!((e.column, e.width), (15, 2));
        assert_eq!(e.message, r#""\q" is not a valid escape sequence."#);

        let e = lex_err(r#""\777""#);
        assert_eq!(e.column, 1);
        let e = lex_err(r#""\u12""#);
        assert_eq!(e.column, 1);
        let e = lex_err(r#""\uD800""#); // a surrogate is not a char
        assert_eq!(e.column, 1);

        let e = lex_err(r#"x == "\xff""#);
        assert_eq!(
            (e.column, e.width, e.kind),
            (5, 6, FilterErrorKind::InvalidValue)
        );
    }

    #[test]
    fn stray_characters_are_reported_with_hints() {
        let e = lex_err("tcp.port = 80");
        assert_eq!(e.column, 9);
        assert_eq!(e.message, r#""=" was unexpected in this context."#);
        assert_eq!(e.hint.as_deref(), Some(r#"use "==" to test equality"#));
        let e = lex_err("tcp & udp");
        assert_eq!(e.column, 4);
        let e = lex_err("tcp.port == 80 $");
        assert_eq!((e.column, e.hint.is_none()), (15, true));
        let e = lex_err("frame[0:2]");
        assert_eq!((e.column, e.kind), (5, FilterErrorKind::Unsupported));
        // Columns count characters, not bytes.
        let e = lex_err("\"é\" $");
        assert_eq!(e.column, 4);
    }
}
