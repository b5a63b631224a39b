//! Exact simulated latency.
//!
//! Tokio's timer wheel has millisecond ticks and rounds every sleep up to the
//! next tick, so `sleep(20ms)` takes 20–21 ms: a few percent more than the
//! latency a test asked for, which distorts measurements of the engine's own
//! scheduling. This timer thread wakes each sleeper at its exact deadline.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

#[derive(Default)]
struct Queue {
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    waiters: HashMap<u64, oneshot::Sender<()>>,
}

struct Timer {
    queue: Mutex<Queue>,
    wake: Condvar,
    next: AtomicU64,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let t: &'static Timer =
            Box::leak(Box::new(Timer { queue: Mutex::default(), wake: Condvar::new(), next: AtomicU64::new(0) }));
        std::thread::Builder::new()
            .name("iac-test-latency".into())
            .spawn(move || {
                let mut q = t.queue.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let now = Instant::now();
                    while let Some(&Reverse((due, id))) = q.deadlines.peek() {
                        if due > now {
                            break;
                        }
                        q.deadlines.pop();
                        if let Some(w) = q.waiters.remove(&id) {
                            let _ = w.send(());
                        }
                    }
                    q = match q.deadlines.peek() {
                        Some(&Reverse((due, _))) => {
                            t.wake
                                .wait_timeout(q, due.saturating_duration_since(now))
                                .unwrap_or_else(|e| e.into_inner())
                                .0
                        }
                        None => t.wake.wait(q).unwrap_or_else(|e| e.into_inner()),
                    };
                }
            })
            .expect("spawn the latency timer");
        t
    })
}

/// Sleeps for exactly `d` (to within the OS's thread wake-up accuracy).
pub async fn sleep(d: Duration) {
    let t = timer();
    let id = t.next.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    {
        let mut q = t.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.waiters.insert(id, tx);
        q.deadlines.push(Reverse((Instant::now() + d, id)));
    }
    t.wake.notify_one();
    let _ = rx.await;
}
