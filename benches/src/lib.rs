//! Shared helpers of the benchmarks: timing (best of N, no assertions) and ratio printing.

use std::time::{Duration, Instant};

/// Runs `f` `runs` times and returns the fastest run (the least disturbed by a noisy machine).
pub fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> (Duration, R) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let r = std::hint::black_box(f());
        best = best.min(start.elapsed());
        out = Some(r);
    }
    (best, out.expect("runs >= 1"))
}

/// Prints one line: what, our time, the peer's time and how many times faster we are.
pub fn report(what: &str, ours: Duration, peer_name: &str, peer: Duration) {
    println!(
        "{what:<44} ours {:>9.2} ms   {peer_name:<14} {:>9.2} ms   ratio {:>6.2}x",
        ms(ours),
        ms(peer),
        peer.as_secs_f64() / ours.as_secs_f64().max(1e-12)
    );
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
