//! Measures the log writer: throughput for 100-byte lines and heap use (a counting global
//! allocator). Only the heap bound is asserted; timings are printed, never checked. Run
//! `cargo test --release -p berth-runtime --test logs_measure -- --nocapture` for numbers.

mod logs_common;

/// Named so that `cargo test -p berth-runtime logs` selects these tests.
mod logs {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Instant;

    use crate::logs_common::*;
    use berth_runtime::logs::{LogConfig, LogWriter, Stream};
    use chrono::Utc;

    struct Counting;

    static CURRENT: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    // SAFETY: delegates every call to the system allocator unchanged; only counts bytes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: same contract as our caller's.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            // SAFETY: same contract as our caller's.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOC: Counting = Counting;

    /// Tests in this file run one at a time, so the counters see only one writer.
    static SERIAL: Mutex<()> = Mutex::new(());

    struct Report {
        mb_per_s: f64,
        steady_heap: usize,
        peak_heap: usize,
    }

    fn measure(cfg: &LogConfig, lines: usize, chunk: usize) -> Report {
        let dir = tempfile::tempdir().expect("temp dir");
        // 99 bytes of text and a newline.
        let line: Vec<u8> = (0..99)
            .map(|i| b'a' + (i % 26) as u8)
            .chain([b'\n'])
            .collect();
        let data: Vec<u8> = line.repeat(chunk / 100);
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let mut w = LogWriter::open(dir.path(), ID, cfg).expect("open log writer");
        let t = Instant::now();
        let now = Utc::now();
        let mut steady = 0;
        for i in 0..lines / (chunk / 100) {
            w.write(Stream::Stdout, &data, now).expect("write log");
            if i == 10 {
                steady = CURRENT.load(Ordering::Relaxed) - base;
            }
        }
        drop(w);
        let secs = t.elapsed().as_secs_f64();
        Report {
            mb_per_s: (lines * 100) as f64 / secs / 1e6,
            steady_heap: steady,
            peak_heap: PEAK.load(Ordering::Relaxed) - base,
        }
    }

    #[test]
    fn writer_throughput_and_heap() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let n = if cfg!(debug_assertions) {
            50_000
        } else {
            500_000
        };
        for (name, cfg) in [
            ("json-file", config("json-file", &[])),
            (
                "json-file compress",
                config("json-file", &[("max-size", "2m"), ("compress", "true")]),
            ),
            ("local", config("local", &[("max-size", "2m")])),
        ] {
            for chunk in [100, 4000] {
                let r = measure(&cfg, n, chunk);
                println!(
                "{name:>20}, {chunk:>4}-byte writes: {:7.1} MB/s, heap {:>6} B steady, {:>7} B peak",
                r.mb_per_s, r.steady_heap, r.peak_heap
            );
                // No rotation in flight: the record buffer and the path, a few KiB.
                assert!(r.steady_heap < 16 * 1024, "{name}: {} B", r.steady_heap);
                // Compressing a rotated file needs the deflate state; still far below 2 MiB.
                assert!(r.peak_heap < 1024 * 1024, "{name}: {} B", r.peak_heap);
            }
        }
    }

    #[test]
    fn partial_lines_keep_the_heap_bounded() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let mut w = LogWriter::open(dir.path(), ID, &config("json-file", &[])).unwrap();
        // Control bytes escape to six bytes each: the worst case for the record buffer.
        let junk = vec![0x01u8; 4096];
        for _ in 0..200 {
            w.write(Stream::Stdout, &junk, Utc::now()).unwrap();
            w.write(Stream::Stderr, &junk, Utc::now()).unwrap();
        }
        let steady = CURRENT.load(Ordering::Relaxed) - base;
        drop(w);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        println!("unterminated binary output: heap {steady} B steady, {peak} B peak");
        // Two 16 KiB line buffers and one escaped 16 KiB record at most.
        assert!(peak < 200 * 1024, "{peak} B");
    }

    #[test]
    fn rotation_pause_with_compression() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("json-file", &[("max-size", "10m"), ("compress", "true")]);
        let mut w = LogWriter::open(dir.path(), ID, &cfg).unwrap();
        let chunk: Vec<u8> = numbered(0..40).concat().into_bytes();
        let mut worst = std::time::Duration::ZERO;
        let mut total = std::time::Duration::ZERO;
        // About 25 MB of records: two rotations of a full 10 MB file.
        for _ in 0..10_000 {
            let t = Instant::now();
            w.write(Stream::Stdout, &chunk, Utc::now()).unwrap();
            let e = t.elapsed();
            total += e;
            worst = worst.max(e);
        }
        let gz = std::fs::metadata(dir.path().join(format!("{ID}-json.log.1.gz")))
            .unwrap()
            .len();
        println!("10 MB rotation with compression: longest write {worst:?} (all writes {total:?}); .1.gz is {gz} B");
    }
}
