//! Finding the heredoc words (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) in an instruction
//! line, the way BuildKit does: split the line into shell words keeping quotes and escapes,
//! then take each word that is `[digits]<<[-]delimiter`.

use crate::lex::{Lexer, NoEnv};

use super::ast::Heredoc;

/// Instructions whose lines may carry heredocs (also as an ONBUILD trigger).
pub(super) fn allows_heredocs(keyword: &str) -> bool {
    matches!(keyword, "RUN" | "COPY" | "ADD")
}

/// The heredocs a line names, in order, with empty bodies (the caller reads them).
pub(super) fn find(line: &str) -> Result<Vec<Heredoc>, String> {
    if !line.contains("<<") {
        return Ok(Vec::new());
    }
    let raw = Lexer {
        raw_quotes: true,
        raw_escapes: true,
        ..Lexer::new('\\')
    };
    // A line the lexer cannot split (an unclosed quote) has no heredocs, as in BuildKit.
    let words = raw.process_words(line, &NoEnv).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_word(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// `[digits]<<[-]rest`, where `rest` has no `<` and is one shell word.
pub(super) fn parse_word(word: &str) -> Result<Option<Heredoc>, String> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(rest) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let mut lexer = Lexer {
        skip_unset: true,
        ..Lexer::new('\\')
    };
    let plain = lexer
        .process_words(rest, &NoEnv)
        .map_err(|e| e.to_string())?;
    let [name] = plain.as_slice() else {
        return Ok(None);
    };
    lexer.raw_quotes = true;
    let raw = lexer
        .process_words(rest, &NoEnv)
        .map_err(|e| e.to_string())?;
    let quotes = |s: &str| s.matches(['\'', '"']).count();
    // If removing quotes changed the word, part of the delimiter was quoted, and then the
    // body is taken literally.
    let expand = raw.first().map(|r| quotes(r)) == Some(quotes(name));
    Ok(Some(Heredoc {
        name: name.clone(),
        content: String::new(),
        expand,
        chomp,
        fd: word[..digits].parse().ok(),
    }))
}
