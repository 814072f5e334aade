//! Work on the parsed template tree that the template engine leaves to us:
//!
//! * Go rejects an unknown function or variable when parsing; the engine
//!   only notices when executing, so [`check`] does Go's parse-time checks.
//! * [`Rewriter`] makes every printing action end in the Go-style printer,
//!   renames each call of a Berth function to a per-call-site name (so an
//!   error knows exactly which call failed), and records where fields, calls
//!   and `{{template}}` invocations are, with the text Go shows for them in
//!   `executing "" at <...>`.

use gotmpl::parse::{
    CommandNode, DefineNode, Expr, ListNode, Node, Number, PipeNode, Pos, SmolStr,
};

use super::funcs::{self, PRINT};
use super::value::go_float;

/// A function call (or function used as a value) in the source.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub name: String,
    /// The template (`""` for the main one) the call is in.
    pub tree: String,
    pub ident: usize,
    pub cmd: (usize, String),
    pub args: Vec<(usize, String)>,
}

/// A field access (`.A.B`, `$x.A`, `(...).A`) in the source.
#[derive(Debug, Clone)]
pub(crate) struct FieldRef {
    pub tree: String,
    pub pos: usize,
    pub text: String,
    pub fields: Vec<String>,
}

/// Everything the error messages need to point at the failing node.
#[derive(Debug, Default)]
pub(crate) struct Info {
    pub sites: Vec<Site>,
    pub fields: Vec<FieldRef>,
    /// `{{template "name"}}` calls: (tree, position, text, invoked name).
    pub templates: Vec<(String, usize, String, String)>,
}

/// The engine's name for the function behind call site `i`.
pub(crate) fn site_func(i: usize) -> String {
    format!("__berth_call{i}")
}

/// Go's parse-time checks: returns the first offending byte offset and
/// Go's message, in source order.
pub(crate) fn check(main: &ListNode, defines: &[DefineNode]) -> Option<(usize, String)> {
    let mut errs = Vec::new();
    check_list(main, &mut vec!["$".into()], &mut errs);
    for d in defines {
        check_list(&d.body, &mut vec!["$".into()], &mut errs);
    }
    errs.into_iter().min_by_key(|e| e.0)
}

fn check_list(list: &ListNode, vars: &mut Vec<SmolStr>, errs: &mut Vec<(usize, String)>) {
    for node in &list.nodes {
        match node {
            Node::List(l) => check_list(l, vars, errs),
            Node::Action(a) => check_pipe(&a.pipe, vars, errs),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                // Variables declared in a control structure (its pipeline,
                // body or else branch) end with it, as in Go's parser.
                let mark = vars.len();
                check_pipe(&b.pipe, vars, errs);
                check_list(&b.body, vars, errs);
                if let Some(e) = &b.else_body {
                    check_list(e, vars, errs);
                }
                vars.truncate(mark);
            }
            Node::Template(t) => {
                if let Some(p) = &t.pipe {
                    check_pipe(p, vars, errs);
                }
            }
            Node::Text(_) | Node::Define(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn check_pipe(pipe: &PipeNode, vars: &mut Vec<SmolStr>, errs: &mut Vec<(usize, String)>) {
    if pipe.is_assign {
        for v in &pipe.decl {
            if !vars.contains(v) {
                errs.push((
                    pipe.pos.offset,
                    format!("undefined variable {:?}", v.as_str()),
                ));
            }
        }
    } else {
        // Go declares the variables before parsing the commands.
        vars.extend(pipe.decl.iter().cloned());
    }
    for cmd in &pipe.commands {
        for arg in &cmd.args {
            check_expr(arg, vars, errs);
        }
    }
}

fn check_expr(e: &Expr, vars: &mut Vec<SmolStr>, errs: &mut Vec<(usize, String)>) {
    let known = |name: &str| funcs::NAMES.contains(&name) || funcs::BUILTINS.contains(&name);
    match e {
        Expr::Identifier(pos, name) if !known(name) => {
            errs.push((
                pos.offset,
                format!("function {:?} not defined", name.as_str()),
            ));
        }
        Expr::Variable(pos, name, _) if !vars.contains(name) => {
            errs.push((
                pos.offset,
                format!("undefined variable {:?}", name.as_str()),
            ));
        }
        Expr::Pipe(_, p) => check_pipe(p, vars, errs),
        Expr::Chain(_, inner, _) => check_expr(inner, vars, errs),
        _ => {}
    }
}

/// Rewrites trees in place and collects [`Info`].
#[derive(Default)]
pub(crate) struct Rewriter {
    pub info: Info,
    tree: String,
}

impl Rewriter {
    pub fn tree(&mut self, name: &str, list: &mut ListNode) {
        self.tree = name.to_string();
        self.list(list);
    }

    fn list(&mut self, list: &mut ListNode) {
        for node in &mut list.nodes {
            match node {
                Node::List(l) => self.list(l),
                Node::Action(a) => {
                    self.pipe(&mut a.pipe);
                    if a.pipe.decl.is_empty() {
                        let pos = a.pipe.pos;
                        a.pipe.commands.push(CommandNode {
                            pos,
                            args: vec![Expr::Identifier(pos, PRINT.into())],
                        });
                    }
                }
                Node::If(b) | Node::With(b) | Node::Range(b) => {
                    self.pipe(&mut b.pipe);
                    self.list(&mut b.body);
                    if let Some(e) = &mut b.else_body {
                        self.list(e);
                    }
                }
                Node::Template(t) => {
                    let text = match &t.pipe {
                        Some(p) => {
                            format!("{{{{template {:?} {}}}}}", t.name.as_str(), pipe_text(p))
                        }
                        None => format!("{{{{template {:?}}}}}", t.name.as_str()),
                    };
                    self.info.templates.push((
                        self.tree.clone(),
                        t.pos.offset,
                        text,
                        t.name.to_string(),
                    ));
                    if let Some(p) = &mut t.pipe {
                        self.pipe(p);
                    }
                }
                Node::Text(_) | Node::Define(_) | Node::Break(_) | Node::Continue(_) => {}
            }
        }
    }

    fn pipe(&mut self, pipe: &mut PipeNode) {
        for cmd in &mut pipe.commands {
            if let Some(Expr::Identifier(pos, name)) = cmd.args.first() {
                let site = Site {
                    name: name.to_string(),
                    tree: self.tree.clone(),
                    ident: pos.offset,
                    cmd: (cmd.pos.offset, cmd_text(cmd)),
                    args: cmd.args[1..]
                        .iter()
                        .map(|a| (a.pos().offset, arg_text(a)))
                        .collect(),
                };
                self.call(&mut cmd.args[0], site);
                for arg in &mut cmd.args[1..] {
                    self.expr(arg);
                }
            } else {
                for arg in &mut cmd.args {
                    self.expr(arg);
                }
            }
        }
    }

    /// Records a call site; a Berth function gets its per-site name.
    fn call(&mut self, ident: &mut Expr, site: Site) {
        if let Expr::Identifier(pos, name) = ident {
            let ours = funcs::NAMES.contains(&name.as_str());
            let index = self.info.sites.len();
            self.info.sites.push(site);
            if ours {
                *ident = Expr::Identifier(*pos, site_func(index).into());
            }
        }
    }

    fn expr(&mut self, e: &mut Expr) {
        // Record from a shared borrow first; renaming and recursion need `e`
        // mutably afterwards.
        match &*e {
            Expr::Identifier(pos, name) => {
                let text = name.to_string();
                let site = Site {
                    name: text.clone(),
                    tree: self.tree.clone(),
                    ident: pos.offset,
                    cmd: (pos.offset, text),
                    args: Vec::new(),
                };
                self.call(e, site);
                return;
            }
            Expr::Field(pos, fields) | Expr::Variable(pos, _, fields) if !fields.is_empty() => {
                self.field(
                    *pos,
                    arg_text(e),
                    fields.iter().map(|f| f.to_string()).collect(),
                );
            }
            Expr::Chain(pos, inner, fields) => {
                self.field(
                    *pos,
                    chain_text(inner, fields),
                    fields.iter().map(|f| f.to_string()).collect(),
                );
            }
            _ => {}
        }
        match e {
            Expr::Pipe(_, p) => self.pipe(p),
            Expr::Chain(_, inner, _) => self.expr(inner),
            _ => {}
        }
    }

    fn field(&mut self, pos: Pos, text: String, fields: Vec<String>) {
        self.info.fields.push(FieldRef {
            tree: self.tree.clone(),
            pos: pos.offset,
            text,
            fields,
        });
    }
}

/// Go's `String()` of a command: its arguments separated by spaces.
fn cmd_text(cmd: &CommandNode) -> String {
    cmd.args.iter().map(arg_text).collect::<Vec<_>>().join(" ")
}

/// Go's `String()` of a pipeline.
fn pipe_text(p: &PipeNode) -> String {
    let mut out = String::new();
    if !p.decl.is_empty() {
        out.push_str(
            &p.decl
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str(if p.is_assign { " = " } else { " := " });
    }
    out.push_str(
        &p.commands
            .iter()
            .map(cmd_text)
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out
}

fn chain_text(inner: &Expr, fields: &[SmolStr]) -> String {
    let mut out = arg_text(inner);
    for f in fields {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Go's `String()` of an argument node.
fn arg_text(e: &Expr) -> String {
    match e {
        Expr::Dot(_) => ".".into(),
        Expr::Field(_, fields) => fields.iter().map(|f| format!(".{f}")).collect(),
        Expr::Variable(_, name, fields) => {
            chain_text(&Expr::Identifier(Pos::new(0, 0), name.clone()), fields)
        }
        Expr::Identifier(_, name) => name.to_string(),
        Expr::String(_, s) => format!("{s:?}"),
        Expr::Number(_, Number::Int(n)) => n.to_string(),
        Expr::Number(_, Number::Uint(n)) => n.to_string(),
        Expr::Number(_, Number::Float(f)) => go_float(*f),
        Expr::Bool(_, b) => b.to_string(),
        Expr::Nil(_) => "nil".into(),
        Expr::Pipe(_, p) => format!("({})", pipe_text(p)),
        Expr::Chain(_, inner, fields) => chain_text(inner, fields),
    }
}

#[cfg(test)]
#[path = "ast_tests.rs"]
mod tests;
