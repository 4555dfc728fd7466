//! A table writer for tables with very many rows (one per connection of a capture).
//!
//! comfy-table keeps every cell as a `String` until it prints: on a capture with a million
//! connections that is gigabytes. This writer formats each row twice instead — once to
//! measure the columns, once to print — into one reused set of buffers, so the memory is the
//! rows' source data only. The drawing matches comfy-table's `UTF8_FULL_CONDENSED` preset that
//! the other tables use.

use std::fmt::Write as _;
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

    /// Writes `value` into cell `i`.
    pub fn set(&mut self, i: usize, value: impl std::fmt::Display) {
        let _ = write!(self.cell(i), "{value}");
    }
}

/// Writes `rows` as an aligned table: `header` names the columns, `right` lists the columns
/// aligned right (numbers), and `fill` writes one row's cells.
pub fn write_table<W: Write, R>(
    out: &mut W,
    header: &[&str],
    right: &[usize],
    rows: &[R],
    mut fill: impl FnMut(&R, &mut Cells),
) -> io::Result<()> {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    let mut cells = Cells(vec![String::new(); columns]);
    for row in rows {
        fill(row, &mut cells);
        for (w, c) in widths.iter_mut().zip(&cells.0) {
            *w = (*w).max(c.chars().count());
        }
    }
    rule(out, &widths, '┌', '─', '┬', '┐')?;
    let header_cells: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    line(out, &widths, right, &header_cells)?;
    rule(out, &widths, '╞', '═', '╪', '╡')?;
    for row in rows {
        fill(row, &mut cells);
        line(out, &widths, right, &cells.0)?;
    }
    rule(out, &widths, '└', '─', '┴', '┘')
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
        s.extend(std::iter::repeat(fill).take(w + 2));
    }
    s.push(end);
    writeln!(out, "{s}")
}

fn line<W: Write>(
    out: &mut W,
    widths: &[usize],
    right: &[usize],
    cells: &[String],
) -> io::Result<()> {
    out.write_all("│".as_bytes())?;
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            out.write_all("┆".as_bytes())?;
        }
        let text = cells.get(i).map(String::as_str).unwrap_or("");
        if right.contains(&i) {
            write!(out, " {text:>w$} ")?;
        } else {
            write!(out, " {text:<w$} ")?;
        }
    }
    out.write_all("│\n".as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

    #[test]
    fn draws_what_comfy_table_draws() {
        let rows = [(1u32, "alpha", "→ x"), (12345, "b", "")];
        let header = ["n", "name", "arrow ←"];
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

    #[test]
    fn an_empty_table_still_has_its_header() {
        let mut out = Vec::new();
        write_table(&mut out, &["a", "bb"], &[], &[] as &[u8], |_, _| {}).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.contains("│ a ┆ bb │"));
    }
}
