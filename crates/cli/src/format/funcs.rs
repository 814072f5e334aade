//! The functions docker adds to `--format` templates (`json`, `split`,
//! `join`, `title`, `lower`, `upper`, `pad`, `truncate`), the pass-through
//! variants docker swaps in while rendering a table header, and Go-style
//! `print` / `println` plus the hidden printer every `{{...}}` action ends in.
//!
//! Argument checks follow Go's template engine, which checks a typed Go
//! function's arity and argument types before calling it; the messages are
//! Go's so that errors read as docker's do.

use std::sync::Arc;

use gotmpl::Value;

use super::gojson;
use super::value::{go_sprint, is_null};

/// Name of the hidden function appended to every printing action, so the
/// action's value is printed the way Go prints it (see [`go_sprint`]).
pub(crate) const PRINT: &str = "__berth_print";

/// Functions defined on top of the template engine's built-ins. `print`,
/// `println` and `len` replace the built-ins so that values print in Go's
/// style and a JSON `null` counts as an empty (nil) slice.
pub(crate) const NAMES: &[&str] = &[
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate", "print", "println",
    "len",
];

/// Go's own template built-ins, known to the engine.
pub(crate) const BUILTINS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// How a call failed, so the caller can point at the right node the way Go
/// does: arity at the function name, a bad argument at that argument, and
/// anything else at the whole command as `error calling NAME: ...`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FuncError {
    Arity { want: usize, got: usize },
    Arg { index: usize, msg: String },
    Call(String),
}

pub(crate) type Func = fn(&[Value]) -> Result<Value, FuncError>;

/// The function used for rows.
pub(crate) fn basic(name: &str) -> Option<Func> {
    Some(match name {
        "json" => json,
        "split" => split,
        "join" => join,
        "title" => |a: &[Value]| map_str(a, title),
        "lower" => |a: &[Value]| map_str(a, |s| s.chars().map(lower_char).collect()),
        "upper" => |a: &[Value]| map_str(a, |s| s.chars().map(upper_char).collect()),
        "pad" => pad,
        "truncate" => truncate,
        "print" => print,
        "len" => len,
        "println" => println,
        PRINT => |a: &[Value]| Ok(str_value(go_sprint(a.first().unwrap_or(&Value::Nil), true))),
        _ => return None,
    })
}

/// The function used for the header line: docker keeps header text intact
/// by swapping in identity functions with string parameters, except `pad`
/// (so headers stay aligned with padded columns) and the printers.
pub(crate) fn header(name: &str) -> Option<Func> {
    Some(match name {
        "json" | "title" | "lower" | "upper" => |a: &[Value]| {
            arity(a, 1)?;
            Ok(str_value(want_str(a, 0)?.to_string()))
        },
        "split" | "join" => |a: &[Value]| {
            arity(a, 2)?;
            want_str(a, 1)?;
            Ok(str_value(want_str(a, 0)?.to_string()))
        },
        "truncate" => |a: &[Value]| {
            arity(a, 2)?;
            want_int(a, 1)?;
            Ok(str_value(want_str(a, 0)?.to_string()))
        },
        other => return basic(other),
    })
}

fn str_value(s: String) -> Value {
    Value::String(Arc::from(s))
}

/// Go's name for a value's type, as used in its error messages.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        v if is_null(v) => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        _ => "func",
    }
}

fn arity(args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() == want {
        Ok(())
    } else {
        Err(FuncError::Arity {
            want,
            got: args.len(),
        })
    }
}

fn want_str(args: &[Value], index: usize) -> Result<&str, FuncError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Nil) | None => Err(FuncError::Arg {
            index,
            msg: "invalid value; expected string".into(),
        }),
        Some(v) if is_null(v) => Err(FuncError::Arg {
            index,
            msg: "invalid value; expected string".into(),
        }),
        Some(v) => Err(FuncError::Arg {
            index,
            msg: format!("wrong type for value; expected string; got {}", go_type(v)),
        }),
    }
}

fn want_int(args: &[Value], index: usize) -> Result<i64, FuncError> {
    match args.get(index) {
        Some(Value::Int(n)) => Ok(*n),
        Some(v @ Value::Uint(n)) if !is_null(v) => i64::try_from(*n).map_err(|_| FuncError::Arg {
            index,
            msg: format!("{n} overflows int"),
        }),
        Some(Value::Nil) | None => Err(FuncError::Arg {
            index,
            msg: "invalid value; expected int".into(),
        }),
        Some(v) => Err(FuncError::Arg {
            index,
            msg: format!("wrong type for value; expected int; got {}", go_type(v)),
        }),
    }
}

fn map_str(args: &[Value], f: impl Fn(&str) -> String) -> Result<Value, FuncError> {
    arity(args, 1)?;
    Ok(str_value(f(want_str(args, 0)?)))
}

/// `json`: compact JSON without HTML escaping, no trailing newline.
fn json(args: &[Value]) -> Result<Value, FuncError> {
    arity(args, 1)?;
    // Go's encoder fails on a function and docker then prints nothing.
    Ok(str_value(
        gojson::template_value(&args[0]).unwrap_or_default(),
    ))
}

/// `split`: Go's `strings.Split`.
fn split(args: &[Value]) -> Result<Value, FuncError> {
    arity(args, 2)?;
    let (s, sep) = (want_str(args, 0)?, want_str(args, 1)?);
    let parts: Vec<Value> = if sep.is_empty() {
        // An empty separator splits after each UTF-8 sequence; "" gives [].
        s.chars().map(|c| str_value(c.to_string())).collect()
    } else {
        s.split(sep).map(|p| str_value(p.to_string())).collect()
    };
    Ok(Value::List(parts.into()))
}

/// `join`: Go's `strings.Join`. Docker's typed data hands it `[]string`;
/// elements that are not strings are printed as Go prints them rather than
/// rejected, since JSON data carries no element type.
fn join(args: &[Value]) -> Result<Value, FuncError> {
    arity(args, 2)?;
    let sep = want_str(args, 1)?;
    let items: Vec<String> = match &args[0] {
        Value::List(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.to_string(),
                other => go_sprint(other, false),
            })
            .collect(),
        // A nil slice joins to "".
        v if matches!(v, Value::Nil) || is_null(v) => Vec::new(),
        other => {
            return Err(FuncError::Arg {
                index: 0,
                msg: format!(
                    "wrong type for value; expected []string; got {}",
                    go_type(other)
                ),
            })
        }
    };
    Ok(str_value(items.join(sep)))
}

/// `pad`: adds spaces around a non-empty string.
fn pad(args: &[Value]) -> Result<Value, FuncError> {
    arity(args, 3)?;
    let s = want_str(args, 0)?;
    let (left, right) = (want_int(args, 1)?, want_int(args, 2)?);
    if s.is_empty() {
        return Ok(str_value(String::new()));
    }
    let (Ok(left), Ok(right)) = (usize::try_from(left), usize::try_from(right)) else {
        return Err(FuncError::Call("strings: negative Repeat count".into()));
    };
    Ok(str_value(format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(right)
    )))
}

/// `truncate`: keeps the first `n` bytes. Go may cut inside a UTF-8
/// sequence; a Rust string cannot hold that, so the cut moves back to the
/// previous character boundary.
fn truncate(args: &[Value]) -> Result<Value, FuncError> {
    arity(args, 2)?;
    let s = want_str(args, 0)?;
    let n = want_int(args, 1)?;
    if (s.len() as i64) < n {
        return Ok(str_value(s.to_string()));
    }
    let Ok(mut n) = usize::try_from(n) else {
        return Err(FuncError::Call(format!(
            "runtime error: slice bounds out of range [:{n}]"
        )));
    };
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    Ok(str_value(s[..n].to_string()))
}

/// `len`: Go's builtin. A JSON `null` stands for a nil slice or map in
/// docker's typed objects, whose length is 0.
fn len(args: &[Value]) -> Result<Value, FuncError> {
    arity(args, 1)?;
    let n = match &args[0] {
        Value::String(s) => s.len(),
        Value::List(items) => items.len(),
        Value::Map(map) => map.len(),
        v if is_null(v) => 0,
        Value::Nil => return Err(FuncError::Call("len of nil pointer".into())),
        other => return Err(FuncError::Call(format!("len of type {}", go_type(other)))),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// `print`: Go's `fmt.Sprint`, a space only between two non-string operands.
fn print(args: &[Value]) -> Result<Value, FuncError> {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&go_sprint(arg, false));
        prev_string = is_string;
    }
    Ok(str_value(out))
}

/// `println`: Go's `fmt.Sprintln`, spaces between all operands and a newline.
fn println(args: &[Value]) -> Result<Value, FuncError> {
    let out: Vec<String> = args.iter().map(|a| go_sprint(a, false)).collect();
    Ok(str_value(out.join(" ") + "\n"))
}

/// Go's `strings.Title`: upper-cases (title-cases) the first letter of each
/// word, a word starting after anything but a letter, digit or underscore.
fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_char(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go maps case rune by rune; a mapping to several characters (`ß` → `SS`)
/// has no single-rune form in Go and leaves the rune unchanged.
fn upper_char(c: char) -> char {
    single(c.to_uppercase()).unwrap_or(c)
}

fn lower_char(c: char) -> char {
    match c {
        '\u{130}' => 'i', // Go's simple lower-case mapping of 'İ'
        c => single(c.to_lowercase()).unwrap_or(c),
    }
}

fn title_char(c: char) -> char {
    match c {
        // The digraphs are the letters whose title case is not upper case.
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        c => upper_char(c),
    }
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

#[cfg(test)]
#[path = "funcs_tests.rs"]
mod tests;
