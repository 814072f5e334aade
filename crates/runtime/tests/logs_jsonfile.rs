//! The json-file driver writes exactly the bytes docker writes, and reads them back.

mod logs_common;

/// Named so that `cargo test -p berth-runtime logs` selects these tests.
mod logs {
    use crate::logs_common::*;
    use berth_runtime::logs::{format_time, LogWriter, ReadOptions, Stream, MAX_LINE};
    use chrono::{TimeZone, Utc};

    fn written(chunks: &[(Stream, &[u8])]) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = config("json-file", &[]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).expect("temp dir");
        let t = Utc.timestamp_opt(1_672_531_200, 123_456_789).unwrap();
        for (s, data) in chunks {
            w.write(*s, data, t).expect("write log");
        }
        w.flush_partial().expect("write log");
        std::fs::read_to_string(dir.path().join(format!("{ID}-json.log"))).expect("flush log")
    }

    fn record(log: &str, stream: &str) -> String {
        format!("{{\"log\":\"{log}\",\"stream\":\"{stream}\",\"time\":\"2023-01-01T00:00:00.123456789Z\"}}\n")
    }

    #[test]
    fn sample_lines_byte_for_byte() {
        assert_eq!(
            written(&[(Stream::Stdout, b"hello world\n")]),
            record("hello world\\n", "stdout")
        );
        assert_eq!(
            written(&[(Stream::Stderr, b"oops\n")]),
            record("oops\\n", "stderr")
        );
        assert_eq!(written(&[(Stream::Stdout, b"\n")]), record("\\n", "stdout"));
        assert_eq!(
            written(&[(Stream::Stdout, b"crlf\r\n")]),
            record("crlf\\r\\n", "stdout")
        );
    }

    #[test]
    fn escaping_matches_docker() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"<script>&</script>\n",
                "\\u003cscript\\u003e\\u0026\\u003c/script\\u003e\\n",
            ),
            (b"quote \" backslash \\\n", "quote \\\" backslash \\\\\\n"),
            (
                b"tab\there\x1b[31mred\x00\n",
                "tab\\u0009here\\u001b[31mred\\u0000\\n",
            ),
            ("ünïcödé ✓ 🚢\n".as_bytes(), "ünïcödé ✓ 🚢\\n"),
            (
                "sep\u{2028}para\u{2029}\n".as_bytes(),
                "sep\\u2028para\\u2029\\n",
            ),
            (
                b"bad \xff\xfe utf8 \xe2\x82\n",
                "bad \\ufffd\\ufffd utf8 \\ufffd\\ufffd\\n",
            ),
            (b"del \x7f\n", "del \x7f\\n"),
        ];
        for (input, escaped) in cases {
            assert_eq!(
                written(&[(Stream::Stdout, input)]),
                record(escaped, "stdout"),
                "{input:?}"
            );
        }
    }

    #[test]
    fn partial_lines_and_16k_splitting() {
        // An unterminated end is a record without the trailing newline.
        assert_eq!(
            written(&[(Stream::Stdout, b"prompt> ")]),
            record("prompt\\u003e ", "stdout")
        );
        // A 40000-byte line: two 16 KiB pieces and the rest with the newline.
        let mut long = vec![b'x'; 40_000];
        long.push(b'\n');
        let out = written(&[(Stream::Stderr, &long)]);
        let want = record(&"x".repeat(MAX_LINE), "stderr").repeat(2)
            + &record(&("x".repeat(40_000 - 2 * MAX_LINE) + "\\n"), "stderr");
        assert_eq!(out, want);
    }

    #[test]
    fn streams_keep_their_own_unfinished_lines() {
        let out = written(&[
            (Stream::Stdout, b"out-a"),
            (Stream::Stderr, b"err-a"),
            (Stream::Stdout, b"\n"),
            (Stream::Stderr, b"\n"),
        ]);
        assert_eq!(
            out,
            record("out-a\\n", "stdout") + &record("err-a\\n", "stderr")
        );
    }

    #[test]
    fn go_time_format() {
        let t = |s, n| Utc.timestamp_opt(s, n).unwrap();
        assert_eq!(
            format_time(&t(1_672_531_200, 100)),
            "2023-01-01T00:00:00.0000001Z"
        );
        assert_eq!(format_time(&t(1_672_531_200, 0)), "2023-01-01T00:00:00Z");
        assert_eq!(
            format_time(&t(1_700_000_000, 500_000_000)),
            "2023-11-14T22:13:20.5Z"
        );
    }

    #[test]
    fn reads_back_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        let samples: &[&[u8]] = &[
            b"plain\n",
            b"<&>\t\"\\\n",
            "ü🚢\u{2028}\n".as_bytes(),
            b"tail",
        ];
        for (i, s) in samples.iter().enumerate() {
            let stream = if i % 2 == 0 {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            w.write(stream, s, at(i as i64)).unwrap();
        }
        drop(w);
        let got = entries(reader(dir.path(), &cfg, ReadOptions::default()));
        assert_eq!(got.len(), 4);
        for (i, e) in got.iter().enumerate() {
            assert_eq!(e.line, samples[i]);
            assert_eq!(e.time, at(i as i64));
            assert_eq!(
                e.stream,
                if i % 2 == 0 {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                }
            );
            assert_eq!(e.partial, i == 3);
        }
        // Invalid UTF-8 comes back as replacement characters, as from docker.
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        w.write(Stream::Stdout, b"\xff\n", at(9)).unwrap();
        drop(w);
        let last = entries(reader(
            dir.path(),
            &cfg,
            ReadOptions {
                tail: Some(1),
                ..Default::default()
            },
        ));
        assert_eq!(last[0].line, "\u{fffd}\n".as_bytes());
    }

    #[test]
    fn attrs_are_written_and_read_for_details() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[("labels", "app")]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        w.set_attrs(
            &[("app".to_string(), "web".to_string())]
                .into_iter()
                .collect(),
        );
        w.write(Stream::Stdout, b"hi\n", at(0)).unwrap();
        drop(w);
        let raw = std::fs::read_to_string(dir.path().join(format!("{ID}-json.log"))).unwrap();
        assert_eq!(
        raw,
        "{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"attrs\":{\"app\":\"web\"},\"time\":\"2023-01-01T00:00:00Z\"}\n"
    );
        let got = entries(reader(dir.path(), &cfg, ReadOptions::default()));
        assert_eq!(got[0].attrs, vec![("app".to_string(), "web".to_string())]);
    }
}
