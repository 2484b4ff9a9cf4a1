//! Decoding slots shared by every request: at most one decoding thread per core runs at once,
//! however many lists are being answered, and each list decodes a small batch at a time. A
//! request's memory is then one batch of objects plus its response chunks in flight, so many
//! concurrent lists of a large keyspace stay within a fixed budget, while a lone list still
//! decodes on every core.

use std::sync::{Condvar, Mutex};

/// The server's decoding slots.
pub struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// Slots held; given back when dropped.
struct Taken<'a> {
    slots: &'a Slots,
    n: usize,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        *self.slots.free.lock().unwrap_or_else(|p| p.into_inner()) += self.n;
        self.slots.freed.notify_all();
    }
}

impl Slots {
    pub fn new(n: usize) -> Slots {
        Slots { free: Mutex::new(n.max(1)), freed: Condvar::new() }
    }

    /// One slot (waiting for it), and up to `want` if they are free now.
    fn take(&self, want: usize) -> Taken<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        let n = want.clamp(1, *free);
        *free -= n;
        Taken { slots: self, n }
    }

    /// `work` applied to every item, in order, on as many threads as slots could be taken
    /// (one at least).
    pub fn map<T: Sync, R: Send>(&self, items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
        let taken = self.take(items.len().div_ceil(8));
        if taken.n == 1 {
            return items.iter().map(&work).collect();
        }
        let part = items.len().div_ceil(taken.n);
        let work = &work;
        std::thread::scope(|scope| {
            let handles: Vec<_> = items.chunks(part).map(|chunk| scope.spawn(move || chunk.iter().map(work).collect::<Vec<R>>())).collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_and_slots_come_back() {
        let slots = Slots::new(3);
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(slots.map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(*slots.free.lock().unwrap(), 3);
        assert!(slots.map(&[] as &[u32], |i| *i).is_empty());
    }
}
