//! Go's `text/tabwriter` (as vendored by docker, which measures cells in
//! terminal columns): aligns tab-terminated cells into columns.
//!
//! Cells are terminated by `\t` (or `\v`); lines by `\n` (or `\f`, which also
//! ends every column). Alignment is per *column block*: a column is only as
//! wide as its widest cell among the consecutive lines that have a cell in
//! that column, so a line with fewer cells starts new blocks below it. The
//! last cell of a line is not part of any column and is never padded.

use super::width::str_width;

/// Writer settings, as the arguments of Go's `tabwriter.NewWriter` (with no
/// flags: left-aligned, no HTML filtering, empty columns kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabWriter {
    /// Minimal cell width, padding included.
    pub minwidth: usize,
    /// Width of a tab when padding with tabs.
    pub tabwidth: usize,
    /// Added to a cell's width before taking the column's maximum.
    pub padding: usize,
    /// Pad character; `'\t'` pads with tabs of `tabwidth` columns.
    pub padchar: char,
}

/// A cell: its text and display width. (Go also records whether a `\t`
/// ended it, which only matters for flags docker does not use.)
struct Cell<'a> {
    text: &'a str,
    width: usize,
}

impl TabWriter {
    /// The table layout of every docker list command:
    /// `tabwriter.NewWriter(output, 10, 1, 3, ' ', 0)`.
    pub const DOCKER: TabWriter = TabWriter {
        minwidth: 10,
        tabwidth: 1,
        padding: 3,
        padchar: ' ',
    };

    /// Formats all of `input`, as writing it to a Go tabwriter and flushing.
    pub fn format(&self, input: &str) -> String {
        let mut out = String::new();
        let mut lines: Vec<Vec<Cell<'_>>> = vec![Vec::new()];
        let mut start = 0;
        for (i, ch) in input.char_indices() {
            if !matches!(ch, '\t' | '\u{b}' | '\n' | '\u{c}') {
                continue;
            }
            let text = &input[start..i];
            start = i + 1; // all terminators are one byte
            let line = lines.last_mut();
            let ncells = line.map_or(0, |line| {
                line.push(Cell {
                    text,
                    width: str_width(text),
                });
                line.len()
            });
            if ch == '\n' || ch == '\u{c}' {
                lines.push(Vec::new());
                // Go flushes on a form feed, and after a one-cell line: such
                // a line ends every column block anyway.
                if ch == '\u{c}' || ncells == 1 {
                    self.format_lines(&mut out, &lines, &mut Vec::new(), 0, lines.len());
                    lines = vec![Vec::new()];
                }
            }
        }
        // Flush: text after the last terminator forms a final cell.
        let text = &input[start..];
        if let (false, Some(line)) = (text.is_empty(), lines.last_mut()) {
            line.push(Cell {
                text,
                width: str_width(text),
            });
        }
        self.format_lines(&mut out, &lines, &mut Vec::new(), 0, lines.len());
        out
    }

    /// Go's `format`: finds the column blocks of column `widths.len()`
    /// between `line0` and `line1`, and formats each with its width pushed.
    fn format_lines(
        &self,
        out: &mut String,
        lines: &[Vec<Cell<'_>>],
        widths: &mut Vec<usize>,
        mut line0: usize,
        line1: usize,
    ) {
        let column = widths.len();
        // A line has a cell in this column if the column is not its last cell.
        let has_column = |this: usize| column + 1 < lines[this].len();
        let mut this = line0;
        while this < line1 {
            if !has_column(this) {
                this += 1;
                continue;
            }
            // Print the lines before the block, then size the block.
            self.write_lines(out, lines, widths, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && has_column(this) {
                width = width.max(lines[this][column].width + self.padding);
                this += 1;
            }
            // Format the columns to the right within this block.
            widths.push(width);
            self.format_lines(out, lines, widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(out, lines, widths, line0, line1);
    }

    fn write_lines(
        &self,
        out: &mut String,
        lines: &[Vec<Cell<'_>>],
        widths: &[usize],
        line0: usize,
        line1: usize,
    ) {
        for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
            for (j, cell) in line.iter().enumerate() {
                out.push_str(cell.text);
                if let Some(&w) = widths.get(j) {
                    self.pad(out, cell.width, w);
                }
            }
            // The last buffered line has no newline of its own.
            if i + 1 < lines.len() {
                out.push('\n');
            }
        }
    }

    fn pad(&self, out: &mut String, textw: usize, cellw: usize) {
        if self.padchar == '\t' {
            if self.tabwidth == 0 {
                return; // tabs have no width: no padding possible
            }
            let cellw = cellw.div_ceil(self.tabwidth) * self.tabwidth;
            let n = cellw.saturating_sub(textw);
            out.extend(std::iter::repeat_n('\t', n.div_ceil(self.tabwidth)));
        } else {
            out.extend(std::iter::repeat_n(
                self.padchar,
                cellw.saturating_sub(textw),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(s: &str) -> String {
        TabWriter::DOCKER.format(s)
    }

    #[test]
    fn docker_table() {
        assert_eq!(
            docker("CONTAINER ID\tIMAGE\tNAMES\nabc\tnginx\tweb\n"),
            "CONTAINER ID   IMAGE     NAMES\nabc            nginx     web\n"
        );
        assert_eq!(
            docker("REPOSITORY\tTAG\tIMAGE ID\nalpine\tlatest\t4f2a9e0c1b7d\nverylongrepositoryname\t3.19\tabc\n"),
            "REPOSITORY               TAG       IMAGE ID\n\
             alpine                   latest    4f2a9e0c1b7d\n\
             verylongrepositoryname   3.19      abc\n"
        );
        // A lone header with no rows.
        assert_eq!(docker("VOLUME NAME\tDRIVER\n"), "VOLUME NAME   DRIVER\n");
        assert_eq!(docker(""), "");
        assert_eq!(docker("\n"), "\n");
    }

    #[test]
    fn column_blocks() {
        // Go's documentation example: b and c are in different columns.
        let w = TabWriter {
            minwidth: 0,
            tabwidth: 8,
            padding: 1,
            padchar: '.',
        };
        assert_eq!(
            w.format("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n"),
            "aaaa.bbb.d\naa...b...dd\na....\naa...cccc.eee\n"
        );
        // A line without tabs ends every block.
        assert_eq!(
            docker("a\tb\nxxxxxxxxxxxxxxx\nccc\td\n"),
            "a         b\nxxxxxxxxxxxxxxx\nccc       d\n"
        );
        // A form feed ends the blocks too, and prints as a newline.
        assert_eq!(
            docker("a\tb\u{c}ccccccccccccc\td\n"),
            "a         b\nccccccccccccc   d\n"
        );
        // Blocks of an inner column are nested in the outer column's block.
        assert_eq!(
            docker("a\tb\tc\naaaaaaaaaaaaa\tb\nx\tyyyyyyyyyyyyyyy\tz\n"),
            format!(
                "a{}b{}c\naaaaaaaaaaaaa{}b\nx{}yyyyyyyyyyyyyyy{}z\n",
                " ".repeat(15),
                " ".repeat(9),
                " ".repeat(3),
                " ".repeat(15),
                " ".repeat(3)
            )
        );
    }

    #[test]
    fn padding_rules() {
        // The last cell is never padded; a tab-terminated one is.
        assert_eq!(docker("a\tb\t\n"), "a         b         \n");
        // Empty cells are padded like any other.
        assert_eq!(docker("\tb\nx\ty\n"), "          b\nx         y\n");
        // Text after the last newline is flushed without a newline.
        assert_eq!(docker("a\tb"), "a         b");
        // Wide characters take two columns.
        assert_eq!(docker("日本\tx\nab\ty\n"), "日本      x\nab        y\n");
        // A soft tab (\v) terminates a cell like \t.
        assert_eq!(docker("a\u{b}b\n"), "a         b\n");
    }

    #[test]
    fn tab_padding() {
        let w = TabWriter {
            minwidth: 0,
            tabwidth: 8,
            padding: 1,
            padchar: '\t',
        };
        assert_eq!(w.format("a\tb\naaaaaaaaa\tc\n"), "a\t\tb\naaaaaaaaa\tc\n");
        let none = TabWriter {
            minwidth: 0,
            tabwidth: 0,
            padding: 1,
            padchar: '\t',
        };
        assert_eq!(none.format("a\tb\n"), "ab\n");
    }
}
