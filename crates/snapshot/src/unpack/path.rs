//! Archive paths made safe to hand to the kernel: normalised lexically, with any `..` that
//! would climb above the root refused outright, and whiteout names recognised.

/// Normalises an archive path into `out` as `a/b/c`: no leading `/` (absolute entries are
/// relative to the root, as tar treats them), no `.` or empty components, `..` applied
/// lexically. Returns `false` if a `..` would climb above the root. An empty result names
/// the root itself.
pub(crate) fn normalize(raw: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => match out.iter().rposition(|&b| b == b'/') {
                Some(i) => out.truncate(i),
                None if out.is_empty() => return false,
                None => out.clear(),
            },
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(comp);
            }
        }
    }
    true
}

/// Splits a normalised, non-empty path into its parent (empty for the root) and last name.
pub(crate) fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// Appends `name` to the normalised path `dir`.
pub(crate) fn join_into(dir: &[u8], name: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(dir);
    if !dir.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(name);
}

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const META_PREFIX: &[u8] = b".wh..wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

/// What an entry's last name means under the OCI whiteout convention.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// An ordinary name.
    No,
    /// `.wh..wh..opq`: hide everything the lower layers have in this directory.
    Opaque,
    /// `.wh.<name>`: hide `<name>` of the lower layers.
    Remove(&'a [u8]),
    /// Another `.wh..wh.` name (e.g. AUFS hard-link bookkeeping): carries no meaning here.
    Ignored,
    /// `.wh.` with nothing after it, or naming `.` / `..`.
    Invalid,
}

pub(crate) fn classify(name: &[u8]) -> Whiteout<'_> {
    if !name.starts_with(WHITEOUT_PREFIX) {
        return Whiteout::No;
    }
    if name == OPAQUE {
        return Whiteout::Opaque;
    }
    if name.starts_with(META_PREFIX) {
        return Whiteout::Ignored;
    }
    match &name[WHITEOUT_PREFIX.len()..] {
        b"" | b"." | b".." => Whiteout::Invalid,
        target => Whiteout::Remove(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> Option<String> {
        let mut out = Vec::new();
        normalize(raw.as_bytes(), &mut out).then(|| String::from_utf8(out).expect("utf8"))
    }

    #[test]
    fn normalizes_like_tar() {
        assert_eq!(norm("./a/b/").as_deref(), Some("a/b"));
        assert_eq!(norm("/etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(norm("a//./b/../c").as_deref(), Some("a/c"));
        assert_eq!(norm("a/..").as_deref(), Some(""));
        assert_eq!(norm("./").as_deref(), Some(""));
        assert_eq!(norm("a/b/../../c").as_deref(), Some("c"));
    }

    #[test]
    fn refuses_climbing_above_root() {
        assert_eq!(norm("../x"), None);
        assert_eq!(norm("a/../../x"), None);
        assert_eq!(norm("/../x"), None);
        assert_eq!(norm(".."), None);
        assert_eq!(norm("a/b/../../../x"), None);
    }

    #[test]
    fn splits_parent_and_name() {
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split(b"c"), (&b""[..], &b"c"[..]));
    }

    #[test]
    fn classifies_whiteouts() {
        assert_eq!(classify(b"file"), Whiteout::No);
        assert_eq!(classify(b".wh.file"), Whiteout::Remove(b"file"));
        assert_eq!(classify(b".wh..wh..opq"), Whiteout::Opaque);
        assert_eq!(classify(b".wh..wh.plnk"), Whiteout::Ignored);
        assert_eq!(classify(b".wh."), Whiteout::Invalid);
        assert_eq!(classify(b".wh.."), Whiteout::Invalid);
        assert_eq!(classify(b".wh..."), Whiteout::Invalid);
        assert_eq!(classify(b".wh..hidden"), Whiteout::Remove(b".hidden"));
    }
}
