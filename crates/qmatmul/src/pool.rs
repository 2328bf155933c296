//! The native thread pool of the products: helper threads that spin between products.
//!
//! A decoding step of a small model is hundreds of products of tens of microseconds each.
//! Handing each to rayon from outside its pool puts the caller to sleep until the product is
//! done and wakes it again, which costs as much as the product, so small products used to
//! stay on one thread. Here the caller works on the product itself, claiming chunks from an
//! atomic counter, and helpers that keep polling for a while after each product (as
//! llama.cpp's threads do within a graph) claim the rest. A helper that has seen no work for
//! [`SPIN`] parks until the next product. The caller never sleeps: it only waits for chunks a
//! helper has already begun.

#![allow(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle helper keeps polling before it parks.
const SPIN: Duration = Duration::from_micros(300);

/// One product: `f(c)` for every chunk `c < n`, each claimed once.
struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    n: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    panicked: AtomicBool,
}

impl Job<'_> {
    /// Claims and runs chunks until none are left.
    fn work(&self) {
        loop {
            let c = self.next.fetch_add(1, SeqCst);
            if c >= self.n {
                return;
            }
            if catch_unwind(AssertUnwindSafe(|| (self.f)(c))).is_err() {
                self.panicked.store(true, SeqCst);
            }
            self.done.fetch_add(1, SeqCst);
        }
    }
}

struct Pool {
    helpers: usize,
    /// The current job (a `Job` on the caller's stack), or null.
    job: AtomicPtr<Job<'static>>,
    /// Bumped for every job, so helpers see a new one.
    generation: AtomicU64,
    /// Helpers between reading `job` and being done with it.
    active: AtomicUsize,
    /// Parked helpers, the lock they park under and their wake-up call.
    parked: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    /// One caller at a time (products from several threads take turns).
    turn: Mutex<()>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            helpers: rayon::current_num_threads().saturating_sub(1),
            job: AtomicPtr::new(std::ptr::null_mut()),
            generation: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            parked: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            turn: Mutex::new(()),
        }));
        for i in 0..pool.helpers {
            let spawned = std::thread::Builder::new().name(format!("qmatmul-{i}")).spawn(move || helper(pool));
            if spawned.is_err() {
                // Without that helper the caller does its share: slower, still correct.
                break;
            }
        }
        pool
    })
}

fn helper(pool: &'static Pool) {
    let mut seen = pool.generation.load(SeqCst);
    loop {
        // Poll for a new job, then park.
        let started = Instant::now();
        let mut polls = 0u32;
        while pool.generation.load(SeqCst) == seen {
            std::hint::spin_loop();
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(256) && started.elapsed() > SPIN {
                let mut guard = pool.lock.lock().unwrap_or_else(|e| e.into_inner());
                pool.parked.fetch_add(1, SeqCst);
                while pool.generation.load(SeqCst) == seen {
                    guard =
                        pool.wake.wait_timeout(guard, Duration::from_millis(5)).unwrap_or_else(|e| e.into_inner()).0;
                }
                pool.parked.fetch_sub(1, SeqCst);
                break;
            }
        }
        seen = pool.generation.load(SeqCst);
        pool.active.fetch_add(1, SeqCst);
        let job = pool.job.load(SeqCst);
        if !job.is_null() {
            // SAFETY: the caller keeps the job alive until `active` is back to zero after it
            // cleared `job`; this helper counted itself active before reading the pointer.
            unsafe { &*job }.work();
        }
        pool.active.fetch_sub(1, SeqCst);
    }
}

/// Whether products can be shared (more than one thread configured).
pub(crate) fn threads() -> usize {
    pool().helpers + 1
}

/// `f(c, part)` for each `chunk`-long part `c` of `data` (the last may be shorter), over
/// this thread and the helpers.
pub(crate) fn par_chunks(data: &mut [f32], chunk: usize, f: &(dyn Fn(usize, &mut [f32]) + Sync)) {
    let (len, base) = (data.len(), data.as_mut_ptr() as usize);
    run(len.div_ceil(chunk), &|c| {
        let start = c * chunk;
        // SAFETY: `run` calls each chunk index once, so the parts are disjoint pieces of
        // `data`, which is borrowed mutably for the whole call.
        let part = unsafe { std::slice::from_raw_parts_mut((base as *mut f32).add(start), chunk.min(len - start)) };
        f(c, part);
    });
}

/// Runs `f(c)` for `c in 0..n` over this thread and the helpers; returns when all are done.
fn run(n: usize, f: &(dyn Fn(usize) + Sync)) {
    let pool = pool();
    if pool.helpers == 0 || n <= 1 {
        (0..n).for_each(f);
        return;
    }
    let _turn = pool.turn.lock().unwrap_or_else(|e| e.into_inner());
    let job = Job { f, n, next: AtomicUsize::new(0), done: AtomicUsize::new(0), panicked: AtomicBool::new(false) };
    // SAFETY: the lifetime is erased only for the time the pointer is published; it is
    // cleared, and every helper that read it is waited for, before `job` goes out of scope.
    let erased: *mut Job<'static> = (&raw const job).cast_mut().cast();
    pool.job.store(erased, SeqCst);
    pool.generation.fetch_add(1, SeqCst);
    if pool.parked.load(SeqCst) > 0 {
        let _guard = pool.lock.lock().unwrap_or_else(|e| e.into_inner());
        pool.wake.notify_all();
    }
    job.work();
    while job.done.load(SeqCst) < n {
        std::hint::spin_loop();
    }
    pool.job.store(std::ptr::null_mut(), SeqCst);
    while pool.active.load(SeqCst) > 0 {
        std::hint::spin_loop();
    }
    if job.panicked.load(SeqCst) {
        panic!("a matrix product panicked on a helper thread");
    }
}

#[cfg(test)]
mod tests {
    use super::par_chunks;

    /// Products from several threads at once take turns and each gets every part once.
    #[test]
    fn concurrent_callers_get_every_chunk_once() {
        std::thread::scope(|s| {
            for t in 0..4usize {
                s.spawn(move || {
                    for round in 0..200usize {
                        let len = 1 + (t * 37 + round * 11) % 300;
                        let mut data = vec![0.0f32; len];
                        par_chunks(&mut data, 7, &|c, part| {
                            for (i, v) in part.iter_mut().enumerate() {
                                *v += (c * 7 + i) as f32;
                            }
                        });
                        assert!(data.iter().enumerate().all(|(i, &v)| v == i as f32), "thread {t} round {round}");
                    }
                });
            }
        });
    }

    #[test]
    fn a_panicking_chunk_is_reported_to_the_caller() {
        let mut data = vec![0.0f32; 64];
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            par_chunks(&mut data, 1, &|c, _| assert!(c != 40, "chunk 40"));
        }));
        assert!(r.is_err());
        // The pool still works afterwards.
        par_chunks(&mut data, 8, &|_, part| part.fill(1.0));
        assert!(data.iter().all(|&v| v == 1.0));
    }
}
