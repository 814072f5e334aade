//! `--follow`: new lines written by another thread arrive, across rotations (plain and
//! compressed), truncation and late creation of the file, and the read ends when stopped.

mod logs_common;

/// Named so that `cargo test -p berth-runtime logs` selects these tests.
mod logs {
    use std::path::Path;
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

    use crate::logs_common::*;
    use berth_runtime::logs::{LogConfig, LogEntry, LogWriter, ReadOptions, StopHandle, Stream};
    use chrono::Utc;

    /// Starts following in a thread; entries come out of the channel.
    fn follow(
        dir: &Path,
        cfg: &LogConfig,
        tail: Option<usize>,
    ) -> (StopHandle, mpsc::Receiver<LogEntry>, thread::JoinHandle<()>) {
        let r = reader(
            dir,
            cfg,
            ReadOptions {
                follow: true,
                tail,
                ..Default::default()
            },
        );
        let stop = r.stop_handle();
        let (tx, rx) = mpsc::channel();
        let handle = thread::spawn(move || {
            for e in r {
                if tx.send(e.expect("log entry")).is_err() {
                    break;
                }
            }
        });
        (stop, rx, handle)
    }

    fn recv_lines(rx: &mpsc::Receiver<LogEntry>, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                text(
                    &rx.recv_timeout(Duration::from_secs(10))
                        .expect("entry within 10 s"),
                )
            })
            .collect()
    }

    fn write_lines(w: &mut LogWriter, range: std::ops::Range<usize>) {
        for line in numbered(range) {
            w.write(Stream::Stdout, line.as_bytes(), Utc::now())
                .expect("write log");
        }
    }

    #[test]
    fn follow_picks_up_new_lines_and_ends_when_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        write_lines(&mut w, 0..3);
        let (stop, rx, handle) = follow(dir.path(), &cfg, None);
        assert_eq!(recv_lines(&rx, 3), numbered(0..3));
        let writer = thread::spawn(move || {
            for i in 3..10 {
                write_lines(&mut w, i..i + 1);
                thread::sleep(Duration::from_millis(5));
            }
            w
        });
        assert_eq!(recv_lines(&rx, 7), numbered(3..10));
        let mut w = writer.join().unwrap();
        // Lines written just before the stop are still delivered.
        write_lines(&mut w, 10..12);
        w.write(Stream::Stderr, b"unterminated", Utc::now())
            .unwrap();
        drop(w);
        stop.stop();
        handle.join().unwrap();
        let rest: Vec<String> = rx.iter().map(|e| text(&e)).collect();
        let mut want = numbered(10..12);
        want.push("unterminated".into());
        assert_eq!(rest, want);
    }

    fn follow_across_rotations(opts: &[(&str, &str)], pause_every: usize) -> Vec<String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = config("json-file", opts);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).expect("temp dir");
        write_lines(&mut w, 0..5);
        let (stop, rx, handle) = follow(dir.path(), &cfg, Some(2));
        let writer = thread::spawn(move || {
            for i in 5..1500 {
                write_lines(&mut w, i..i + 1);
                if i % pause_every == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
            }
        });
        writer.join().expect("thread panicked");
        stop.stop();
        handle.join().expect("thread panicked");
        rx.iter().map(|e| text(&e)).collect()
    }

    #[test]
    fn follow_survives_rotation() {
        // Enough files that nothing is rotated out before the follower reads it.
        let got = follow_across_rotations(&[("max-size", "2k"), ("max-file", "200")], 20);
        assert_eq!(got, numbered(3..1500));
    }

    #[test]
    fn follow_survives_rotation_with_compression() {
        let got = follow_across_rotations(
            &[
                ("max-size", "2k"),
                ("max-file", "200"),
                ("compress", "true"),
            ],
            20,
        );
        assert_eq!(got, numbered(3..1500));
    }

    #[test]
    fn a_follower_outrun_by_rotation_never_repeats_or_reorders() {
        // Few small files and no pauses: the follower may lose files, but what it shows is in
        // order, without duplicates, and ends with the last line.
        for compress in ["false", "true"] {
            let got = follow_across_rotations(
                &[
                    ("max-size", "1k"),
                    ("max-file", "2"),
                    ("compress", compress),
                ],
                1_000_000,
            );
            let nums: Vec<usize> = got.iter().map(|l| l[5..9].parse().unwrap()).collect();
            if let Some(i) = nums.windows(2).position(|w| w[0] >= w[1]) {
                panic!(
                    "out of order at {i}: {:?}",
                    &nums[i.saturating_sub(3)..(i + 5).min(nums.len())]
                );
            }
            assert_eq!(nums.last(), Some(&1499));
        }
    }

    #[test]
    fn cancel_ends_a_follow_with_nothing_to_read() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[]);
        let (stop, _rx, handle) = follow(dir.path(), &cfg, None);
        thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        stop.cancel();
        handle.join().unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn follow_waits_for_the_file_and_tail_zero_shows_only_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("local", &[]);
        let (stop, rx, handle) = follow(dir.path(), &cfg, Some(0));
        thread::sleep(Duration::from_millis(80));
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        write_lines(&mut w, 0..4);
        assert_eq!(recv_lines(&rx, 4), numbered(0..4));
        drop(w);

        let (stop2, rx2, handle2) = follow(dir.path(), &cfg, Some(0));
        thread::sleep(Duration::from_millis(80));
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        write_lines(&mut w, 4..6);
        assert_eq!(recv_lines(&rx2, 2), numbered(4..6));
        for s in [stop, stop2] {
            s.stop();
        }
        handle.join().unwrap();
        handle2.join().unwrap();
    }

    #[test]
    fn a_truncated_file_is_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        write_lines(&mut w, 0..3);
        let (stop, rx, handle) = follow(dir.path(), &cfg, None);
        assert_eq!(recv_lines(&rx, 3), numbered(0..3));
        drop(w);
        // What people do to clear a docker log.
        std::fs::File::create(dir.path().join(format!("{ID}-json.log"))).unwrap();
        thread::sleep(Duration::from_millis(100));
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        write_lines(&mut w, 3..4);
        assert_eq!(recv_lines(&rx, 1), numbered(3..4));
        stop.stop();
        handle.join().unwrap();
    }

    #[test]
    fn follow_ends_once_past_until() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        write_lines(&mut w, 0..2);
        let until = Utc::now() + chrono::Duration::milliseconds(150);
        let r = reader(
            dir.path(),
            &cfg,
            ReadOptions {
                follow: true,
                until: Some(until),
                ..Default::default()
            },
        );
        let t = Instant::now();
        let got: Vec<String> = entries(r).iter().map(text).collect();
        assert_eq!(got, numbered(0..2));
        assert!(t.elapsed() < Duration::from_secs(2));
    }
}
