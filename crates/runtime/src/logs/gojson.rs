//! The exact bytes docker's `json-file` driver produces, which tools parsing those files
//! (and byte-comparing tests) rely on: its JSON string escaping, and Go's RFC 3339 time with
//! nanoseconds (`time.RFC3339Nano`, trailing zeros trimmed).

use chrono::{DateTime, Datelike, Timelike, Utc};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether an ASCII byte is copied as is: printable, and not one of `\ " < > &` (escaped so
/// that a log line can never close a surrounding HTML `<script>`, as Go's encoder does).
const fn ascii_plain_table() -> [bool; 128] {
    let mut t = [false; 128];
    let mut b = 0x20;
    while b < 128 {
        t[b] = !matches!(b as u8, b'\\' | b'"' | b'<' | b'>' | b'&');
        b += 1;
    }
    t
}
static ASCII_PLAIN: [bool; 128] = ascii_plain_table();

/// Appends `s` as a quoted JSON string, escaped as docker's json-file writer does: `\n`,
/// `\r`, `\\`, `\"` short forms, every other control byte (tab included) and `< > &` as
/// `\u00XX`, U+2028/U+2029 as `\u2028`/`\u2029`, and each byte of invalid UTF-8 as `\ufffd`.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            if ASCII_PLAIN[usize::from(b)] {
                i += 1;
                continue;
            }
            out.extend_from_slice(&s[start..i]);
            match b {
                b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
            i += 1;
            start = i;
            continue;
        }
        match utf8_len(&s[i..]) {
            None => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(b"\\ufffd");
                i += 1;
                start = i;
            }
            // U+2028 and U+2029 are E2 80 A8 / E2 80 A9: line terminators for JavaScript.
            Some(3) if s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8 => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(b"\\u202");
                out.push(HEX[usize::from(s[i + 2] & 0xf)]);
                i += 3;
                start = i;
            }
            Some(n) => i += n,
        }
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// How many bytes [`write_string`] appends for `s`, quotes included.
pub(crate) fn escaped_len(s: &[u8]) -> usize {
    let mut n = 2;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            n += match b {
                _ if ASCII_PLAIN[usize::from(b)] => 1,
                b'\\' | b'"' | b'\n' | b'\r' => 2,
                _ => 6,
            };
            i += 1;
            continue;
        }
        match utf8_len(&s[i..]) {
            None => {
                n += 6;
                i += 1;
            }
            Some(3) if s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8 => {
                n += 6;
                i += 3;
            }
            Some(k) => {
                n += k;
                i += k;
            }
        }
    }
    n
}

/// The length of the valid UTF-8 sequence starting `s` (whose first byte is ≥ 0x80), or
/// `None` if it is invalid — decided as Go's `utf8.DecodeRune` does, so that an invalid
/// sequence costs exactly one byte (one `\ufffd` per bad byte, like docker).
fn utf8_len(s: &[u8]) -> Option<usize> {
    let cont = |i: usize, lo: u8, hi: u8| s.get(i).is_some_and(|&b| (lo..=hi).contains(&b));
    let (n, lo, hi) = match s[0] {
        0xc2..=0xdf => (2, 0x80, 0xbf),
        0xe0 => (3, 0xa0, 0xbf),
        0xe1..=0xec | 0xee..=0xef => (3, 0x80, 0xbf),
        0xed => (3, 0x80, 0x9f),
        0xf0 => (4, 0x90, 0xbf),
        0xf1..=0xf3 => (4, 0x80, 0xbf),
        0xf4 => (4, 0x80, 0x8f),
        _ => return None,
    };
    let ok = cont(1, lo, hi) && (2..n).all(|i| cont(i, 0x80, 0xbf));
    ok.then_some(n)
}

fn push_digits(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = value;
    let mut i = buf.len();
    while v > 0 || i == buf.len() {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let len = buf.len() - i;
    for _ in len..width {
        out.push(b'0');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `t` as Go's `time.RFC3339Nano` in UTC: `2006-01-02T15:04:05.999999999Z`, the
/// fraction with trailing zeros removed and left out entirely when zero.
pub(crate) fn write_time(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    let year = t.year();
    if year < 0 {
        out.push(b'-');
    }
    push_digits(out, year.unsigned_abs(), 4);
    out.push(b'-');
    push_digits(out, t.month(), 2);
    out.push(b'-');
    push_digits(out, t.day(), 2);
    out.push(b'T');
    push_digits(out, t.hour(), 2);
    out.push(b':');
    push_digits(out, t.minute(), 2);
    out.push(b':');
    push_digits(out, t.second(), 2);
    // chrono encodes a leap second as nanos ≥ 1e9; Go has no leap seconds, so clamp.
    let mut nanos = t.nanosecond().min(999_999_999);
    if nanos != 0 {
        let mut width = 9;
        while nanos.is_multiple_of(10) {
            nanos /= 10;
            width -= 1;
        }
        out.push(b'.');
        push_digits(out, nanos, width);
    }
    out.push(b'Z');
}

/// A time as Go's `time.RFC3339Nano` formats it in UTC, as json-file records hold it:
/// `2023-01-01T00:00:00.12Z` (trailing zeros trimmed; docker's `logs --timestamps` pads to
/// nine digits instead).
pub fn format_time(t: &DateTime<Utc>) -> String {
    let mut out = Vec::with_capacity(30);
    write_time(&mut out, t);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn esc(s: &[u8]) -> String {
        let mut out = Vec::new();
        write_string(&mut out, s);
        assert_eq!(escaped_len(s), out.len(), "escaped_len of {s:?}");
        String::from_utf8(out).unwrap_or_else(|e| panic!("not UTF-8: {e}"))
    }

    #[test]
    fn escapes_like_docker() {
        assert_eq!(esc(b"hello\n"), r#""hello\n""#);
        assert_eq!(esc(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            esc(b"<a href=\"x\">&</a>"),
            r#""\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e""#
        );
    }

    #[test]
    fn control_bytes() {
        assert_eq!(esc(b"\t\r\x00\x1f\x7f"), "\"\\u0009\\r\\u0000\\u001f\x7f\"");
        assert_eq!(esc(b"\x08\x0c"), "\"\\u0008\\u000c\"");
    }

    #[test]
    fn unicode() {
        assert_eq!(esc("héllo €𝄞".as_bytes()), "\"héllo €𝄞\"");
        assert_eq!(
            esc("a\u{2028}b\u{2029}c".as_bytes()),
            r#""a\u2028b\u2029c""#
        );
        // Each invalid byte becomes one replacement character, as in Go.
        assert_eq!(esc(b"a\xffb"), r#""a\ufffdb""#);
        assert_eq!(esc(b"\xe2\x82A"), r#""\ufffd\ufffdA""#);
        assert_eq!(esc(b"\xed\xa0\x80"), r#""\ufffd\ufffd\ufffd""#);
        assert_eq!(esc(b"\xc0\xaf"), r#""\ufffd\ufffd""#);
        assert_eq!(esc(b"end\xe2\x82"), r#""end\ufffd\ufffd""#);
        assert_eq!(esc(b"\xf4\x90\x80\x80"), r#""\ufffd\ufffd\ufffd\ufffd""#);
    }

    #[test]
    fn go_rfc3339_nano() {
        let t = |s: i64, n: u32| Utc.timestamp_opt(s, n).single().unwrap_or_default();
        assert_eq!(
            format_time(&t(1_672_531_200, 123_456_789)),
            "2023-01-01T00:00:00.123456789Z"
        );
        assert_eq!(
            format_time(&t(1_672_531_200, 120_000_000)),
            "2023-01-01T00:00:00.12Z"
        );
        assert_eq!(
            format_time(&t(1_672_531_200, 1)),
            "2023-01-01T00:00:00.000000001Z"
        );
        assert_eq!(format_time(&t(1_672_531_200, 0)), "2023-01-01T00:00:00Z");
        assert_eq!(format_time(&t(0, 500)), "1970-01-01T00:00:00.0000005Z");
        assert_eq!(format_time(&t(-62_135_596_800, 0)), "0001-01-01T00:00:00Z");
        assert_eq!(
            format_time(&t(253_402_300_799, 999_999_999)),
            "9999-12-31T23:59:59.999999999Z"
        );
    }
}
