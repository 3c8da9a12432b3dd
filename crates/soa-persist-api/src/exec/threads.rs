//! Work spread over scoped threads: CPU-bound steps of a write or a load (joining columns,
//! encoding column chunks) that would otherwise run on one core.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// `f` applied to every item, each item on one of up to `threads` scoped threads (the next
/// free thread takes the next item, so put the largest first); results in the items' order.
/// A panic in `f` is raised again here.
pub fn map_on_threads<I: Send, R: Send>(
    items: Vec<I>,
    threads: usize,
    f: impl Fn(I) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let slots: Vec<Mutex<Option<I>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, n.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = slots.get(i) else { break };
                        let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                        if let Some(item) = taken {
                            done.push((i, f(item)));
                        }
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, r) in done {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_in_order_on_any_number_of_threads() {
        for threads in [0, 1, 2, 7] {
            let got = map_on_threads((0..100u64).collect(), threads, |i| i * i);
            assert_eq!(got, (0..100u64).map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(map_on_threads(Vec::<u8>::new(), 2, |i| i).is_empty());
    }
}
