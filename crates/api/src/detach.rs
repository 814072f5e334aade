//! The detach keys of an attached stream: docker's `detachKeys` syntax (`ctrl-p,ctrl-q`) and
//! the matcher that watches stdin for them. The engine runs it on what it forwards to the
//! container, and the CLI on what it reads from the terminal, so either side can end the
//! attachment without the container seeing the keys.

/// docker's default: ctrl-p, ctrl-q.
pub const DEFAULT_KEYS: [u8; 2] = [0x10, 0x11];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid escape keys ({0}) provided")]
pub struct InvalidDetachKeys(pub String);

/// Parses `ctrl-<a-z@[\]^_>` and single characters, comma-separated.
pub fn parse(s: &str) -> Result<Vec<u8>, InvalidDetachKeys> {
    let invalid = || InvalidDetachKeys(s.to_string());
    let mut out = Vec::new();
    for key in s.split(',') {
        if let Some(c) = key.strip_prefix("ctrl-") {
            out.push(match c.as_bytes() {
                [b] if b.is_ascii_lowercase() => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(invalid()),
            });
        } else if key.len() == 1 {
            out.push(key.as_bytes()[0]);
        } else {
            return Err(invalid());
        }
    }
    Ok(out)
}

/// Watches a byte stream for the detach sequence, holding back a partial match.
#[derive(Debug, Clone)]
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    pub fn new(keys: Vec<u8>) -> DetachMatcher {
        DetachMatcher { keys, matched: 0 }
    }

    /// Appends to `out` what of `input` is to be passed on; true when the sequence was
    /// typed (what follows it in `input` is dropped).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        input.iter().any(|&b| self.push(b, out))
    }

    /// The bytes held back as a partial match, released when the input ends.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.keys[..self.matched]);
        self.matched = 0;
    }

    fn push(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            out.push(b);
            return false;
        }
        if b == self.keys[self.matched] {
            self.matched += 1;
            if self.matched == self.keys.len() {
                self.matched = 0;
                return true;
            }
            return false;
        }
        if self.matched == 0 {
            out.push(b);
            return false;
        }
        // A partial match broke: its first byte cannot begin the sequence any more, but the
        // rest (and this byte) may, as in ctrl-p ctrl-p ctrl-q.
        let held = self.keys[1..self.matched].to_vec();
        out.push(self.keys[0]);
        self.matched = 0;
        for h in held {
            self.push(h, out);
        }
        self.push(b, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(keys: &[u8], input: &[u8]) -> (Vec<u8>, bool) {
        let mut m = DetachMatcher::new(keys.to_vec());
        let mut out = Vec::new();
        let detached = m.feed(input, &mut out);
        if !detached {
            m.finish(&mut out);
        }
        (out, detached)
    }

    #[test]
    fn syntax() {
        assert_eq!(parse("ctrl-p,ctrl-q").unwrap(), DEFAULT_KEYS);
        assert_eq!(parse("ctrl-a,x").unwrap(), [1, b'x']);
        assert_eq!(parse("ctrl-@,ctrl-_").unwrap(), [0, 31]);
        assert_eq!(
            parse("ctrl-1").unwrap_err().to_string(),
            "Invalid escape keys (ctrl-1) provided"
        );
        assert!(parse("abc").is_err());
    }

    #[test]
    fn the_sequence_detaches_and_is_not_passed_on() {
        assert_eq!(
            run(&DEFAULT_KEYS, b"ab\x10c\x10\x11zz"),
            (b"ab\x10c".to_vec(), true)
        );
    }

    #[test]
    fn a_broken_partial_match_can_start_again() {
        assert_eq!(
            run(&DEFAULT_KEYS, b"\x10\x10\x11"),
            (b"\x10".to_vec(), true)
        );
        assert_eq!(run(b"aab", b"aaab"), (b"a".to_vec(), true));
    }

    #[test]
    fn a_partial_match_at_the_end_is_released() {
        assert_eq!(run(&DEFAULT_KEYS, b"x\x10"), (b"x\x10".to_vec(), false));
    }

    #[test]
    fn across_reads() {
        let mut m = DetachMatcher::new(DEFAULT_KEYS.to_vec());
        let mut out = Vec::new();
        assert!(!m.feed(b"a\x10", &mut out));
        assert!(m.feed(b"\x11b", &mut out));
        assert_eq!(out, b"a");
    }
}
