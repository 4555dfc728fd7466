//! Recursive-descent parser over the lexer's tokens: builds the [`Expr`] tree, resolves names
//! and type-checks every value against its field.
//!
//! Grammar (lowest precedence first, as in Wireshark):
//!
//! ```text
//! or       := xor   (("||" | "or")  xor)*
//! xor      := and   (("^^" | "xor") and)*
//! and      := unary (("&&" | "and") unary)*
//! unary    := ("!" | "not") unary | primary
//! primary  := "(" or ")" | ["any" | "all"] test
//! test     := NAME [cmp VALUE | "contains" VALUE | ["not"] "in" set]
//! set      := "{" element ([","] element)* "}"
//! element  := VALUE [".." VALUE]
//! ```
//!
//! Recursion only happens through `(` and `!`, and both count against
//! [`MAX_DEPTH`].

use super::ast::{Comparison, Expr, Literal, Predicate, Quantifier, SetElement};
use super::error::{FilterError, FilterErrorKind};
use super::field::{Field, FieldType, Protocol};
use super::lexer::{self, column, width, CmpOp, Token, TokenKind};
use super::literal::{literal_for, parse_unsigned, InvalidValue};
use super::MAX_DEPTH;

/// Parses a whole filter (already checked for length) into an expression.
pub(super) fn parse_expr(text: &str) -> Result<Expr, FilterError> {
    let tokens = lexer::tokenize(text)?;
    if tokens.is_empty() {
        return Err(FilterError::new(
            FilterErrorKind::Empty,
            0,
            1,
            "The filter expression is empty.",
        ));
    }
    let mut parser = Parser {
        text,
        tokens,
        pos: 0,
        open_parens: 0,
    };
    let expr = parser.parse_chain(0, Chain::Or)?;
    match parser.next() {
        None => Ok(expr),
        Some(tok) if tok.kind == TokenKind::RParen => Err(parser.err_at(
            FilterErrorKind::Unbalanced,
            &tok,
            "Unbalanced parentheses: this \")\" has no matching \"(\".",
        )),
        Some(tok) => {
            let err = parser.unexpected(&tok);
            Err(match tok.kind {
                TokenKind::Word(word) if lexer::is_keyword(&word.to_ascii_lowercase()) => err
                    .with_hint(format!(
                        "operators are lowercase: \"{}\"",
                        word.to_ascii_lowercase()
                    )),
                TokenKind::Word(_) | TokenKind::Not | TokenKind::LParen => {
                    err.with_hint(r#"join tests with "&&" or "||""#)
                }
                _ => err,
            })
        }
    }
}

/// The three binary operators, from loosest to tightest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chain {
    Or,
    Xor,
    And,
}

impl Chain {
    fn matches(self, kind: &TokenKind<'_>) -> bool {
        matches!(
            (self, kind),
            (Chain::Or, TokenKind::Or)
                | (Chain::Xor, TokenKind::Xor)
                | (Chain::And, TokenKind::And)
        )
    }

    /// Appends `expr` to the operands, splicing in the operands of a (parenthesised) expression
    /// of the same operator so the tree stays flat.
    fn push_flat(self, operands: &mut Vec<Expr>, expr: Expr) {
        match (self, expr) {
            (Chain::Or, Expr::Or(inner))
            | (Chain::Xor, Expr::Xor(inner))
            | (Chain::And, Expr::And(inner)) => operands.extend(inner),
            (_, other) => operands.push(other),
        }
    }

    fn build(self, operands: Vec<Expr>) -> Expr {
        match self {
            Chain::Or => Expr::Or(operands),
            Chain::Xor => Expr::Xor(operands),
            Chain::And => Expr::And(operands),
        }
    }
}

/// Whether a name is a field or a protocol.
enum Name {
    Field(Field),
    Protocol(Protocol),
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token<'t>>,
    pos: usize,
    open_parens: usize,
}

impl<'t> Parser<'t> {
    fn peek_kind(&self) -> Option<&TokenKind<'t>> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn next(&mut self) -> Option<Token<'t>> {
        let tok = self.tokens.get(self.pos).cloned();
        if tok.is_some() {
            self.pos = self.pos.saturating_add(1);
        }
        tok
    }

    fn text_of(&self, tok: &Token<'_>) -> &'t str {
        self.text.get(tok.start..tok.end).unwrap_or("")
    }

    fn err_at(
        &self,
        kind: FilterErrorKind,
        tok: &Token<'_>,
        message: impl Into<String>,
    ) -> FilterError {
        FilterError::new(
            kind,
            column(self.text, tok.start),
            width(self.text, tok.start, tok.end),
            message,
        )
    }

    fn err_at_end(&self, kind: FilterErrorKind, message: impl Into<String>) -> FilterError {
        FilterError::new(kind, column(self.text, self.text.len()), 1, message)
    }

    fn unexpected(&self, tok: &Token<'_>) -> FilterError {
        self.err_at(
            FilterErrorKind::Syntax,
            tok,
            format!("\"{}\" was unexpected in this context.", self.text_of(tok)),
        )
    }

    fn unexpected_end(&self) -> FilterError {
        self.err_at_end(
            FilterErrorKind::UnexpectedEnd,
            "Unexpected end of filter expression.",
        )
    }

    fn too_deep(&self, tok: &Token<'_>) -> FilterError {
        self.err_at(
            FilterErrorKind::TooDeep,
            tok,
            format!(
                "The filter is nested too deeply (more than {MAX_DEPTH} levels of parentheses and \"!\")."
            ),
        )
    }

    fn invalid_value(&self, tok: &Token<'_>, e: InvalidValue) -> FilterError {
        let err = self.err_at(FilterErrorKind::InvalidValue, tok, e.message);
        match e.hint {
            Some(hint) => err.with_hint(hint),
            None => err,
        }
    }

    fn parse_chain(&mut self, depth: usize, chain: Chain) -> Result<Expr, FilterError> {
        let first = self.parse_operand(depth, chain)?;
        if !self.peek_kind().is_some_and(|k| chain.matches(k)) {
            return Ok(first);
        }
        let mut operands = Vec::new();
        chain.push_flat(&mut operands, first);
        while self.peek_kind().is_some_and(|k| chain.matches(k)) {
            self.pos = self.pos.saturating_add(1);
            let next = self.parse_operand(depth, chain)?;
            chain.push_flat(&mut operands, next);
        }
        Ok(chain.build(operands))
    }

    fn parse_operand(&mut self, depth: usize, chain: Chain) -> Result<Expr, FilterError> {
        match chain {
            Chain::Or => self.parse_chain(depth, Chain::Xor),
            Chain::Xor => self.parse_chain(depth, Chain::And),
            Chain::And => self.parse_unary(depth),
        }
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if self.peek_kind() == Some(&TokenKind::Not) {
            let Some(not) = self.next() else {
                return Err(self.unexpected_end());
            };
            if depth >= MAX_DEPTH {
                return Err(self.too_deep(&not));
            }
            let inner = self.parse_unary(depth.saturating_add(1))?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary(depth)
    }

    fn parse_primary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let Some(tok) = self.next() else {
            return Err(self.unexpected_end());
        };
        match &tok.kind {
            TokenKind::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(self.too_deep(&tok));
                }
                self.open_parens = self.open_parens.saturating_add(1);
                let inner = self.parse_chain(depth.saturating_add(1), Chain::Or)?;
                match self.next() {
                    Some(close) if close.kind == TokenKind::RParen => {
                        self.open_parens = self.open_parens.saturating_sub(1);
                        Ok(inner)
                    }
                    Some(other) => Err(self.unexpected(&other)),
                    None => Err(self.err_at(
                        FilterErrorKind::Unbalanced,
                        &tok,
                        "Unbalanced parentheses: this \"(\" is never closed.",
                    )),
                }
            }
            TokenKind::RParen if self.open_parens == 0 => Err(self.err_at(
                FilterErrorKind::Unbalanced,
                &tok,
                "Unbalanced parentheses: this \")\" has no matching \"(\".",
            )),
            TokenKind::Any | TokenKind::All => {
                let quantifier = if tok.kind == TokenKind::Any {
                    Quantifier::Any
                } else {
                    Quantifier::All
                };
                let keyword = self.text_of(&tok);
                match self.next() {
                    Some(name) => match &name.kind {
                        TokenKind::Word(word) => self.parse_test(word, &name, Some(quantifier)),
                        _ => Err(self.err_at(
                            FilterErrorKind::Syntax,
                            &name,
                            format!("expected a field name after \"{keyword}\""),
                        )),
                    },
                    None => Err(self.err_at_end(
                        FilterErrorKind::UnexpectedEnd,
                        format!("expected a field name after \"{keyword}\""),
                    )),
                }
            }
            TokenKind::Word(word) => self.parse_test(word, &tok, None),
            TokenKind::Str(_) => Err(self.unexpected(&tok).with_hint(
                "a test starts with a field or protocol name, e.g. http.host == \"example.com\"",
            )),
            _ => Err(self.unexpected(&tok)),
        }
    }

    /// A test starting with the name `word`: a presence test or a comparison.
    fn parse_test(
        &mut self,
        word: &str,
        name_tok: &Token<'t>,
        quantifier: Option<Quantifier>,
    ) -> Result<Expr, FilterError> {
        if self.peek_kind() == Some(&TokenKind::LParen) {
            return Err(self.err_at(
                FilterErrorKind::Unsupported,
                name_tok,
                format!("Functions such as \"{word}()\" are not supported."),
            ));
        }
        let name = resolve(word).ok_or_else(|| {
            unknown_name(
                self.err_at(
                    FilterErrorKind::UnknownName,
                    name_tok,
                    format!("\"{word}\" is neither a field nor a protocol name."),
                ),
                word,
            )
        })?;
        let relational = match self.peek_kind() {
            Some(TokenKind::Cmp(_) | TokenKind::Contains | TokenKind::Matches | TokenKind::In) => {
                true
            }
            Some(TokenKind::Not) => {
                self.tokens.get(self.pos.saturating_add(1)).map(|t| &t.kind) == Some(&TokenKind::In)
            }
            _ => false,
        };
        if !relational {
            if quantifier.is_some() {
                let message = format!("expected a comparison after \"{word}\"");
                return Err(match self.tokens.get(self.pos) {
                    Some(tok) => self.err_at(FilterErrorKind::Syntax, tok, message),
                    None => self.err_at_end(FilterErrorKind::UnexpectedEnd, message),
                });
            }
            return Ok(match name {
                Name::Field(field) => Expr::Exists(field),
                Name::Protocol(protocol) => Expr::Protocol(protocol),
            });
        }
        let field = match name {
            Name::Field(field) => field,
            Name::Protocol(protocol) => {
                let err = self.err_at(
                    FilterErrorKind::TypeMismatch,
                    name_tok,
                    format!(
                        "\"{word}\" is a protocol; it can only be tested for presence, not compared with a value."
                    ),
                );
                return Err(
                    match Field::ALL.into_iter().find(|f| f.protocol() == protocol) {
                        Some(example) => {
                            err.with_hint(format!("compare one of its fields, e.g. {example}"))
                        }
                        None => err,
                    },
                );
            }
        };
        self.parse_relation(field, quantifier)
    }

    /// The operator and right-hand side after a field name.
    fn parse_relation(
        &mut self,
        field: Field,
        quantifier: Option<Quantifier>,
    ) -> Result<Expr, FilterError> {
        let Some(op) = self.next() else {
            return Err(self.unexpected_end());
        };
        let op_text = self.text_of(&op);
        let field_type = field.field_type();
        let cannot_participate = |p: &Self| {
            p.err_at(
                FilterErrorKind::TypeMismatch,
                &op,
                format!(
                    "\"{field}\" (type={}) cannot participate in \"{op_text}\" comparison.",
                    field_type.describe()
                ),
            )
        };
        let compares = matches!(
            op.kind,
            TokenKind::Cmp(_) | TokenKind::Contains | TokenKind::In | TokenKind::Not
        );
        if compares && field_type == FieldType::Label {
            return Err(cannot_participate(self)
                .with_hint(format!("a label is only tested alone: {field}")));
        }
        let (default_quantifier, predicate) = match op.kind {
            TokenKind::Cmp(cmp) => {
                let ordered = matches!(cmp, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
                if ordered && !field_type.is_ordered() {
                    return Err(cannot_participate(self));
                }
                let (literal, value_tok) = self.parse_value(field, op_text)?;
                if ordered {
                    self.reject_network(&literal, &value_tok)?;
                }
                match cmp {
                    CmpOp::AnyEq => (Quantifier::Any, Predicate::Eq(literal)),
                    CmpOp::AllEq => (Quantifier::All, Predicate::Eq(literal)),
                    CmpOp::AllNe => (Quantifier::All, Predicate::Ne(literal)),
                    CmpOp::AnyNe => (Quantifier::Any, Predicate::Ne(literal)),
                    CmpOp::Lt => (Quantifier::Any, Predicate::Lt(literal)),
                    CmpOp::Le => (Quantifier::Any, Predicate::Le(literal)),
                    CmpOp::Gt => (Quantifier::Any, Predicate::Gt(literal)),
                    CmpOp::Ge => (Quantifier::Any, Predicate::Ge(literal)),
                }
            }
            TokenKind::Contains => {
                if field_type != FieldType::String {
                    return Err(cannot_participate(self));
                }
                match self.parse_value(field, op_text)? {
                    (Literal::Str(s), _) => (Quantifier::Any, Predicate::Contains(s)),
                    (_, tok) => return Err(self.unexpected(&tok)),
                }
            }
            TokenKind::Matches => {
                return Err(self
                    .err_at(
                        FilterErrorKind::Unsupported,
                        &op,
                        format!(
                            "The \"{op_text}\" operator (regular expressions) is not supported."
                        ),
                    )
                    .with_hint(r#"use "contains" to search for a substring"#))
            }
            TokenKind::In => (
                Quantifier::Any,
                Predicate::In(self.parse_set(field, op_text)?),
            ),
            TokenKind::Not => {
                // `field not in {...}` is `!(field in {...})`, as in Wireshark.
                let Some(in_tok) = self.next() else {
                    return Err(self.unexpected_end());
                };
                let set = self.parse_set(field, self.text_of(&in_tok))?;
                return Ok(Expr::Not(Box::new(Expr::Compare(Comparison {
                    field,
                    quantifier: quantifier.unwrap_or(Quantifier::Any),
                    predicate: Predicate::In(set),
                }))));
            }
            _ => return Err(self.unexpected(&op)),
        };
        Ok(Expr::Compare(Comparison {
            field,
            quantifier: quantifier.unwrap_or(default_quantifier),
            predicate,
        }))
    }

    /// One value after `after` (an operator, `..` or a set's `{`), converted for `field`.
    fn parse_value(
        &mut self,
        field: Field,
        after: &str,
    ) -> Result<(Literal, Token<'t>), FilterError> {
        let expected = format!("expected a value after \"{after}\"");
        let Some(tok) = self.next() else {
            return Err(self.err_at_end(FilterErrorKind::UnexpectedEnd, expected));
        };
        let literal = match &tok.kind {
            TokenKind::Word(word) => {
                let kind_of_name = if Field::from_name(word).is_some() {
                    Some("field")
                } else if Protocol::from_name(word).is_some() {
                    Some("protocol")
                } else {
                    None
                };
                if let Some(kind) = kind_of_name {
                    let err = self.err_at(
                        FilterErrorKind::Unsupported,
                        &tok,
                        format!(
                            "\"{word}\" is a {kind} name; comparing with another field or protocol is not supported."
                        ),
                    );
                    return Err(if field.field_type() == FieldType::String {
                        err.with_hint(format!("quote it to compare with the text: \"{word}\""))
                    } else {
                        err
                    });
                }
                literal_for(field, word).map_err(|e| self.invalid_value(&tok, e))?
            }
            TokenKind::Str(text) => {
                literal_for(field, text).map_err(|e| self.invalid_value(&tok, e))?
            }
            TokenKind::LBrace => {
                return Err(self
                    .err_at(FilterErrorKind::Syntax, &tok, expected)
                    .with_hint(format!("use \"in\" to test membership: {field} in {{...}}")))
            }
            _ => return Err(self.err_at(FilterErrorKind::Syntax, &tok, expected)),
        };
        Ok((literal, tok))
    }

    /// Networks (`10.0.0.0/8`) only make sense for equality and set membership.
    fn reject_network(&self, literal: &Literal, tok: &Token<'_>) -> Result<(), FilterError> {
        match literal {
            Literal::Addr(a) if a.is_network() => Err(self.err_at(
                FilterErrorKind::InvalidValue,
                tok,
                "CIDR notation can only be used with \"==\", \"!=\", \"===\", \"!==\" and in a set.",
            )),
            _ => Ok(()),
        }
    }

    /// `{ a, b, c..d }` after `in`. Elements may be separated by commas (Wireshark ≥ 4.0) or
    /// by white space only (older Wireshark).
    fn parse_set(&mut self, field: Field, in_text: &str) -> Result<Vec<SetElement>, FilterError> {
        let expected_brace = format!("expected \"{{\" after \"{in_text}\"");
        let open = match self.next() {
            Some(tok) if tok.kind == TokenKind::LBrace => tok,
            Some(tok) => return Err(self.err_at(FilterErrorKind::Syntax, &tok, expected_brace)),
            None => return Err(self.err_at_end(FilterErrorKind::UnexpectedEnd, expected_brace)),
        };
        let mut elements = Vec::new();
        let mut after_comma = false;
        loop {
            let Some(tok) = self.tokens.get(self.pos).cloned() else {
                return Err(self.err_at(
                    FilterErrorKind::Unbalanced,
                    &open,
                    "Unbalanced braces: this \"{\" is never closed.",
                ));
            };
            match tok.kind {
                TokenKind::RBrace => {
                    self.pos = self.pos.saturating_add(1);
                    if elements.is_empty() {
                        return Err(self.err_at(
                            FilterErrorKind::Syntax,
                            &tok,
                            "A set must contain at least one value.",
                        ));
                    }
                    if after_comma {
                        return Err(self.err_at(
                            FilterErrorKind::Syntax,
                            &tok,
                            "expected a value after \",\"",
                        ));
                    }
                    return Ok(elements);
                }
                TokenKind::Comma if !elements.is_empty() && !after_comma => {
                    self.pos = self.pos.saturating_add(1);
                    after_comma = true;
                }
                TokenKind::Word(_) | TokenKind::Str(_) => {
                    let (low, low_tok) = self.parse_value(field, "{")?;
                    if self.peek_kind() == Some(&TokenKind::DotDot) {
                        let Some(dots) = self.next() else {
                            return Err(self.unexpected_end());
                        };
                        if !field.field_type().is_ordered() {
                            return Err(self.err_at(
                                FilterErrorKind::TypeMismatch,
                                &dots,
                                format!(
                                    "\"{field}\" (type={}) cannot be used with a range.",
                                    field.field_type().describe()
                                ),
                            ));
                        }
                        let (high, high_tok) = self.parse_value(field, "..")?;
                        self.reject_network(&low, &low_tok)?;
                        self.reject_network(&high, &high_tok)?;
                        elements.push(SetElement::Range(low, high));
                    } else {
                        elements.push(SetElement::Value(low));
                    }
                    after_comma = false;
                }
                _ => return Err(self.unexpected(&tok)),
            }
        }
    }
}

fn resolve(word: &str) -> Option<Name> {
    if let Some(field) = Field::from_name(word) {
        return Some(Name::Field(field));
    }
    Protocol::from_name(word).map(Name::Protocol)
}

/// Adds a hint to an unknown-name error: a value written where a test belongs, an uppercase
/// operator, a near-miss of a known name, or the fields of the named protocol.
fn unknown_name(err: FilterError, word: &str) -> FilterError {
    let lower = word.to_ascii_lowercase();
    if lower != word && lexer::is_keyword(&lower) {
        return err.with_hint(format!("operators are lowercase: \"{lower}\""));
    }
    if parse_unsigned(word).is_ok() {
        return err.with_hint(format!(
            "a value needs a field to compare with, e.g. tcp.port == {word}"
        ));
    }
    if let Ok(addr) = word
        .split('/')
        .next()
        .unwrap_or(word)
        .parse::<std::net::IpAddr>()
    {
        let field = if addr.is_ipv4() {
            "ip.addr"
        } else {
            "ipv6.addr"
        };
        return err.with_hint(format!(
            "a value needs a field to compare with, e.g. {field} == {word}"
        ));
    }
    if let Some(best) = closest_name(word) {
        return err.with_hint(format!("did you mean \"{best}\"?"));
    }
    let prefix = word.split('.').next().unwrap_or(word);
    if let Some(protocol) = Protocol::from_name(prefix) {
        let names: Vec<&str> = Field::ALL
            .into_iter()
            .filter(|f| f.protocol() == protocol)
            .map(Field::name)
            .collect();
        if !names.is_empty() {
            return err.with_hint(format!(
                "the {protocol} fields wiretale knows are: {}",
                names.join(", ")
            ));
        }
    }
    err
}

/// The known name closest to `word` by edit distance, if it is close enough to be a typo.
fn closest_name(word: &str) -> Option<&'static str> {
    const MAX_WORD: usize = 64;
    if word.chars().count() > MAX_WORD {
        return None;
    }
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    Field::ALL
        .into_iter()
        .map(Field::name)
        .chain(Protocol::ALL.into_iter().map(Protocol::name))
        .map(|name| (edit_distance(word, name), name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions
/// of adjacent characters each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len().saturating_add(1);
    // Three rolling rows: two back (for transpositions), previous, current.
    let mut two_back = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    let at = |row: &[usize], k: usize| row.get(k).copied().unwrap_or(usize::MAX);
    for (i, ca) in a.iter().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i.saturating_add(1);
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut best = at(&prev, j)
                .saturating_add(cost)
                .min(at(&prev, j.saturating_add(1)).saturating_add(1))
                .min(at(&cur, j).saturating_add(1));
            let transposed = i > 0
                && j > 0
                && a.get(i.wrapping_sub(1)) == Some(cb)
                && b.get(j.wrapping_sub(1)) == Some(ca);
            if transposed {
                best = best.min(at(&two_back, j.wrapping_sub(1)).saturating_add(1));
            }
            if let Some(slot) = cur.get_mut(j.saturating_add(1)) {
                *slot = best;
            }
        }
        core::mem::swap(&mut two_back, &mut prev);
        core::mem::swap(&mut prev, &mut cur);
    }
    prev.get(b.len()).copied().unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("tcp.prot", "tcp.port"), 1);
        assert_eq!(edit_distance("tcp.port", "tcp.port"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("htp", "http"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_name_only_suggests_near_misses() {
        assert_eq!(closest_name("tcp.prot"), Some("tcp.port"));
        assert_eq!(closest_name("htp"), Some("http"));
        assert_eq!(closest_name("ip.adr"), Some("ip.addr"));
        assert_eq!(closest_name("dns"), None);
        assert_eq!(closest_name(&"x".repeat(100)), None);
    }
}
