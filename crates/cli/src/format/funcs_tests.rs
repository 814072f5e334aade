//! Tests for `funcs.rs`: docker's template functions, header variants and printers.

use super::*;

fn s(v: &str) -> Value {
    str_value(v.to_string())
}

fn call(name: &str, args: &[Value]) -> Result<String, FuncError> {
    let f = basic(name).ok_or(FuncError::Call("no such function".into()))?;
    f(args).map(|v| go_sprint(&v, true))
}

#[test]
fn string_functions() {
    assert_eq!(call("upper", &[s("abc ß")]), Ok("ABC ß".into()));
    assert_eq!(call("lower", &[s("AbC İ")]), Ok("abc i".into()));
    assert_eq!(
        call("title", &[s("hello wOrld foo_bar x-y 1a")]),
        Ok("Hello WOrld Foo_bar X-Y 1a".into())
    );
    assert_eq!(call("title", &[s("ǆemal")]), Ok("ǅemal".into()));
    assert_eq!(call("split", &[s("a,b,,c"), s(",")]), Ok("[a b  c]".into()));
    assert_eq!(call("split", &[s(""), s(",")]), Ok("[]".into()));
    assert_eq!(call("split", &[s("héj"), s("")]), Ok("[h é j]".into()));
    assert_eq!(call("split", &[s(""), s("")]), Ok("[]".into()));
    let list = Value::List(vec![s("a"), s("b"), Value::Int(3)].into());
    assert_eq!(call("join", &[list, s(", ")]), Ok("a, b, 3".into()));
    assert_eq!(call("join", &[Value::Nil, s(",")]), Ok("".into()));
    assert_eq!(
        call("pad", &[s("x"), Value::Int(2), Value::Int(1)]),
        Ok("  x ".into())
    );
    assert_eq!(
        call("pad", &[s(""), Value::Int(2), Value::Int(1)]),
        Ok("".into())
    );
    assert_eq!(
        call("truncate", &[s("abcdef"), Value::Int(3)]),
        Ok("abc".into())
    );
    assert_eq!(
        call("truncate", &[s("abc"), Value::Int(3)]),
        Ok("abc".into())
    );
    assert_eq!(
        call("truncate", &[s("abc"), Value::Int(9)]),
        Ok("abc".into())
    );
    assert_eq!(
        call("truncate", &[s("héllo"), Value::Int(2)]),
        Ok("h".into())
    );
}

#[test]
fn printers() {
    assert_eq!(
        call(
            "print",
            &[s("a"), s("b"), Value::Int(1), Value::Int(2), s("c")]
        ),
        Ok("ab1 2c".into())
    );
    assert_eq!(
        call("println", &[s("a"), Value::Int(1)]),
        Ok("a 1\n".into())
    );
    assert_eq!(call("println", &[]), Ok("\n".into()));
    assert_eq!(call("println", &[s("a "), s("")]), Ok("a  \n".into()));
    assert_eq!(call("print", &[Value::Nil]), Ok("<nil>".into()));
    assert_eq!(call("json", &[s("<a&b>")]), Ok("\"<a&b>\"".into()));
}

#[test]
fn go_argument_errors() {
    assert_eq!(
        call("join", &[s("a")]),
        Err(FuncError::Arity { want: 2, got: 1 })
    );
    assert_eq!(
        call("upper", &[Value::Int(1)]),
        Err(FuncError::Arg {
            index: 0,
            msg: "wrong type for value; expected string; got int".into()
        })
    );
    assert_eq!(
        call("upper", &[Value::Nil]),
        Err(FuncError::Arg {
            index: 0,
            msg: "invalid value; expected string".into()
        })
    );
    assert_eq!(
        call("pad", &[s("x"), Value::Int(-1), Value::Int(0)]),
        Err(FuncError::Call("strings: negative Repeat count".into()))
    );
    assert_eq!(
        call("truncate", &[s("x"), Value::Int(-1)]),
        Err(FuncError::Call(
            "runtime error: slice bounds out of range [:-1]".into()
        ))
    );
}

#[test]
fn header_functions_keep_text() {
    let h = |name: &str, args: &[Value]| header(name).map(|f| f(args));
    assert_eq!(h("json", &[s("LABELS")]), Some(Ok(s("LABELS"))));
    assert_eq!(h("join", &[s("NAMES"), s(",")]), Some(Ok(s("NAMES"))));
    assert_eq!(
        h("truncate", &[s("COMMAND"), Value::Int(3)]),
        Some(Ok(s("COMMAND")))
    );
    assert_eq!(
        h("pad", &[s("ID"), Value::Int(1), Value::Int(1)]),
        Some(Ok(s(" ID ")))
    );
    assert!(matches!(
        h("upper", &[Value::Nil]),
        Some(Err(FuncError::Arg { .. }))
    ));
}
