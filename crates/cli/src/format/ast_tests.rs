//! Tests for `ast.rs`: parse-time checks and the tree rewrite.

use super::*;
use gotmpl::parse::Parser;

fn parse(src: &str) -> (ListNode, Vec<DefineNode>) {
    Parser::new(src, "{{", "}}")
        .and_then(|p| p.parse())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn parse_time_checks() {
    let (m, d) = parse("{{.A}}\n{{foo .B}}");
    assert_eq!(
        check(&m, &d),
        Some((9, "function \"foo\" not defined".into()))
    );
    let (m, d) = parse("{{$x}}");
    assert_eq!(check(&m, &d), Some((2, "undefined variable \"$x\"".into())));
    let (m, d) = parse("{{range $i, $v := .L}}{{$i}}{{$v}}{{else}}{{$v}}{{end}}{{$}}");
    assert_eq!(check(&m, &d), None);
    let (m, d) = parse("{{if .A}}{{$y := 1}}{{end}}{{$y}}");
    assert!(check(&m, &d).is_some());
    let (m, d) = parse("{{$x := 1}}{{$x = 2}}{{define \"t\"}}{{$x}}{{end}}");
    assert_eq!(
        check(&m, &d).map(|e| e.1),
        Some("undefined variable \"$x\"".into())
    );
    let (m, d) = parse("{{json .}}{{printf \"%s\" (upper .A)}}{{len .L | print}}");
    assert_eq!(check(&m, &d), None);
}

#[test]
fn rewrite_records_sites_and_fields() {
    let (mut m, _) = parse(
        "{{.A.B}} {{join .Names \",\" | upper}} {{$x := (index .L 1).Y}}{{template \"t\" .}}",
    );
    let mut r = Rewriter::default();
    r.tree("", &mut m);
    let names: Vec<_> = r
        .info
        .sites
        .iter()
        .map(|s| (s.name.as_str(), s.cmd.1.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("join", "join .Names \",\""),
            ("upper", "upper"),
            ("index", "index .L 1")
        ]
    );
    let fields: Vec<_> = r
        .info
        .fields
        .iter()
        .map(|f| (f.pos, f.text.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            (2, ".A.B"),
            (16, ".Names"),
            (45, "(index .L 1).Y"),
            (52, ".L")
        ]
    );
    assert_eq!(r.info.templates[0].2, "{{template \"t\" .}}");
    // The first action now ends in the printer; the declaration does not.
    let Node::Action(a) = &m.nodes[0] else {
        panic!("not an action")
    };
    assert!(
        matches!(a.pipe.commands.last().and_then(|c| c.args.first()), Some(Expr::Identifier(_, n)) if n == PRINT)
    );
}
