//! Rotation keeps at most max-file files holding the newest records, and reading walks
//! them in order: whole, `--tail`, `--since`/`--until`, one stream, past corrupt records.

mod logs_common;

/// Named so that `cargo test -p berth-runtime logs` selects these tests.
mod logs {
    use std::io::Write;
    use std::path::Path;

    use crate::logs_common::*;
    use berth_runtime::logs::{read, ErrorKind, LogConfig, LogWriter, ReadOptions, Stream};

    /// Writes `n` numbered lines, line i at time `at(i)`, odd ones to stderr.
    fn fill(dir: &Path, cfg: &LogConfig, n: usize) {
        let mut w = LogWriter::open(dir, ID, cfg).expect("open log writer");
        for (i, line) in numbered(0..n).iter().enumerate() {
            let stream = if i % 2 == 1 {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            w.write(stream, line.as_bytes(), at(i as i64))
                .expect("write log");
        }
    }

    fn all(dir: &Path, cfg: &LogConfig) -> Vec<String> {
        lines(dir, cfg, ReadOptions::default())
    }

    /// The log must be a contiguous run of numbered lines ending with the last one written.
    fn assert_newest_suffix(got: &[String], n: usize) -> usize {
        assert!(!got.is_empty());
        let first = n - got.len();
        assert_eq!(got, numbered(first..n).as_slice());
        first
    }

    fn check_rotation(compress: bool) {
        let dir = tempfile::tempdir().expect("temp dir");
        let compress_opt = if compress { "true" } else { "false" };
        let cfg = config(
            "json-file",
            &[
                ("max-size", "1k"),
                ("max-file", "3"),
                ("compress", compress_opt),
            ],
        );
        fill(dir.path(), &cfg, 300);
        let ext = if compress { ".gz" } else { "" };
        let base = format!("{ID}-json.log");
        assert_eq!(
            names(dir.path()),
            vec![
                base.clone(),
                format!("{base}.1{ext}"),
                format!("{base}.2{ext}")
            ]
        );
        for name in names(dir.path()) {
            let len = std::fs::metadata(dir.path().join(&name))
                .expect("test step")
                .len();
            assert!(len <= 1000, "{name} is {len} bytes");
        }
        let got = all(dir.path(), &cfg);
        let first = assert_newest_suffix(&got, 300);
        // Three files of at most 1000 bytes with ~76-byte records: 13 per file at most.
        assert!(
            got.len() > 24 && got.len() <= 39,
            "{} lines, from {first}",
            got.len()
        );
    }

    #[test]
    fn rotation_keeps_max_file_files_and_the_newest_lines() {
        check_rotation(false);
    }

    #[test]
    fn rotation_with_compression() {
        check_rotation(true);
    }

    #[test]
    fn max_file_one_keeps_only_the_current_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[("max-size", "500"), ("max-file", "1")]);
        fill(dir.path(), &cfg, 100);
        assert_eq!(names(dir.path()), vec![format!("{ID}-json.log")]);
        let got = all(dir.path(), &cfg);
        assert_newest_suffix(&got, 100);
    }

    #[test]
    fn tail_across_file_boundaries() {
        for compress in ["false", "true"] {
            let dir = tempfile::tempdir().unwrap();
            let cfg = config(
                "json-file",
                &[
                    ("max-size", "1k"),
                    ("max-file", "5"),
                    ("compress", compress),
                ],
            );
            fill(dir.path(), &cfg, 200);
            let everything = all(dir.path(), &cfg);
            for n in [
                0,
                1,
                5,
                13,
                14,
                20,
                40,
                everything.len(),
                everything.len() + 10,
            ] {
                let got = lines(
                    dir.path(),
                    &cfg,
                    ReadOptions {
                        tail: Some(n),
                        ..Default::default()
                    },
                );
                let want = &everything[everything.len() - n.min(everything.len())..];
                assert_eq!(got, want, "tail {n}, compress {compress}");
            }
        }
    }

    #[test]
    fn tail_counts_only_the_selected_stream() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[("max-size", "1k"), ("max-file", "4")]);
        fill(dir.path(), &cfg, 100);
        let got = lines(
            dir.path(),
            &cfg,
            ReadOptions {
                tail: Some(20),
                stdout: false,
                ..Default::default()
            },
        );
        let want: Vec<String> = numbered(60..100).into_iter().skip(1).step_by(2).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn since_and_until_filter_by_record_time() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(
            "json-file",
            &[("max-size", "1k"), ("max-file", "10"), ("compress", "true")],
        );
        fill(dir.path(), &cfg, 100);
        let opts = ReadOptions {
            since: Some(at(50)),
            until: Some(at(60)),
            ..Default::default()
        };
        assert_eq!(lines(dir.path(), &cfg, opts), numbered(50..61));
        let opts = ReadOptions {
            since: Some(at(95)),
            ..Default::default()
        };
        assert_eq!(lines(dir.path(), &cfg, opts), numbered(95..100));
        let opts = ReadOptions {
            until: Some(at(-1)),
            ..Default::default()
        };
        assert!(lines(dir.path(), &cfg, opts).is_empty());
        let opts = ReadOptions {
            since: Some(at(50)),
            until: Some(at(60)),
            tail: Some(3),
            ..Default::default()
        };
        assert_eq!(lines(dir.path(), &cfg, opts), numbered(58..61));
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[]);
        fill(dir.path(), &cfg, 10);
        let path = dir.path().join(format!("{ID}-json.log"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut recs: Vec<&str> = text.lines().collect();
        recs.insert(5, "{\"log\":\"half a rec");
        recs.insert(7, "\u{0}\u{0}garbage");
        std::fs::write(&path, recs.join("\n") + "\n").unwrap();
        assert_eq!(all(dir.path(), &cfg), numbered(0..10));
        let got = lines(
            dir.path(),
            &cfg,
            ReadOptions {
                tail: Some(6),
                ..Default::default()
            },
        );
        assert_eq!(got, numbered(4..10));
    }

    #[test]
    fn garbage_files_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[("compress", "true")]);
        let base = dir.path().join(format!("{ID}-json.log"));
        std::fs::write(&base, b"\xff\xfe\x00garbage{}\n{\"log\":1}\n\n").unwrap();
        std::fs::write(
            dir.path().join(format!("{ID}-json.log.1.gz")),
            b"\x1f\x8b\x08\x04junk",
        )
        .unwrap();
        std::fs::write(dir.path().join(format!("{ID}-json.log.2")), [0u8; 3000]).unwrap();
        for tail in [None, Some(3)] {
            let r = read(
                dir.path(),
                ID,
                &cfg,
                ReadOptions {
                    tail,
                    ..Default::default()
                },
            )
            .unwrap();
            let results: Vec<_> = r.collect();
            assert!(results.iter().all(|r| r.is_err()) || results.is_empty());
        }
    }

    #[test]
    fn the_none_driver_cannot_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("none", &[]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        w.write(Stream::Stdout, b"lost\n", at(0)).unwrap();
        let err = read(dir.path(), ID, &cfg, ReadOptions::default())
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "configured logging driver does not support reading"
        );
        assert_eq!(err.kind(), ErrorKind::NotImplemented);
    }

    #[test]
    fn a_log_never_written_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[]);
        assert!(all(&dir.path().join("missing"), &cfg).is_empty());
    }

    #[test]
    fn a_crash_between_rename_and_create_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[("max-size", "1k"), ("max-file", "3")]);
        fill(dir.path(), &cfg, 5);
        let base = dir.path().join(format!("{ID}-json.log"));
        // The state right after `<log>` became `<log>.1`, before a new `<log>` existed.
        std::fs::rename(&base, dir.path().join(format!("{ID}-json.log.1"))).unwrap();
        assert_eq!(all(dir.path(), &cfg), numbered(0..5));
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        w.write(Stream::Stdout, b"line 0005\n", at(5)).unwrap();
        drop(w);
        assert_eq!(all(dir.path(), &cfg), numbered(0..6));
    }

    #[test]
    fn a_file_both_plain_and_compressed_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(
            "json-file",
            &[("max-size", "1k"), ("max-file", "3"), ("compress", "true")],
        );
        fill(dir.path(), &cfg, 20);
        // A crash after the archive was renamed into place but before the source was removed.
        let gz = dir.path().join(format!("{ID}-json.log.1.gz"));
        let mut plain = std::fs::File::create(dir.path().join(format!("{ID}-json.log.1"))).unwrap();
        std::io::copy(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()),
            &mut plain,
        )
        .unwrap();
        plain.flush().unwrap();
        let got = all(dir.path(), &cfg);
        assert_newest_suffix(&got, 20);
    }

    #[test]
    fn one_big_chunk_rotates_exactly_like_line_by_line_writes() {
        let cfg = config(
            "json-file",
            &[("max-size", "1k"), ("max-file", "4"), ("compress", "false")],
        );
        let by_line = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(by_line.path(), ID, &cfg).unwrap();
        for line in numbered(0..120) {
            w.write(Stream::Stdout, line.as_bytes(), at(7)).unwrap();
        }
        drop(w);
        let batched = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(batched.path(), ID, &cfg).unwrap();
        w.write(Stream::Stdout, numbered(0..120).concat().as_bytes(), at(7))
            .unwrap();
        drop(w);
        assert_eq!(names(by_line.path()), names(batched.path()));
        for name in names(by_line.path()) {
            let a = std::fs::read(by_line.path().join(&name)).unwrap();
            let b = std::fs::read(batched.path().join(&name)).unwrap();
            assert!(a.len() <= 1000);
            assert_eq!(a, b, "{name}");
        }
    }
}
