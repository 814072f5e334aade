//! Output formatting shared by every berth command, as docker's CLI does it:
//! the `--format` flag of list commands (default table, custom
//! `table ...` columns, raw templates, `json` lines), templates over single
//! objects (`inspect --format`), inspect's indented JSON, and the unit
//! helpers (sizes, durations, short IDs) used to fill table cells.
//!
//! ```
//! use berth_cli::format::{render_list, Format};
//! let headers = serde_json::json!({"ID": "IMAGE ID", "Repository": "REPOSITORY"});
//! let rows = [serde_json::json!({"ID": "4f2a9e0c1b7d", "Repository": "alpine"})];
//! let out = render_list(
//!     &Format::parse(None),
//!     "table {{.Repository}}\t{{.ID}}",
//!     headers.as_object().expect("object"),
//!     &rows,
//!     None,
//! )
//! .expect("renders");
//! assert_eq!(out, "REPOSITORY   IMAGE ID\nalpine       4f2a9e0c1b7d\n");
//! ```

pub mod tabwriter;
pub mod template;
pub mod units;

mod ast;
mod funcs;
mod gojson;
mod scan;
mod value;
mod width;

pub use tabwriter::TabWriter;
pub use template::{FormatError, Template};

/// The `--format` flag of a list command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// A table: the command's default columns (`None`), or the template
    /// that followed the word `table`.
    Table(Option<String>),
    /// A template rendered once per row, without header or alignment.
    Raw(String),
    /// `json`: one JSON object per row and line.
    Json,
}

impl Format {
    /// Parses the flag value as docker does: absent, empty or `table` is the
    /// default table; anything starting with `table` is a table with the
    /// rest as its template; `json` is JSON lines; anything else is a raw
    /// template. Templates are trimmed of spaces and their `\t` and `\n`
    /// escapes (as typed in a shell) become a tab and a newline.
    pub fn parse(flag: Option<&str>) -> Format {
        match flag.unwrap_or("") {
            "" | "table" => Format::Table(None),
            "json" => Format::Json,
            f => match f.strip_prefix("table") {
                Some(rest) => Format::Table(Some(prepare(rest))),
                None => Format::Raw(prepare(f)),
            },
        }
    }

    /// Whether the output is a table with a header.
    pub fn is_table(&self) -> bool {
        matches!(self, Format::Table(_))
    }
}

/// Docker's `preFormat`: trims spaces and expands the `\t` / `\n` escapes.
fn prepare(template: &str) -> String {
    template
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n")
}

/// Renders a list command's output.
///
/// * `default_table`: the command's default columns, with or without the
///   leading `table` (e.g. `"table {{.ID}}\t{{.Image}}"`).
/// * `headers`: column titles by field name (`{"ID": "CONTAINER ID"}`); the
///   header line is the row template rendered against this map, with
///   docker's header functions, exactly as docker derives it.
/// * `quiet`: the template `-q` uses instead of the default table
///   (`{{.ID}}`, or `{{.Name}}` for volumes); docker ignores `-q` when a
///   custom format is given. Commands where `-q` overrides a custom format
///   (`ps`) pass `Format::Raw` themselves.
///
/// A table goes through docker's tab writer (minwidth 10, padding 3); raw
/// and JSON output is one line per row. An error in any row fails the whole
/// output, as docker prints nothing then.
pub fn render_list(
    format: &Format,
    default_table: &str,
    headers: &serde_json::Map<String, serde_json::Value>,
    rows: &[serde_json::Value],
    quiet: Option<&str>,
) -> Result<String, FormatError> {
    let (source, table) = match (format, quiet) {
        (Format::Json, _) => {
            // Docker marshals each row as a map: keys come out sorted.
            return Ok(rows
                .iter()
                .map(|r| gojson::compact_sorted(r) + "\n")
                .collect());
        }
        (Format::Table(None), Some(q)) => (prepare(q), false),
        (Format::Table(None), None) => (
            prepare(default_table.strip_prefix("table").unwrap_or(default_table)),
            true,
        ),
        (Format::Table(Some(t)), _) => (t.clone(), true),
        (Format::Raw(t), _) => (t.clone(), false),
    };
    let template = Template::parse(&source)?;
    let mut out = String::new();
    for row in rows {
        out.push_str(&template.render(row)?);
        out.push('\n');
    }
    if !table {
        return Ok(out);
    }
    let mut text = template.render_header(headers);
    text.push('\n');
    text.push_str(&out);
    Ok(TabWriter::DOCKER.format(&text))
}

/// What rendering a template over several objects produced: the output,
/// and the errors of the objects that failed (docker prints the output,
/// then the errors, and exits with status 1 if there were any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Text for standard output.
    pub out: String,
    /// One error per object that could not be rendered.
    pub errors: Vec<FormatError>,
}

/// Renders `template` once per value, each followed by a newline; a value
/// that fails is skipped and its error kept. As in docker, output that
/// would be empty is a single newline.
pub fn render_each(template: &Template, values: &[serde_json::Value]) -> Rendered {
    let mut rendered = Rendered::default();
    for v in values {
        match template.render(v) {
            Ok(s) => {
                rendered.out.push_str(&s);
                rendered.out.push('\n');
            }
            Err(e) => rendered.errors.push(e),
        }
    }
    if rendered.out.is_empty() {
        rendered.out.push('\n');
    }
    rendered
}

/// `docker inspect`'s output for its `--format` value: none or empty gives
/// the indented JSON array, `json` the compact array, anything else a
/// template per object. Unlike list commands, the template is used as given
/// (no `\t` expansion), and a missing key is an error, as when docker
/// renders the raw JSON. A template that does not parse is an error for the
/// whole command (docker exits with status 64).
pub fn render_inspect(
    format: Option<&str>,
    values: &[serde_json::Value],
) -> Result<Rendered, FormatError> {
    let out = match format.unwrap_or("") {
        "" => inspect_json(values),
        "json" => inspect_json_compact(values),
        f => return Ok(render_each(&Template::parse_strict(f)?, values)),
    };
    Ok(Rendered {
        out,
        errors: Vec::new(),
    })
}

/// Docker inspect's default output: the objects as a JSON array indented
/// with four spaces, plus a newline (`[]` when empty). HTML characters are
/// not escaped, as the daemon's JSON does not escape them; keys keep the
/// order of the values.
pub fn inspect_json(values: &[serde_json::Value]) -> String {
    gojson::indent(&serde_json::Value::Array(values.to_vec()), "    ") + "\n"
}

/// `docker inspect --format json`: the same array, compact.
pub fn inspect_json_compact(values: &[serde_json::Value]) -> String {
    gojson::compact(&serde_json::Value::Array(values.to_vec())) + "\n"
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
