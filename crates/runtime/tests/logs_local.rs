//! The `local` driver: Berth's binary framing round-trips every entry, rotates and
//! compresses by default, tails backwards, and survives torn and corrupt frames.

mod logs_common;

/// Named so that `cargo test -p berth-runtime logs` selects these tests.
mod logs {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use crate::logs_common::*;
    use berth_runtime::logs::{LogWriter, ReadOptions, Stream, MAX_LINE};
    use chrono::{TimeZone, Utc};

    fn log_file(dir: &Path) -> PathBuf {
        dir.join("local-logs").join("container.log")
    }

    #[test]
    fn round_trip_keeps_stream_time_partial_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("local", &[]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        w.write(Stream::Stdout, b"hello\n", t).unwrap();
        w.write(Stream::Stderr, b"\x00\xff binary \xe2\x82\n", t)
            .unwrap();
        let mut long = vec![b'z'; MAX_LINE + 5];
        long.push(b'\n');
        w.write(Stream::Stdout, &long, t).unwrap();
        w.write(Stream::Stderr, b"no end", t).unwrap();
        drop(w);
        let got = entries(reader(dir.path(), &cfg, ReadOptions::default()));
        let summary: Vec<(Stream, bool, usize)> = got
            .iter()
            .map(|e| (e.stream, e.partial, e.line.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Stream::Stdout, false, 6),
                (Stream::Stderr, false, 13),
                (Stream::Stdout, true, MAX_LINE),
                (Stream::Stdout, false, 6),
                (Stream::Stderr, true, 6),
            ]
        );
        // Bytes come back exactly, invalid UTF-8 included (json-file would replace it).
        assert_eq!(got[1].line, b"\x00\xff binary \xe2\x82\n");
        assert!(got.iter().all(|e| e.time == t));
        // 18 bytes of framing per record.
        let size = std::fs::metadata(log_file(dir.path())).unwrap().len();
        assert_eq!(
            size,
            (6 - 1 + 13 - 1 + MAX_LINE + 6 - 1 + 6) as u64 + 5 * 18
        );
    }

    #[test]
    fn rotates_compressed_by_default_and_tails_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("local", &[("max-size", "1k")]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        for (i, line) in numbered(0..500).iter().enumerate() {
            w.write(Stream::Stdout, line.as_bytes(), at(i as i64))
                .unwrap();
        }
        drop(w);
        let names = names(&dir.path().join("local-logs"));
        assert_eq!(
            names,
            [
                "container.log",
                "container.log.1.gz",
                "container.log.2.gz",
                "container.log.3.gz",
                "container.log.4.gz"
            ]
        );
        let everything = lines(dir.path(), &cfg, ReadOptions::default());
        let first = 500 - everything.len();
        assert_eq!(everything, numbered(first..500));
        for n in [1, 10, 36, 37, 38, 100, 1000] {
            let got = lines(
                dir.path(),
                &cfg,
                ReadOptions {
                    tail: Some(n),
                    ..Default::default()
                },
            );
            assert_eq!(
                got,
                everything[everything.len() - n.min(everything.len())..],
                "tail {n}"
            );
        }
        let opts = ReadOptions {
            since: Some(at(480)),
            until: Some(at(489)),
            ..Default::default()
        };
        assert_eq!(lines(dir.path(), &cfg, opts), numbered(480..490));
    }

    fn write_numbered(dir: &Path, n: usize) {
        let cfg = config("local", &[]);
        let mut w = LogWriter::open(dir, ID, &cfg).expect("open log writer");
        for (i, line) in numbered(0..n).iter().enumerate() {
            w.write(Stream::Stdout, line.as_bytes(), at(i as i64))
                .expect("write log");
        }
    }

    #[test]
    fn a_corrupt_frame_in_the_middle_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("local", &[]);
        write_numbered(dir.path(), 10);
        let path = log_file(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        // Each frame is 18 + 9 bytes; break the 4th frame's trailer, and insert garbage after
        // the 7th.
        let frame = 27;
        bytes[4 * frame - 1] ^= 0x55;
        let tail = bytes.split_off(7 * frame);
        bytes.extend_from_slice(b"\x05\x00\x00\x00\x01\x00garbage that is not a frame");
        bytes.extend_from_slice(&tail);
        std::fs::write(&path, &bytes).unwrap();
        let mut want = numbered(0..10);
        want.remove(3);
        assert_eq!(lines(dir.path(), &cfg, ReadOptions::default()), want);
        // Backwards reading meets the garbage and falls back to a forward scan.
        let got = lines(
            dir.path(),
            &cfg,
            ReadOptions {
                tail: Some(8),
                ..Default::default()
            },
        );
        assert_eq!(got, want[1..]);
        let got = lines(
            dir.path(),
            &cfg,
            ReadOptions {
                tail: Some(2),
                ..Default::default()
            },
        );
        assert_eq!(got, want[7..]);
    }

    #[test]
    fn a_torn_last_frame_is_ignored_and_appending_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("local", &[]);
        write_numbered(dir.path(), 5);
        let path = log_file(dir.path());
        let len = std::fs::metadata(&path).unwrap().len();
        // A crash in the middle of writing the 5th frame.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        assert_eq!(
            lines(dir.path(), &cfg, ReadOptions::default()),
            numbered(0..4)
        );
        assert_eq!(
            lines(
                dir.path(),
                &cfg,
                ReadOptions {
                    tail: Some(2),
                    ..Default::default()
                }
            ),
            numbered(2..4)
        );
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        w.write(Stream::Stdout, b"after\n", at(9)).unwrap();
        drop(w);
        let mut want = numbered(0..4);
        want.push("after\n".into());
        assert_eq!(lines(dir.path(), &cfg, ReadOptions::default()), want);
        assert_eq!(
            lines(
                dir.path(),
                &cfg,
                ReadOptions {
                    tail: Some(2),
                    ..Default::default()
                }
            ),
            want[3..]
        );
    }

    #[test]
    fn pure_garbage_reads_as_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("local", &[]);
        std::fs::create_dir_all(dir.path().join("local-logs")).unwrap();
        let mut f = std::fs::File::create(log_file(dir.path())).unwrap();
        let noise: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        f.write_all(&noise).unwrap();
        for tail in [None, Some(5)] {
            let got = entries(reader(
                dir.path(),
                &cfg,
                ReadOptions {
                    tail,
                    ..Default::default()
                },
            ));
            assert!(got.len() < 3, "{} entries from noise", got.len());
        }
    }
}
