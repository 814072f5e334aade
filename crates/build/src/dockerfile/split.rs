//! Cutting an instruction line into its parts as BuildKit's parser does: the keyword, the
//! leading `--flags`, and the arguments as raw words, key/value pairs or a JSON array.

/// `keyword`, `--flag` words, and the rest of the line (trimmed).
pub(super) fn split_command(line: &str) -> (String, Vec<String>, String) {
    let line = line.trim();
    let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let (flags, args) = extract_flags(rest);
    (keyword.to_string(), flags, args.trim().to_string())
}

/// Takes the leading words that start with `--` (quotes and `\` handled within them) and
/// returns them with the text after. A lone `--` ends the flags.
fn extract_flags(line: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.trim_start();
        if !start.starts_with("--") {
            return (flags, start);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut end = start.len();
        let mut chars = start.char_indices();
        while let Some((i, c)) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => {
                    end = i;
                    break;
                }
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    if let Some((_, n)) = chars.next() {
                        word.push(n);
                    }
                }
                (_, c) => word.push(c),
            }
        }
        if word == "--" {
            return (flags, &start[end..]);
        }
        flags.push(word);
        rest = &start[end..];
    }
}

/// Splits on whitespace outside quotes, keeping quotes and escapes in the words (they are
/// removed later, when the words are expanded). An escape before a quote keeps the quote
/// from opening a quoted part.
pub(super) fn raw_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if in_word && (blank_ok || !word.is_empty()) {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
                blank_ok = false;
            }
            None => {
                in_word = true;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == escape {
                    // An escape at the very end is dropped.
                    let Some(n) = chars.next() else { break };
                    word.push(c);
                    word.push(n);
                    continue;
                }
                word.push(c);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                // Nothing can be escaped inside single quotes.
                if c == escape && q != '\'' {
                    let Some(n) = chars.next() else { break };
                    word.push(c);
                    word.push(n);
                    continue;
                }
                word.push(c);
            }
        }
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// The result of reading arguments that may be a JSON array.
pub(super) enum Json {
    /// A JSON array of strings.
    Array(Vec<String>),
    /// Not JSON: docker then takes the text as shell form or words.
    NotJson,
}

/// BuildKit's rule: text starting with `[` that is valid JSON must be an array of strings
/// (`["a", 1]` is an error); anything that is not valid JSON is not JSON at all.
pub(super) fn json_array(rest: &str) -> Result<Json, String> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(Json::NotJson);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else {
        return Ok(Json::NotJson);
    };
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => {
                Err("when using JSON array syntax, arrays must be comprised of strings only".into())
            }
        })
        .collect::<Result<_, _>>()
        .map(Json::Array)
}

/// Words split on whitespace only (FROM, EXPOSE, and the non-JSON COPY/ADD/VOLUME).
pub(super) fn whitespace_words(rest: &str) -> Vec<String> {
    rest.split_whitespace().map(str::to_string).collect()
}

/// The JSON array, or whitespace-separated words when the text is not JSON.
pub(super) fn json_or_words(rest: &str) -> Result<Vec<String>, String> {
    Ok(match json_array(rest)? {
        Json::Array(v) => v,
        Json::NotJson => whitespace_words(rest),
    })
}
