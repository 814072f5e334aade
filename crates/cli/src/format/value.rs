//! Template data for `--format`: turns Engine API JSON into template values
//! and prints values exactly as Go's `fmt` does (`%v`), so that
//! `{{.Config.Cmd}}` shows `[sh -c echo]` and `{{.Labels}}` shows `map[a:b]`.
//!
//! A JSON `null` must print as `<nil>` while a missing key prints
//! `<no value>`. The template engine folds both into one "nil" value, so a
//! `null` is carried as [`NULL`], a value that no JSON input can otherwise
//! produce (see [`to_value`]) and that is falsy like Go's nil.

use std::sync::Arc;

use gotmpl::Value;

/// The stand-in for a JSON `null`. `Uint(0)` is never produced for real data
/// (every integer that fits `i64` becomes `Int`), it is falsy, and ranging
/// over it iterates zero times, all of which is how Go treats a nil value.
pub(crate) const NULL: Value = Value::Uint(0);

/// Reports whether `v` is the JSON `null` stand-in.
pub(crate) fn is_null(v: &Value) -> bool {
    matches!(v, Value::Uint(0))
}

/// Converts Engine API JSON into a template value.
///
/// Numbers keep Go's look: integers (and floats with an integral value, as
/// Go's JSON decoding with `UseNumber` keeps their literal form) become
/// integers so they print without `.0`.
pub fn to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => NULL,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Uint(u)
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                // i64::MIN..2^63 is exactly representable; outside it the
                // float keeps its own (Go-formatted) spelling.
                if f.fract() == 0.0
                    && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
                {
                    Value::Int(f as i64)
                } else {
                    Value::Float(f)
                }
            }
        }
        serde_json::Value::String(s) => Value::String(Arc::from(s.as_str())),
        serde_json::Value::Array(items) => Value::List(items.iter().map(to_value).collect()),
        serde_json::Value::Object(map) => Value::Map(Arc::new(
            map.iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_value(v)))
                .collect(),
        )),
    }
}

/// Prints a value as Go's `fmt.Sprint` would (`%v`).
///
/// `top` is true for the value of a whole `{{...}}` action: there a missing
/// value prints `<no value>` (Go's template engine), while inside a slice or
/// map, and for `null` everywhere, it prints `<nil>` (Go's `fmt`).
pub fn go_sprint(v: &Value, top: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, v, top);
    out
}

fn write_value(out: &mut String, v: &Value, top: bool) {
    match v {
        Value::Nil if top => out.push_str("<no value>"),
        Value::Nil => out.push_str("<nil>"),
        v if is_null(v) => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_float(*f)),
        Value::String(s) => out.push_str(s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item, false);
            }
            out.push(']');
        }
        Value::Map(map) => {
            // BTreeMap iteration is sorted, as Go's fmt sorts map keys.
            out.push_str("map[");
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, item, false);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Splits a float into its shortest round-trip decimal digits (no dot, no
/// sign, no trailing zeros) and the decimal exponent of the first digit.
fn shortest_digits(f: f64) -> (String, i32) {
    split_exp(&format!("{:e}", f.abs()))
}

/// Parses Rust's `{:e}` output (`d.ddde-7`) into digits and exponent.
fn split_exp(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp.parse().unwrap_or(0))
}

/// Lays digits out as Go's `%e` does: `d.ddde+XX`, exponent of at least
/// two digits.
fn layout_exp(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::from(if neg { "-" } else { "" });
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push_str(&format!(
        "e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    ));
    out
}

/// Lays digits out as Go's `%f` without trailing zeros.
fn layout_fixed(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::from(if neg { "-" } else { "" });
    let dp = exp + 1; // digits before the decimal point
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(dp.unsigned_abs() as usize));
        out.push_str(digits);
    } else if dp as usize >= digits.len() {
        out.push_str(digits);
        out.push_str(&"0".repeat(dp as usize - digits.len()));
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else if f == 0.0 {
        Some(if f.is_sign_negative() { "-0" } else { "0" }.into())
    } else {
        None
    }
}

/// Go's `%v` for a float64: `%g` with the shortest precision, which takes
/// the exponent form below 1e-04 and from 1e+06 on.
pub fn go_float(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let (digits, exp) = shortest_digits(f);
    if !(-4..6).contains(&exp) {
        layout_exp(f < 0.0, &digits, exp)
    } else {
        layout_fixed(f < 0.0, &digits, exp)
    }
}

/// Go's JSON spelling of a float64: shortest digits, exponent form only
/// below 1e-6 or from 1e21 on, exponent without zero padding (`1e-7`).
pub fn go_json_float(f: f64) -> String {
    if let Some(s) = special(f) {
        // JSON has no NaN/Inf; Go refuses to encode them. Print a zero so
        // the output stays valid JSON.
        return if f.is_finite() { s } else { "0".into() };
    }
    let (digits, exp) = shortest_digits(f);
    let a = f.abs();
    if !(1e-6..1e21).contains(&a) {
        let mut s = layout_exp(f < 0.0, &digits, exp);
        // Go trims the zero padding of a negative exponent: e-07 -> e-7.
        if let Some(pos) = s.find("e-0") {
            s.remove(pos + 2);
        }
        s
    } else {
        layout_fixed(f < 0.0, &digits, exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(j: serde_json::Value) -> String {
        go_sprint(&to_value(&j), true)
    }

    #[test]
    fn prints_like_go() {
        assert_eq!(p(json!(["sh", "-c", "echo"])), "[sh -c echo]");
        assert_eq!(p(json!({"c": "d", "a": "b"})), "map[a:b c:d]");
        assert_eq!(p(json!(null)), "<nil>");
        assert_eq!(p(json!([1, null, "x", true])), "[1 <nil> x true]");
        assert_eq!(
            p(json!({"a": null, "b": [1, {"z": 2}]})),
            "map[a:<nil> b:[1 map[z:2]]]"
        );
        assert_eq!(p(json!([])), "[]");
        assert_eq!(p(json!({})), "map[]");
        assert_eq!(p(json!(12)), "12");
        assert_eq!(p(json!(-12)), "-12");
        assert_eq!(p(json!(12.0)), "12");
        assert_eq!(p(json!(1.5)), "1.5");
        assert_eq!(p(json!(u64::MAX)), "18446744073709551615");
        assert_eq!(p(json!(false)), "false");
        assert_eq!(go_sprint(&Value::Nil, true), "<no value>");
        assert_eq!(go_sprint(&Value::Nil, false), "<nil>");
    }

    #[test]
    fn floats_like_go_v() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(123456.7), "123456.7");
        assert_eq!(go_float(1234567.5), "1.2345675e+06");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5e-10), "-2.5e-10");
        assert_eq!(go_float(1e100), "1e+100");
        assert_eq!(go_float(0.0), "0");
    }

    #[test]
    fn floats_like_go_json() {
        assert_eq!(go_json_float(1.5), "1.5");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1.5e-10), "1.5e-10");
        assert_eq!(go_json_float(0.000001), "0.000001");
        assert_eq!(go_json_float(-0.25), "-0.25");
    }
}
