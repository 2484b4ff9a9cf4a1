//! Decoding on every core, output in order. Views that decode one object per key (get's
//! listings) hand the keys to worker threads in chunks and receive the results in key order,
//! with a bounded number of chunks in flight (queued, decoding or waiting for their turn), so
//! memory stays at a few chunks of objects however many keys there are.
//!
//! A panic in the work (a bug: nothing read from a file may panic) is caught on the worker and
//! sent in place of its chunk's results; the caller resumes it when that chunk's turn comes, so it
//! surfaces as it would without threads instead of leaving the caller waiting for a chunk that
//! never arrives.

use crate::error::Result;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Mutex;

/// Items per chunk handed to a worker: large enough that channel traffic is noise, small enough
/// that a listing starts printing at once.
const CHUNK: usize = 64;

/// Worker threads: the machine's cores (at least 1, at most 8).
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
}

/// What a worker sends back for one chunk: its results, or the panic its work raised.
type Done<R> = (usize, std::thread::Result<Vec<R>>);

/// Applies `work` to every item on [`workers`] threads and hands the results to `visit` in the
/// items' order. An error from `visit` stops the workers and is returned; a panic in `work` is
/// resumed on the caller once the results before it have been visited.
pub fn ordered_map<T, R, W, V>(items: Vec<T>, work: W, mut visit: V) -> Result<()>
where
    T: Send,
    R: Send,
    W: Fn(T) -> R + Sync,
    V: FnMut(R) -> Result<()>,
{
    let threads = workers();
    if threads == 1 || items.len() <= CHUNK {
        return items.into_iter().try_for_each(|item| visit(work(item)));
    }
    let (job_tx, job_rx) = sync_channel::<(usize, Vec<T>)>(threads * 2);
    let job_rx = Mutex::new(job_rx);
    let (work, job_rx) = (&work, &job_rx);
    std::thread::scope(|scope| {
        // Declared in here so that returning (an error from `visit`) drops them before the
        // scope joins its threads: the feeder and the workers then see closed channels.
        let (done_tx, done_rx) = channel::<Done<R>>();
        // Chunks in flight (queued, being decoded, or waiting for their turn to be visited) are
        // bounded by credits: the feeder takes one per chunk, the consumer returns it once the
        // chunk is visited. Without them a slow consumer would let results pile up.
        let in_flight = threads * 4;
        let (credit_tx, credit_rx) = sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = credit_tx.send(());
        }
        // A thread that cannot be made (a pids limit) is one worker fewer; none at all is an
        // error, not a panic.
        let (mut spawned, mut refused) = (0, None);
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let worker = std::thread::Builder::new().spawn_scoped(scope, move || {
                // Once the consumer has stopped, jobs are still taken (and dropped) until the
                // feeder is done, so it never blocks on a full queue.
                let mut discard = false;
                loop {
                    let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((seq, chunk)) = job else { return };
                    if discard {
                        continue;
                    }
                    // `work` is only shared (`Fn + Sync`) and the chunk is dropped with the panic:
                    // nothing half-updated is seen afterwards.
                    let results = catch_unwind(AssertUnwindSafe(|| chunk.into_iter().map(work).collect::<Vec<R>>()));
                    let panicked = results.is_err();
                    discard = done_tx.send((seq, results)).is_err() || panicked;
                }
            });
            match worker {
                Ok(_) => spawned += 1,
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        if spawned == 0 {
            drop(job_tx);
            return Err(thread_error(refused));
        }
        drop(done_tx);
        let total = items.len().div_ceil(CHUNK);
        let feeder = std::thread::Builder::new().spawn_scoped(scope, move || {
            let mut items = items.into_iter();
            for seq in 0.. {
                let chunk: Vec<T> = items.by_ref().take(CHUNK).collect();
                if chunk.is_empty() || credit_rx.recv().is_err() || job_tx.send((seq, chunk)).is_err() {
                    return;
                }
            }
        });
        // Without a feeder the workers see the job queue closed (its sender went with the
        // closure) and end.
        feeder.map_err(|e| thread_error(Some(e)))?;
        let mut pending: BTreeMap<usize, std::thread::Result<Vec<R>>> = BTreeMap::new();
        let mut next = 0;
        while next < total {
            let Ok((seq, results)) = done_rx.recv() else { break };
            pending.insert(seq, results);
            while let Some(results) = pending.remove(&next) {
                next += 1;
                // Returning from here drops the channels, so the feeder and the other workers
                // stop; the scope joins them before the panic goes on.
                let results = results.unwrap_or_else(|panic| resume_unwind(panic));
                for r in results {
                    visit(r)?;
                }
                let _ = credit_tx.send(());
            }
        }
        Ok(())
    })
}

/// A thread the system would not make, as a library error.
fn thread_error(e: Option<std::io::Error>) -> crate::Error {
    let e = e.unwrap_or_else(|| std::io::Error::other("no thread"));
    crate::Error::io(std::path::Path::new("<decoding thread>"), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_order_and_errors_stop_it() {
        let items: Vec<u64> = (0..10_000).collect();
        let mut seen = Vec::new();
        ordered_map(
            items.clone(),
            |x| x * 2,
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let mut n = 0;
        let err = ordered_map(
            items,
            |x| x,
            |_| {
                n += 1;
                if n == 500 {
                    return Err(crate::Error::Usage("stop".into()));
                }
                Ok(())
            },
        );
        assert!(err.is_err() && n == 500);
    }

    /// A worker that panics must not leave the caller waiting forever for its chunk: the panic
    /// comes back to the caller (as it would without threads), after the results before it.
    #[test]
    fn a_panicking_worker_ends_the_map() {
        for bad in [0u64, 100, 5_000, 9_999] {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    ordered_map(
                        (0..10_000u64).collect(),
                        |x| if x == bad { panic!("work on item {x} panics") } else { x },
                        |r| {
                            assert_eq!(r, seen, "results before the panic come in order");
                            seen += 1;
                            Ok(())
                        },
                    )
                }));
                let _ = tx.send((outcome.map_err(|p| p.downcast_ref::<String>().cloned()), seen));
            });
            let (outcome, seen) =
                rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap_or_else(|_| panic!("ordered_map hangs when the work panics on item {bad}"));
            let message = outcome.expect_err("the panic is not swallowed");
            assert_eq!(message.as_deref(), Some(format!("work on item {bad} panics").as_str()));
            assert!(seen <= bad, "nothing after the panicking item is visited ({seen} > {bad})");
        }
    }
}
