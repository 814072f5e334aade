//! Substitution cases: every operator, quoting, escapes, word splitting.

use std::collections::BTreeMap;

use super::*;

fn env() -> BTreeMap<String, String> {
    [
        ("A", "alpha"),
        ("EMPTY", ""),
        ("SP", "a b  c"),
        ("PATHV", "/usr/local/bin/tool.tar.gz"),
        ("_under9", "u"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn word(s: &str) -> String {
    Lexer::new('\\').process_word(s, &env()).unwrap()
}

fn err(s: &str) -> String {
    Lexer::new('\\')
        .process_word(s, &env())
        .unwrap_err()
        .to_string()
}

#[test]
fn plain_and_braced_references() {
    assert_eq!(word("$A"), "alpha");
    assert_eq!(word("${A}"), "alpha");
    assert_eq!(word("x$A.y"), "xalpha.y");
    assert_eq!(word("${A}beta"), "alphabeta");
    assert_eq!(word("$Abeta"), "", "the name runs on: $Abeta is unset");
    assert_eq!(word("$_under9"), "u");
    assert_eq!(word("$UNSET"), "");
    assert_eq!(word("${UNSET}"), "");
    assert_eq!(word("$"), "$");
    assert_eq!(word("a$"), "a$");
    assert_eq!(word("$ x"), "$ x");
    assert_eq!(word("$1"), "", "positional parameters are never set");
    assert_eq!(word("$@x"), "x");
}

#[test]
fn default_operators() {
    assert_eq!(word("${A:-def}"), "alpha");
    assert_eq!(word("${EMPTY:-def}"), "def");
    assert_eq!(word("${UNSET:-def}"), "def");
    assert_eq!(word("${A-def}"), "alpha");
    assert_eq!(
        word("${EMPTY-def}"),
        "",
        "without ':' an empty value counts as set"
    );
    assert_eq!(word("${UNSET-def}"), "def");
    assert_eq!(word("${UNSET:-$A}"), "alpha", "the word is expanded too");
    assert_eq!(word("${UNSET:-${EMPTY:-deep}}"), "deep");
    assert_eq!(word("${UNSET:-a b}"), "a b");
    assert_eq!(word("${UNSET:-}"), "");
}

#[test]
fn alternative_operators() {
    assert_eq!(word("${A:+alt}"), "alt");
    assert_eq!(word("${EMPTY:+alt}"), "");
    assert_eq!(word("${UNSET:+alt}"), "");
    assert_eq!(word("${A+alt}"), "alt");
    assert_eq!(word("${EMPTY+alt}"), "alt");
    assert_eq!(word("${UNSET+alt}"), "");
}

#[test]
fn error_operators() {
    assert_eq!(word("${A:?boom}"), "alpha");
    assert_eq!(word("${A?boom}"), "alpha");
    assert_eq!(word("${EMPTY?boom}"), "");
    assert_eq!(
        err("${UNSET:?}"),
        r#"failed to process "${UNSET:?}": UNSET: is not allowed to be unset"#
    );
    assert_eq!(
        err("${UNSET?must be set}"),
        r#"failed to process "${UNSET?must be set}": UNSET: must be set"#
    );
    assert_eq!(
        err("${EMPTY:?}"),
        r#"failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty"#
    );
    assert_eq!(
        err("${EMPTY:?need it}"),
        r#"failed to process "${EMPTY:?need it}": EMPTY: need it"#
    );
}

#[test]
fn pattern_operators() {
    assert_eq!(word("${PATHV#*/}"), "usr/local/bin/tool.tar.gz");
    assert_eq!(word("${PATHV##*/}"), "tool.tar.gz");
    assert_eq!(word("${PATHV%.*}"), "/usr/local/bin/tool.tar");
    assert_eq!(word("${PATHV%%.*}"), "/usr/local/bin/tool");
    assert_eq!(word("${PATHV#nomatch}"), "/usr/local/bin/tool.tar.gz");
    assert_eq!(word("${A#?}"), "lpha");
    assert_eq!(word("${A%a}"), "alph");
    assert_eq!(word("${A/l/L}"), "aLpha");
    assert_eq!(word("${A//a/A}"), "AlphA");
    assert_eq!(word("${PATHV/*bin/X}"), "X/tool.tar.gz");
    assert_eq!(
        word("${PATHV/*\\//}"),
        "tool.tar.gz",
        "an escaped / is part of the pattern"
    );
    assert_eq!(word("${UNSET#x}"), "");
    assert_eq!(
        err("${A:#x}"),
        r#"failed to process "${A:#x}": unsupported modifier (:#) in substitution"#
    );
}

#[test]
fn syntax_errors() {
    assert!(err("${").ends_with("syntax error: missing '}'"));
    assert!(err("${A").ends_with("syntax error: missing '}'"));
    assert!(err("${A:-x").ends_with("syntax error: missing '}'"));
    assert!(err("${}").ends_with("syntax error: bad substitution"));
    assert!(err("${:x}").ends_with("syntax error: bad substitution"));
    assert!(err("${A*}").ends_with("unsupported modifier (*) in substitution"));
    assert!(err("'open").ends_with("looking for matching single-quote"));
    assert!(err("\"open").ends_with("looking for matching double-quote"));
}

#[test]
fn quotes() {
    assert_eq!(word("'$A'"), "$A", "single quotes are literal");
    assert_eq!(word("\"$A\""), "alpha", "double quotes expand");
    assert_eq!(word("\"'$A'\""), "'alpha'");
    assert_eq!(word("'\"'"), "\"");
    assert_eq!(word("a'b c'd"), "ab cd");
    assert_eq!(word("\"a\\\"b\""), "a\"b");
    assert_eq!(word("\"a\\$A\""), "a$A");
    assert_eq!(word("\"a\\\\b\""), "a\\b");
    assert_eq!(
        word("\"a\\nb\""),
        "a\\nb",
        "other escapes stay inside double quotes"
    );
    assert_eq!(word("'a\\nb'"), "a\\nb");
    assert_eq!(word("\"${UNSET:-x y}\""), "x y");
}

#[test]
fn escapes() {
    assert_eq!(word("\\$A"), "$A");
    assert_eq!(word("\\${A}"), "${A}");
    assert_eq!(word("a\\ b"), "a b");
    assert_eq!(word("\\'x"), "'x");
    assert_eq!(word("end\\"), "end", "a lone escape at the end is dropped");
    let tick = Lexer::new('`');
    assert_eq!(tick.process_word("`$A", &env()).unwrap(), "$A");
    assert_eq!(
        tick.process_word("c:\\dir\\$A", &env()).unwrap(),
        "c:\\dir\\alpha",
        "with the backtick escape, backslashes are ordinary"
    );
    let raw = Lexer {
        raw_escapes: true,
        raw_quotes: true,
        ..Lexer::new('\\')
    };
    assert_eq!(
        raw.process_word("\"a\\\"b\" 'c'", &NoEnv).unwrap(),
        "\"a\\\"b\" 'c'"
    );
}

#[test]
fn word_splitting() {
    let lx = Lexer::new('\\');
    let words = |s: &str| lx.process_words(s, &env()).unwrap();
    assert_eq!(words("a  b\tc"), ["a", "b", "c"]);
    assert_eq!(words("$SP"), ["a", "b", "c"], "unquoted values are split");
    assert_eq!(words("\"$SP\" x"), ["a b  c", "x"], "quoted values are not");
    assert_eq!(words("'x y'z"), ["x yz"]);
    assert_eq!(words("\"\" a"), ["a"], "an empty quoted word gives nothing");
    assert_eq!(words("a\\ b c"), ["a b", "c"]);
    assert_eq!(words(""), Vec::<String>::new());
}

#[test]
fn unset_kept_when_asked() {
    let lx = Lexer {
        skip_unset: true,
        ..Lexer::new('\\')
    };
    let w = |s: &str| lx.process_word(s, &env()).unwrap();
    assert_eq!(w("$NOPE-$A"), "$NOPE-alpha");
    assert_eq!(w("${NOPE}"), "${NOPE}");
    assert_eq!(w("${NOPE:-x}"), "${NOPE:-x}");
    assert_eq!(w("${NOPE//a/b}"), "${NOPE//a/b}");
}

#[test]
fn quotes_kept_when_asked() {
    let lx = Lexer {
        skip_quotes: true,
        ..Lexer::new('\\')
    };
    assert_eq!(
        lx.process_word("say \"$A\" 'x' \\$A", &env()).unwrap(),
        "say \"alpha\" 'x' $A"
    );
}

#[test]
fn hash_map_env_works_too() {
    let mut m = std::collections::HashMap::new();
    m.insert("K".to_string(), "v".to_string());
    assert_eq!(Lexer::new('\\').process_word("${K}", &m).unwrap(), "v");
}
