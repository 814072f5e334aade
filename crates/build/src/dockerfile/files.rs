//! COPY and ADD: sources (paths, URLs, heredoc files), destination, and their flags.

use super::ast::{Add, Copy, Source};
use super::flags::Kind;
use super::heredoc;
use super::instructions::Line;
use super::split::json_or_words;

pub(super) fn copy(line: &Line) -> Result<Copy, String> {
    let flags = line.flags(&[
        ("from", Kind::Str),
        ("chown", Kind::Str),
        ("chmod", Kind::Str),
        ("link", Kind::Bool),
        ("parents", Kind::Bool),
        ("exclude", Kind::Strings),
    ])?;
    let (sources, dest) = sources_and_dest(line, "COPY")?;
    Ok(Copy {
        sources,
        dest,
        from: flags.string("from"),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        parents: flags.bool("parents"),
        excludes: flags.strings("exclude"),
    })
}

pub(super) fn add(line: &Line) -> Result<Add, String> {
    let flags = line.flags(&[
        ("chown", Kind::Str),
        ("chmod", Kind::Str),
        ("link", Kind::Bool),
        ("keep-git-dir", Kind::Bool),
        ("checksum", Kind::Str),
        ("exclude", Kind::Strings),
    ])?;
    let (sources, dest) = sources_and_dest(line, "ADD")?;
    Ok(Add {
        sources,
        dest,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        keep_git_dir: flags.bool("keep-git-dir"),
        checksum: flags.string("checksum"),
        excludes: flags.strings("exclude"),
    })
}

/// The last word is the destination; a `<<NAME` source becomes the heredoc read for it.
fn sources_and_dest(line: &Line, what: &str) -> Result<(Vec<Source>, String), String> {
    let mut words = json_or_words(&line.args)?;
    if words.len() < 2 {
        return Err(format!(
            "{what} requires at least two arguments, but only one was provided. Destination could not be determined."
        ));
    }
    let dest = words.pop().unwrap_or_default();
    // As in BuildKit, a word the lexer cannot read is simply not a heredoc marker.
    let marker = |w: &str| heredoc::parse_word(w).ok().flatten();
    if marker(&dest).is_some() {
        return Err(format!("{what} cannot accept a heredoc as a destination"));
    }
    let sources = words
        .into_iter()
        .map(|w| {
            let Some(m) = marker(&w) else {
                return Source::Path(w);
            };
            // The body was read with the line; the marker only names it.
            let body = line.heredocs.iter().find(|h| h.name == m.name);
            Source::Heredoc(body.cloned().unwrap_or(m))
        })
        .collect();
    Ok((sources, dest))
}
