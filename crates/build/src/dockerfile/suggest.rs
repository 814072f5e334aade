//! "Did you mean …?" hints for misspelt instructions and flags, by edit distance.

/// ` (did you mean {prefix}{best}?)` when one of `options` is close to `word`, else "".
pub(super) fn did_you_mean(word: &str, options: &[&str], prefix: &str) -> String {
    let lower = word.to_ascii_lowercase();
    let best = options
        .iter()
        .map(|o| (distance(&lower, &o.to_ascii_lowercase()), *o))
        .min_by_key(|(d, _)| *d);
    match best {
        // Close enough to be a typo, yet not so short that everything is close.
        Some((d, o)) if d > 0 && d <= 2 && d < word.chars().count() => {
            format!(" (did you mean {prefix}{o}?)")
        }
        _ => String::new(),
    }
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_only_for_near_misses() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(
            did_you_mean("FORM", &["FROM", "RUN"], ""),
            " (did you mean FROM?)"
        );
        assert_eq!(did_you_mean("BANANA", &["FROM", "RUN"], ""), "");
        assert_eq!(
            did_you_mean("lnk", &["link"], "--"),
            " (did you mean --link?)"
        );
    }
}
