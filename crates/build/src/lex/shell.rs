//! The character walk of the lexer: quotes, escapes, `$` references and their operators,
//! collecting both the whole result and the result split into words.

use super::{pattern, Env, Lexer};

/// Expands `word`, returning it whole and split into words.
pub(super) fn run(lx: &Lexer, word: &str, env: &dyn Env) -> Result<(String, Vec<String>), String> {
    let mut sh = Shell {
        chars: word.chars().collect(),
        pos: 0,
        lx,
        env,
    };
    sh.stop_on(None, lx.raw_escapes)
        .map(|(w, ws)| (w, ws.finish()))
}

/// The words being collected when splitting (`process_words`).
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if !ch.is_whitespace() {
            self.add_raw_char(ch);
        } else if self.in_word && !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
            self.in_word = false;
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        // An empty quoted word ("") adds nothing, as in BuildKit.
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

struct Shell<'a> {
    chars: Vec<char>,
    pos: usize,
    lx: &'a Lexer,
    env: &'a dyn Env,
}

impl Shell<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.env.get_var(name).map(str::to_string)
    }

    /// Processes up to `stop` (consumed) or the end of input when `stop` is `None`.
    fn stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Words), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words));
            }
            match ch {
                '\'' if !self.lx.skip_quotes => {
                    let s = self.single_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '"' if !self.lx.skip_quotes => {
                    let s = self.double_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    result.push_str(&s);
                    // An unquoted variable's value is split like any unquoted text.
                    words.add_string(&s);
                }
                _ => {
                    self.next();
                    if ch == self.lx.escape {
                        if raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // The escape character takes the next one literally; alone at the
                        // end it is dropped.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        match stop {
            Some(c) => Err(format!(
                "unexpected end of statement while looking for matching {c}"
            )),
            None => Ok((result, words)),
        }
    }

    /// Everything up to the next `'` is literal; a single quote cannot be escaped inside.
    fn single_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let open = self.next();
        if self.lx.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.lx.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// Literal except `$`; the escape character quotes only `"`, `$` and itself, as in sh.
    fn double_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let open = self.next();
        if self.lx.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.next();
                    if self.lx.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(mut c) => {
                    self.next();
                    if c == self.lx.escape {
                        if self.lx.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // An escape at the very end is dropped; the loop then reports
                            // the missing quote.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.lx.escape => {
                                self.next();
                                c = n;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// A variable name: letters, digits and `_`; or all-digits (`$1`); or one special
    /// parameter character (`$@`, `$?`…), which are never set and so expand to "".
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.lx.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.name();
        let value = self.lookup(&name);
        match self.next() {
            None => Err("syntax error: missing '}'".into()),
            Some('}') => Ok(match value {
                Some(v) => v,
                None if self.lx.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some('/') => self.replace(&name, value),
            Some(':') => {
                let op = self.next();
                match op {
                    Some(op @ ('-' | '+' | '?')) => self.operator(&name, value, op, true),
                    other => Err(format!(
                        "unsupported modifier (:{}) in substitution",
                        other.map(String::from).unwrap_or_default()
                    )),
                }
            }
            Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.operator(&name, value, op, false),
            Some(other) => Err(format!("unsupported modifier ({other}) in substitution")),
        }
    }

    /// `${name-word}` and friends; `colon` makes an empty value count as unset.
    fn operator(
        &mut self,
        name: &str,
        value: Option<String>,
        op: char,
        colon: bool,
    ) -> Result<String, String> {
        // The pattern operators see escapes as written, so `\*` stays a literal star.
        let raw = op == '#' || op == '%';
        let word = self.closing('}', raw)?;
        let Some(value) = value else {
            if self.lx.skip_unset {
                let c = if colon { ":" } else { "" };
                return Ok(format!("${{{name}{c}{op}{word}}}"));
            }
            return match op {
                '-' => Ok(word),
                '?' if word.is_empty() => Err(format!("{name}: is not allowed to be unset")),
                '?' => Err(format!("{name}: {word}")),
                // Trimming a pattern off an unset variable leaves it empty.
                _ => Ok(String::new()),
            };
        };
        let empty = colon && value.is_empty();
        match op {
            '-' => Ok(if empty { word } else { value }),
            '+' => Ok(if empty { String::new() } else { word }),
            '?' if empty && word.is_empty() => Err(format!("{name}: is not allowed to be empty")),
            '?' if empty => Err(format!("{name}: {word}")),
            '?' => Ok(value),
            _ => {
                // `##` and `%%` take the longest match, `#` and `%` the shortest.
                let (greedy, pat) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                if op == '#' {
                    pattern::trim_prefix(pat, &value, greedy)
                } else {
                    pattern::trim_suffix(pat, &value, greedy)
                }
            }
        }
    }

    /// `${name/pattern/replacement}`, or `//` to replace every match.
    fn replace(&mut self, name: &str, value: Option<String>) -> Result<String, String> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pat = self.closing('/', true).map_err(|e| {
            if e.contains("missing '}'") {
                "syntax error: missing '/' in ${}".to_string()
            } else {
                e
            }
        })?;
        let replacement = self.closing('}', true)?;
        match value {
            None if self.lx.skip_unset => {
                let slash = if all { "//" } else { "/" };
                Ok(format!("${{{name}{slash}{pat}/{replacement}}}"))
            }
            None => Ok(String::new()),
            Some(v) => pattern::replace(&pat, &v, &replacement, all),
        }
    }

    /// The text up to `close`, processed; a missing `close` is reported as a missing `}`.
    fn closing(&mut self, close: char, raw_escapes: bool) -> Result<String, String> {
        match self.stop_on(Some(close), raw_escapes) {
            Ok((w, _)) => Ok(w),
            Err(_) if self.peek().is_none() => Err("syntax error: missing '}'".into()),
            Err(e) => Err(e),
        }
    }
}
