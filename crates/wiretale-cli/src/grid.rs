//! A table writer for tables with very many rows (one per connection of a capture).
//!
//! comfy-table keeps every cell as a `String` until it prints: on a capture with a million
//! connections that is gigabytes. Here a [`Layout`] measures each row as it is made (the
//! caller keeps or spills the rows) and then draws the header, the rows and the footer,
//! matching comfy-table's `UTF8_FULL_CONDENSED` preset that the other tables use.

use std::io::{self, Write};

/// The cells of one row, reused from row to row.
pub struct Cells(Vec<String>);

impl Cells {
    /// Cell `i`, cleared, ready to be written into.
    pub fn cell(&mut self, i: usize) -> &mut String {
        if self.0.len() <= i {
            self.0.resize_with(i + 1, String::new);
        }
        let c = &mut self.0[i];
        c.clear();
        c
    }

    /// Sets the cells, from the first, to `values`.
    pub fn put<const N: usize>(&mut self, values: [String; N]) {
        for (i, value) in values.into_iter().enumerate() {
            *self.cell(i) = value;
        }
    }

    /// Writes `value` into cell `i`.
    #[cfg(test)]
    pub fn set(&mut self, i: usize, value: impl std::fmt::Display) {
        let _ = std::fmt::Write::write_fmt(self.cell(i), format_args!("{value}"));
    }
}

/// Column widths and alignment, measured from the rows before any is printed.
pub struct Layout {
    widths: Vec<usize>,
    right: Vec<usize>,
    /// Some cell measured (or the header) spans lines: rows are then drawn line by line.
    multiline: bool,
}

impl Layout {
    /// A layout as wide as the `header`; `right` lists the columns aligned right (numbers).
    pub fn new(header: &[&str], right: &[usize]) -> Self {
        Layout {
            widths: header.iter().map(|h| text_width(h).0).collect(),
            right: right.to_vec(),
            multiline: header.iter().any(|h| text_width(h).1),
        }
    }

    /// Widens the columns to fit `cells`.
    pub fn measure(&mut self, cells: &Cells) {
        for (w, c) in self.widths.iter_mut().zip(&cells.0) {
            let (width, lines) = text_width(c);
            *w = (*w).max(width);
            self.multiline |= lines;
        }
    }

    /// Widens column `i` to `width` characters.
    pub fn widen(&mut self, i: usize, width: usize) {
        if let Some(w) = self.widths.get_mut(i) {
            *w = (*w).max(width);
        }
    }

    /// The top rule, the header and the rule under it.
    pub fn write_header<W: Write>(&self, out: &mut W, header: &[&str]) -> io::Result<()> {
        rule(out, &self.widths, '┌', '─', '┬', '┐')?;
        let header_cells: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        line(
            out,
            &self.widths,
            &self.right,
            &header_cells,
            self.multiline,
        )?;
        rule(out, &self.widths, '╞', '═', '╪', '╡')
    }

    /// One row.
    pub fn write_row<W: Write>(&self, out: &mut W, cells: &Cells) -> io::Result<()> {
        line(out, &self.widths, &self.right, &cells.0, self.multiline)
    }

    /// The bottom rule.
    pub fn write_footer<W: Write>(&self, out: &mut W) -> io::Result<()> {
        rule(out, &self.widths, '└', '─', '┴', '┘')
    }
}

impl Cells {
    /// `columns` empty cells.
    pub fn new(columns: usize) -> Self {
        Cells(vec![String::new(); columns])
    }

    /// The cells.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

fn rule<W: Write>(
    out: &mut W,
    widths: &[usize],
    left: char,
    fill: char,
    join: char,
    end: char,
) -> io::Result<()> {
    let mut s = String::new();
    s.push(left);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            s.push(join);
        }
        s.extend(std::iter::repeat_n(fill, w + 2));
    }
    s.push(end);
    writeln!(out, "{s}")
}

/// The width of a cell's text, its widest line in terminal columns (lines split at every
/// `\n`, each measured by [`display_width`], as comfy-table does), and whether it has more
/// than one line.
fn text_width(text: &str) -> (usize, bool) {
    let mut lines = text.split('\n');
    let first = lines.next().map_or(0, display_width);
    let (mut widest, mut more) = (first, false);
    for line in lines {
        widest = widest.max(display_width(line));
        more = true;
    }
    (widest, more)
}

/// The columns `line` takes on a terminal (a CJK character two, a combining mark none), as
/// comfy-table counts them.
fn display_width(line: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    // Nearly every cell is printable ASCII, a column a byte: counted without the tables'
    // lookups (every cell of `flows` is measured, and drawn).
    if line.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return line.len();
    }
    line.width()
}

/// One row: as many lines as its tallest cell (a cell's text may hold several), each cell's
/// lines padded to its column, shorter cells padded with empty lines.
fn line<W: Write>(
    out: &mut W,
    widths: &[usize],
    right: &[usize],
    cells: &[String],
    multiline: bool,
) -> io::Result<()> {
    // Rows of a layout that measured no multi-line cell (every `flows` row) are not split.
    let cells_used = cells
        .get(..cells.len().min(widths.len()))
        .unwrap_or_default();
    let height = if multiline {
        (cells_used.iter())
            .map(|c| c.split('\n').count())
            .max()
            .unwrap_or(1)
    } else {
        1
    };
    for at in 0..height {
        out.write_all("│".as_bytes())?;
        for (i, w) in widths.iter().enumerate() {
            if i > 0 {
                out.write_all("┆".as_bytes())?;
            }
            let cell = cells.get(i).map_or("", String::as_str);
            let text = if height == 1 {
                cell
            } else {
                cell.split('\n').nth(at).unwrap_or("")
            };
            // Padded by hand: `format!`'s padding writes a space at a time.
            let pad = w.saturating_sub(display_width(text));
            out.write_all(b" ")?;
            if right.contains(&i) {
                spaces(out, pad)?;
                out.write_all(text.as_bytes())?;
            } else {
                out.write_all(text.as_bytes())?;
                spaces(out, pad)?;
            }
            out.write_all(b" ")?;
        }
        out.write_all("│\n".as_bytes())?;
    }
    Ok(())
}

/// Writes `n` spaces.
fn spaces<W: Write>(out: &mut W, mut n: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    while n > 0 {
        let chunk = n.min(SPACES.len());
        out.write_all(&SPACES[..chunk])?;
        n -= chunk;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

    /// `rows` as a table: measured, then drawn.
    fn write_table<W: Write, R>(
        out: &mut W,
        header: &[&str],
        right: &[usize],
        rows: &[R],
        fill: impl Fn(&R, &mut Cells),
    ) -> io::Result<()> {
        let mut layout = Layout::new(header, right);
        let mut cells = Cells::new(header.len());
        for row in rows {
            fill(row, &mut cells);
            layout.measure(&cells);
        }
        layout.write_header(out, header)?;
        for row in rows {
            fill(row, &mut cells);
            layout.write_row(out, &cells)?;
        }
        layout.write_footer(out)
    }

    #[test]
    fn draws_what_comfy_table_draws() {
        let rows = [
            (1u32, "alpha", "→ x"),
            (12345, "b", ""),
            (7, "two\nlines, the second longer", "one"),
            (88, "x", "three\nlines\n← here"),
            // Wide characters (two columns each) and a combining accent (none): measured
            // and padded by display width, as comfy-table pads them.
            (3, "日本語", "ｗｉｄｅ\nnarrow"),
            (4, "cafe\u{301}", "x"),
        ];
        // Lines in the header, and only in the rows.
        for header in [
            ["n", "name", "arrow ←\nand a second line"],
            ["n", "name", "arrow ←"],
        ] {
            let mut ours = Vec::new();
            write_table(&mut ours, &header, &[0], &rows, |r, c| {
                c.set(0, r.0);
                c.set(1, r.1);
                c.set(2, r.2);
            })
            .unwrap();
            let mut theirs = Table::new();
            theirs
                .load_preset(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(header.to_vec());
            for r in &rows {
                theirs.add_row(vec![r.0.to_string(), r.1.to_string(), r.2.to_string()]);
            }
            if let Some(c) = theirs.column_mut(0) {
                c.set_cell_alignment(CellAlignment::Right);
            }
            assert_eq!(String::from_utf8(ours).unwrap(), format!("{theirs}\n"));
        }
    }

    #[test]
    fn an_empty_table_still_has_its_header() {
        let mut out = Vec::new();
        write_table(&mut out, &["a", "bb"], &[], &[] as &[u8], |_, _| {}).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.contains("│ a ┆ bb │"));
    }
}
