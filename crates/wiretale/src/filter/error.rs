//! Why a filter was rejected, where, and how to show it to a person.

/// What kind of mistake a [`FilterError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterErrorKind {
    /// The filter is empty or only white space.
    Empty,
    /// The filter is longer than [`MAX_FILTER_CHARS`](super::MAX_FILTER_CHARS).
    TooLong,
    /// Parentheses and `!` are nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    TooDeep,
    /// A character or token that does not belong where it is.
    Syntax,
    /// The filter stops where more was needed.
    UnexpectedEnd,
    /// A `(` or `{` without its closing partner, or a stray `)`.
    Unbalanced,
    /// A name that is neither a known field nor a known protocol.
    UnknownName,
    /// A literal that is not valid for the field's type (bad number, address, ...).
    InvalidValue,
    /// An operator the field's type does not support (`ip.addr contains "x"`).
    TypeMismatch,
    /// Valid Wireshark syntax that this implementation does not support (`matches`, slices).
    Unsupported,
}

/// A rejected filter: the 0-based column (in characters) of the offending spot, how many
/// characters it spans, and a Wireshark-style message.
///
/// `Display` prints only the message; [`render`](FilterError::render) also shows where.
///
/// ```
/// use wiretale::filter::parse;
///
/// let err = parse("tcp.prot == 80").unwrap_err();
/// assert_eq!(err.column, 0);
/// assert_eq!(err.message, r#""tcp.prot" is neither a field nor a protocol name."#);
/// assert_eq!(
///     err.render("tcp.prot == 80"),
///     "tcp.prot == 80\n^~~~~~~~ \"tcp.prot\" is neither a field nor a protocol name.\n\
///      hint: did you mean \"tcp.port\"?"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{message}")]
pub struct FilterError {
    /// What kind of mistake this is.
    pub kind: FilterErrorKind,
    /// 0-based character offset of the offending spot (the length of the filter when the
    /// problem is that it ended too early).
    pub column: usize,
    /// How many characters the offending spot spans (at least 1, so the caret is visible).
    pub width: usize,
    /// What is wrong, in Wireshark's words where Wireshark has words for it.
    pub message: String,
    /// A suggestion for fixing it, when there is an obvious one.
    pub hint: Option<String>,
}

impl FilterError {
    pub(super) fn new(
        kind: FilterErrorKind,
        column: usize,
        width: usize,
        message: impl Into<String>,
    ) -> FilterError {
        FilterError {
            kind,
            column,
            width: width.max(1),
            message: message.into(),
            hint: None,
        }
    }

    pub(super) fn with_hint(mut self, hint: impl Into<String>) -> FilterError {
        self.hint = Some(hint.into());
        self
    }

    /// The filter text, a line with a caret under the offending spot followed by the message,
    /// and the hint (if any) on a third line:
    ///
    /// ```text
    /// tcp.port ==
    ///            ^ expected a value after "=="
    /// ```
    ///
    /// Control characters in `text` are shown as spaces so the caret stays aligned. (Characters
    /// that a terminal draws double-width will still shift it.)
    pub fn render(&self, text: &str) -> String {
        let shown: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut out = String::with_capacity(shown.len() * 2 + self.message.len() + 16);
        out.push_str(&shown);
        out.push('\n');
        out.push_str(&" ".repeat(self.column));
        out.push('^');
        out.push_str(&"~".repeat(self.width.saturating_sub(1)));
        out.push(' ');
        out.push_str(&self.message);
        if let Some(hint) = &self.hint {
            out.push_str("\nhint: ");
            out.push_str(hint);
        }
        out
    }
}
