//! Running a batch of jobs (layers to unpack, download or upload) on a few scoped threads:
//! each thread takes the next job, and after the first failure none takes another.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{EngineError, EngineResult};

/// Runs `work` on every job, `threads` at a time, and returns the results in the jobs' order,
/// or the first error. With `runtime`, each thread enters it, so that what a job makes there
/// (bodies, timers) belongs to the engine's runtime.
pub fn run<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    runtime: Option<&tokio::runtime::Handle>,
    work: impl Fn(&J) -> EngineResult<R> + Sync,
) -> EngineResult<Vec<R>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    let first_error: Mutex<Option<EngineError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(jobs.len()) {
            scope.spawn(|| {
                let _entered = runtime.map(|r| r.enter());
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { return };
                    match work(job) {
                        Ok(r) => lock(&done).push((i, r)),
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            lock(&first_error).get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each holds a list or an option only; a panic elsewhere cannot leave it half-updated.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_jobs_order_and_the_first_error_wins() {
        let jobs: Vec<u32> = (0..50).collect();
        let out = run(&jobs, 4, None, |j| Ok(j * 2)).unwrap();
        assert_eq!(out, jobs.iter().map(|j| j * 2).collect::<Vec<_>>());
        let err = run(&jobs, 3, None, |j| {
            if *j == 7 {
                Err(EngineError::invalid("seven"))
            } else {
                Ok(*j)
            }
        })
        .unwrap_err();
        assert_eq!(err.message, "seven");
        assert!(run::<u32, u32>(&[], 4, None, |j| Ok(*j))
            .unwrap()
            .is_empty());
    }
}
