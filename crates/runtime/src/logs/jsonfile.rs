//! The `json-file` record: one JSON object per line, byte for byte what docker writes —
//! `{"log":"…\n","stream":"stdout","attrs":{…},"time":"…"}` — and its decoding.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::gojson;
use super::{LogEntry, Stream};

/// Appends one record and its terminating newline to `out`.
///
/// `newline` says whether the line was complete: a partial record's `log` has no trailing
/// `\n`, which is how docker (and Berth's reader) tell them apart. `attrs` is the already
/// encoded attributes object (see [`encode_attrs`]), or empty for none.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    stream: Stream,
    line: &[u8],
    newline: bool,
    time: &DateTime<Utc>,
    attrs: &[u8],
) {
    out.push(b'{');
    if !line.is_empty() || newline {
        out.extend_from_slice(b"\"log\":");
        gojson::write_string(out, line);
        if newline {
            // Reopen the string to add the newline: it is plain ASCII, so escaping the line
            // alone gives the same bytes as escaping the line with it.
            out.pop();
            out.extend_from_slice(b"\\n\"");
        }
        out.push(b',');
    }
    out.extend_from_slice(b"\"stream\":\"");
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(b"\",");
    if !attrs.is_empty() {
        out.extend_from_slice(b"\"attrs\":");
        out.extend_from_slice(attrs);
        out.push(b',');
    }
    out.extend_from_slice(b"\"time\":\"");
    gojson::write_time(out, time);
    out.extend_from_slice(b"\"}\n");
}

/// Encodes record attributes as the `attrs` object docker writes (keys sorted, as Go
/// marshals a map); empty when there are none.
pub(crate) fn encode_attrs(attrs: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    if attrs.is_empty() {
        return out;
    }
    out.push(b'{');
    for (i, (k, v)) in attrs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        gojson::write_string(&mut out, k.as_bytes());
        out.push(b':');
        gojson::write_string(&mut out, v.as_bytes());
    }
    out.push(b'}');
    out
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    log: String,
    stream: String,
    #[serde(default)]
    attrs: Option<BTreeMap<String, String>>,
    time: String,
}

/// Decodes one line (without its terminating newline); the error says what is wrong.
pub(crate) fn decode(raw: &[u8]) -> Result<LogEntry, String> {
    let rec: Record = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    let stream = match rec.stream.as_str() {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        other => return Err(format!("unknown stream {other:?}")),
    };
    let time = DateTime::parse_from_rfc3339(&rec.time)
        .map_err(|e| format!("invalid time {:?}: {e}", rec.time))?
        .with_timezone(&Utc);
    let partial = !rec.log.ends_with('\n');
    Ok(LogEntry {
        stream,
        time,
        line: rec.log.into_bytes(),
        partial,
        attrs: rec
            .attrs
            .map(|a| a.into_iter().collect())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.timestamp_opt(1_672_531_200, 123_456_789).unwrap()
    }

    fn enc(stream: Stream, line: &[u8], newline: bool, attrs: &[u8]) -> String {
        let mut out = Vec::new();
        encode(&mut out, stream, line, newline, &t(), attrs);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn exact_bytes() {
        assert_eq!(
            enc(Stream::Stdout, b"hello", true, b""),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:00.123456789Z\"}\n"
        );
        assert_eq!(
            enc(Stream::Stderr, b"part", false, b""),
            "{\"log\":\"part\",\"stream\":\"stderr\",\"time\":\"2023-01-01T00:00:00.123456789Z\"}\n"
        );
        assert_eq!(
            enc(Stream::Stdout, b"", true, b""),
            "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2023-01-01T00:00:00.123456789Z\"}\n"
        );
    }

    #[test]
    fn attrs_sit_between_stream_and_time() {
        let mut a = BTreeMap::new();
        a.insert("z".to_string(), "1".to_string());
        a.insert("a<".to_string(), "x".to_string());
        let attrs = encode_attrs(&a);
        assert_eq!(
            enc(Stream::Stdout, b"x", true, &attrs),
            "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"attrs\":{\"a\\u003c\":\"x\",\"z\":\"1\"},\
             \"time\":\"2023-01-01T00:00:00.123456789Z\"}\n"
        );
        let e = decode(
            enc(Stream::Stdout, b"x", true, &attrs)
                .trim_end()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            e.attrs,
            vec![("a<".into(), "x".into()), ("z".into(), "1".into())]
        );
    }

    #[test]
    fn round_trip() {
        let raw = enc(
            Stream::Stderr,
            "tab\there <&> é\u{2028}".as_bytes(),
            true,
            b"",
        );
        let e = decode(raw.trim_end().as_bytes()).unwrap();
        assert_eq!(e.stream, Stream::Stderr);
        assert_eq!(e.time, t());
        assert_eq!(e.line, "tab\there <&> é\u{2028}\n".as_bytes());
        assert!(!e.partial);
        let e = decode(enc(Stream::Stdout, b"p", false, b"").trim_end().as_bytes()).unwrap();
        assert!(e.partial);
        assert_eq!(e.line, b"p");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for raw in [
            &b""[..],
            b"{",
            b"not json",
            b"{\"log\":\"x\"}",
            b"{\"log\":\"x\",\"stream\":\"stdin\",\"time\":\"2023-01-01T00:00:00Z\"}",
            b"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"yesterday\"}",
            b"\xff\xfe",
        ] {
            assert!(decode(raw).is_err());
        }
    }
}
