//! Splitting instruction arguments into words and `key=value` pairs the way the Dockerfile
//! language does: whitespace separates, quotes group, a backslash escapes.

/// Splits `s` into words, removing quotes and escapes.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                in_word = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => cur.push('\\'),
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unmatched quote in {s:?}"));
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Parses `k=v k2="v 2"` pairs (ENV, LABEL), or the legacy single-pair form `k value with
/// spaces` when the first word has no `=`.
pub fn parse_pairs(s: &str, what: &str) -> Result<Vec<(String, String)>, String> {
    let s = s.trim();
    let first = s.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        let (key, value) = s
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("{what} must have two arguments"))?;
        let key = split_words(key)?.concat();
        return Ok(vec![(key, value.trim().to_string())]);
    }
    let mut pairs = Vec::new();
    for word in split_words(s)? {
        let (k, v) = word
            .split_once('=')
            .ok_or_else(|| format!("{what} names must be followed by '=': {word:?}"))?;
        if k.is_empty() {
            return Err(format!("{what} names can not be blank"));
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_quotes_and_escapes() {
        assert_eq!(
            split_words(r#"a "b c" 'd e' f\ g"#).unwrap(),
            ["a", "b c", "d e", "f g"]
        );
        assert_eq!(split_words(r#""x\"y""#).unwrap(), [r#"x"y"#]);
        assert!(split_words("\"open").is_err());
    }

    #[test]
    fn pairs_both_forms() {
        assert_eq!(
            parse_pairs(r#"A=1 B="two words" C="#, "ENV").unwrap(),
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), String::new())
            ]
        );
        assert_eq!(
            parse_pairs("PATH /usr/bin and more", "ENV").unwrap(),
            [("PATH".into(), "/usr/bin and more".into())]
        );
        assert!(parse_pairs("A=1 B", "ENV").is_err());
        assert!(parse_pairs("=1", "ENV").is_err());
        assert!(parse_pairs("LONELY", "ENV").is_err());
    }
}
