//! Docker-style `--format` templates: Go `text/template` syntax rendered
//! against Engine API JSON, with docker's template functions, Go's way of
//! printing values and Go's error messages.
//!
//! ```
//! use berth_cli::format::template::Template;
//! let t = Template::parse("{{.Id}} {{join .Config.Cmd \" \"}}").expect("valid template");
//! let data = serde_json::json!({"Id": "abc", "Config": {"Cmd": ["sh", "-c"]}});
//! assert_eq!(t.render(&data).expect("renders"), "abc sh -c");
//! ```

use std::fmt;
use std::sync::Arc;

use gotmpl::parse::{DefineNode, ListNode, Parser};
use gotmpl::{MissingKey, TemplateError, Value};

use super::ast::{self, site_func, Info};
use super::funcs::{self, Func, FuncError, PRINT};
use super::scan;
use super::value::to_value;

/// A template that failed to parse or to execute.
///
/// Both print as docker prints them, `template parsing error: ` followed by
/// Go's message: docker wraps execution errors in that same phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Go's parse error, e.g. `template: :1: function "foo" not defined`.
    #[error("template parsing error: {0}")]
    Parse(String),
    /// Go's execution error, e.g.
    /// `template: :1:2: executing "" at <.Foo.Bar>: map has no entry for key "Foo"`.
    #[error("template parsing error: {0}")]
    Exec(String),
}

impl FormatError {
    /// Go's own message, without docker's `template parsing error: ` prefix.
    pub fn go_message(&self) -> &str {
        match self {
            FormatError::Parse(m) | FormatError::Exec(m) => m,
        }
    }
}

/// The main body is installed as a named template and invoked from a
/// one-action stub, since the engine only accepts a main body from source.
const MAIN: &str = "__berth_main__";
/// Separates the fields of a Berth function's error while it travels through
/// the engine as a string.
const TAG: char = '\u{1f}';

/// A parsed `--format` template.
pub struct Template {
    rows: gotmpl::Template,
    header: gotmpl::Template,
    info: Arc<Info>,
    src: Arc<str>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("src", &self.src)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Parses a template; a missing key renders as `<no value>`.
    pub fn parse(src: &str) -> Result<Template, FormatError> {
        Template::build(src, false)
    }

    /// Parses a template whose missing keys are errors, as docker's
    /// `inspect` does when it renders the raw JSON (`missingkey=error`).
    pub fn parse_strict(src: &str) -> Result<Template, FormatError> {
        Template::build(src, true)
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.src
    }

    fn build(src: &str, strict: bool) -> Result<Template, FormatError> {
        // The engine's own parse reports syntax errors and duplicate
        // definitions; the tree is then taken from its parser to rewrite.
        gotmpl::Template::new("")
            .parse(src)
            .map_err(|e| parse_error(&e))?;
        let (mut main, mut defines) = Parser::new(src, "{{", "}}")
            .and_then(|p| p.parse())
            .map_err(|e| parse_error(&e))?;
        let structural = scan::check_structure(src);
        if let Some((offset, msg)) = structural
            .into_iter()
            .chain(ast::check(&main, &defines))
            .min_by_key(|e| e.0)
        {
            return Err(FormatError::Parse(format!(
                "template: :{}: {msg}",
                line_col(src, offset).0
            )));
        }
        let mut rewriter = ast::Rewriter::default();
        rewriter.tree("", &mut main);
        for d in &mut defines {
            rewriter.tree(&d.name, &mut d.body);
        }
        let info = Arc::new(rewriter.info);
        let missing = if strict {
            MissingKey::Error
        } else {
            MissingKey::Invalid
        };
        Ok(Template {
            rows: assemble(&main, &defines, &info, missing, funcs::basic)?,
            // The header is rendered against a map of strings where a
            // missing column simply has no value.
            header: assemble(&main, &defines, &info, MissingKey::Invalid, funcs::header)?,
            info,
            src: Arc::from(src),
        })
    }

    /// Renders the template against Engine API JSON.
    pub fn render(&self, data: &serde_json::Value) -> Result<String, FormatError> {
        self.render_value(&to_value(data))
    }

    pub(crate) fn render_value(&self, data: &Value) -> Result<String, FormatError> {
        self.rows
            .execute_to_string(data)
            .map_err(|e| self.exec_error(&e))
    }

    /// Renders the table header: the same template run against a map from
    /// field name to column title, with docker's header functions. Docker
    /// ignores errors here and keeps whatever was written before the error.
    pub fn render_header(&self, headers: &serde_json::Map<String, serde_json::Value>) -> String {
        let mut out = String::new();
        let data = to_value(&serde_json::Value::Object(headers.clone()));
        let _ignored = self.header.execute_fmt(&mut out, &data);
        out
    }

    /// Builds Go's execution error, pointing at the node that failed.
    fn exec_error(&self, e: &TemplateError) -> FormatError {
        let info = &self.info;
        let site_at = |i: usize| info.sites.get(i);
        let named = |name: &str| info.sites.iter().find(|s| s.name == name);
        let field = |key: &str| {
            info.fields
                .iter()
                .find(|f| f.fields.iter().any(|k| k == key))
        };
        let mut at: Option<(&str, usize, &str)> = None;
        let msg = match e {
            TemplateError::Exec(s) if decode(s).is_some() => {
                let (i, err) = decode(s).unwrap_or((usize::MAX, FuncError::Call(String::new())));
                let site = site_at(i);
                let name = site.map_or("", |s| s.name.as_str());
                match err {
                    FuncError::Arity { want, got } => {
                        at = site.map(|s| (s.tree.as_str(), s.ident, s.name.as_str()));
                        format!("wrong number of args for {name}: want {want} got {got}")
                    }
                    FuncError::Arg { index, msg } => {
                        // Go checks a piped-in final argument after the
                        // explicit ones, while still at the last of them.
                        at = site.map(|s| match s.args.get(index).or(s.args.last()) {
                            Some((pos, text)) => (s.tree.as_str(), *pos, text.as_str()),
                            None => (s.tree.as_str(), s.ident, s.name.as_str()),
                        });
                        msg
                    }
                    FuncError::Call(msg) => {
                        at = site.map(|s| (s.tree.as_str(), s.cmd.0, s.cmd.1.as_str()));
                        format!("error calling {name}: {msg}")
                    }
                }
            }
            TemplateError::MissingKey { key } => {
                at = field(key).map(|f| (f.tree.as_str(), f.pos, f.text.as_str()));
                format!("map has no entry for key {key:?}")
            }
            TemplateError::Exec(s) if s.starts_with("can't evaluate field ") => {
                let rest = &s["can't evaluate field ".len()..];
                let (key, ty) = rest.split_once(" in type ").unwrap_or((rest, ""));
                at = field(key).map(|f| (f.tree.as_str(), f.pos, f.text.as_str()));
                match ty {
                    // `uint` is how a JSON null travels (see value.rs).
                    "uint" => format!("nil pointer evaluating interface {{}}.{key}"),
                    "list" => format!("can't evaluate field {key} in type []interface {{}}"),
                    _ => s.clone(),
                }
            }
            TemplateError::ArgCount {
                name,
                expected,
                got,
            } => {
                at = named(name).map(|s| (s.tree.as_str(), s.ident, s.name.as_str()));
                format!("wrong number of args for {name}: want {expected} got {got}")
            }
            TemplateError::IndexOutOfRange { index } => {
                let site = named("index").or_else(|| named("slice"));
                at = site.map(|s| (s.tree.as_str(), s.cmd.0, s.cmd.1.as_str()));
                let name = site.map_or("index", |s| s.name.as_str());
                format!("error calling {name}: index out of range: {index}")
            }
            TemplateError::UndefinedTemplate(name) => {
                at = info
                    .templates
                    .iter()
                    .find(|t| &t.3 == name)
                    .map(|t| (t.0.as_str(), t.1, t.2.as_str()));
                format!("template {name:?} not defined")
            }
            TemplateError::NotIterable(ty) => format!("range can't iterate over {ty}"),
            TemplateError::RecursionLimit => "exceeded maximum template depth (100000)".into(),
            TemplateError::Exec(s) => s.clone(),
            other => other.to_string(),
        };
        FormatError::Exec(match at {
            Some((tree, pos, text)) => {
                let (line, col) = line_col(&self.src, pos);
                format!(
                    "template: :{line}:{col}: executing {tree:?} at <{}>: {msg}",
                    shorten(text)
                )
            }
            None => format!("template: : {msg}"),
        })
    }
}

/// Installs the functions (each Berth call site under its own name) and
/// the rewritten trees into an engine template.
fn assemble(
    main: &ListNode,
    defines: &[DefineNode],
    info: &Info,
    missing: MissingKey,
    pick: fn(&str) -> Option<Func>,
) -> Result<gotmpl::Template, FormatError> {
    let mut t = gotmpl::Template::new("").missing_key(missing);
    for name in funcs::NAMES.iter().chain([&PRINT]) {
        if let Some(f) = pick(name) {
            t = t.func(name, move |args| f(args).map_err(|e| encode(usize::MAX, e)));
        }
    }
    for (i, site) in info.sites.iter().enumerate() {
        if let Some(f) = funcs::NAMES
            .contains(&site.name.as_str())
            .then(|| pick(&site.name))
            .flatten()
        {
            t = t.func(&site_func(i), move |args| f(args).map_err(|e| encode(i, e)));
        }
    }
    let stub = format!("{{{{template \"{MAIN}\" .}}}}");
    let mut t = t
        .parse(&stub)
        .map_err(|e| FormatError::Parse(e.to_string()))?;
    t = t.add_parse_tree(MAIN, main.clone());
    for d in defines {
        t = t.add_parse_tree(&d.name, d.body.clone());
    }
    Ok(t)
}

fn encode(site: usize, e: FuncError) -> TemplateError {
    let (kind, arg, msg) = match e {
        FuncError::Arity { want, got } => ('A', want, got.to_string()),
        FuncError::Arg { index, msg } => ('V', index, msg),
        FuncError::Call(msg) => ('C', 0, msg),
    };
    TemplateError::Exec(format!("{TAG}{site}{TAG}{kind}{TAG}{arg}{TAG}{msg}"))
}

fn decode(s: &str) -> Option<(usize, FuncError)> {
    let mut parts = s.strip_prefix(TAG)?.splitn(4, TAG);
    let site = parts.next()?.parse().ok()?;
    let kind = parts.next()?;
    let arg: usize = parts.next()?.parse().ok()?;
    let msg = parts.next()?.to_string();
    Some((
        site,
        match kind {
            "A" => FuncError::Arity {
                want: arg,
                got: msg.parse().ok()?,
            },
            "V" => FuncError::Arg { index: arg, msg },
            _ => FuncError::Call(msg),
        },
    ))
}

/// Go's parse errors name the line only: `template: :3: <message>`.
fn parse_error(e: &TemplateError) -> FormatError {
    FormatError::Parse(match e {
        TemplateError::Parse { line, message, .. } | TemplateError::Lex { line, message, .. } => {
            format!("template: :{}: {message}", (*line).max(1))
        }
        other => format!("template: : {other}"),
    })
}

/// Go's error location: 1-based line, 0-based byte column.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src.as_bytes()[..offset.min(src.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => before.len() - nl - 1,
        None => before.len(),
    };
    (line, col)
}

/// Go cuts the node text in an error: over 20 bytes, it keeps 20 characters.
fn shorten(text: &str) -> String {
    if text.len() > 20 {
        format!("{}...", text.chars().take(20).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
