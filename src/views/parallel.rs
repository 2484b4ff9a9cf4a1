//! Decoding on every core, output in order. Views that decode one object per key (get's
//! listings) hand the keys to worker threads in chunks and receive the results in key order,
//! with a bounded number of chunks in flight (queued, decoding or waiting for their turn), so
//! memory stays at a few chunks of objects however many keys there are.

use crate::error::Result;
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Mutex;

/// Items per chunk handed to a worker: large enough that channel traffic is noise, small enough
/// that a listing starts printing at once.
const CHUNK: usize = 64;

/// Worker threads: the machine's cores (at least 1, at most 8).
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
}

/// Applies `work` to every item on [`workers`] threads and hands the results to `visit` in the
/// items' order. An error from `visit` stops the workers and is returned.
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
        let (done_tx, done_rx) = channel::<(usize, Vec<R>)>();
        // Chunks in flight (queued, being decoded, or waiting for their turn to be visited) are
        // bounded by credits: the feeder takes one per chunk, the consumer returns it once the
        // chunk is visited. Without them a slow consumer would let results pile up.
        let in_flight = threads * 4;
        let (credit_tx, credit_rx) = sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = credit_tx.send(());
        }
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                // Once the consumer has stopped, jobs are still taken (and dropped) until the
                // feeder is done, so it never blocks on a full queue.
                let mut discard = false;
                loop {
                    let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((seq, chunk)) = job else { return };
                    if discard {
                        continue;
                    }
                    let results: Vec<R> = chunk.into_iter().map(work).collect();
                    discard = done_tx.send((seq, results)).is_err();
                }
            });
        }
        drop(done_tx);
        let total = items.len().div_ceil(CHUNK);
        scope.spawn(move || {
            let mut items = items.into_iter();
            for seq in 0.. {
                let chunk: Vec<T> = items.by_ref().take(CHUNK).collect();
                if chunk.is_empty() || credit_rx.recv().is_err() || job_tx.send((seq, chunk)).is_err() {
                    return;
                }
            }
        });
        let mut pending: BTreeMap<usize, Vec<R>> = BTreeMap::new();
        let mut next = 0;
        while next < total {
            let Ok((seq, results)) = done_rx.recv() else { break };
            pending.insert(seq, results);
            while let Some(results) = pending.remove(&next) {
                next += 1;
                for r in results {
                    visit(r)?;
                }
                let _ = credit_tx.send(());
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_order_and_errors_stop_it() {
        let items: Vec<u64> = (0..10_000).collect();
        let mut seen = Vec::new();
        ordered_map(items.clone(), |x| x * 2, |r| {
            seen.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let mut n = 0;
        let err = ordered_map(items, |x| x, |_| {
            n += 1;
            if n == 500 {
                return Err(crate::Error::Usage("stop".into()));
            }
            Ok(())
        });
        assert!(err.is_err() && n == 500);
    }
}
