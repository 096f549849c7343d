//! Virtual time for the remote key source's tests. `RemoteJwks` reads tokio's clock; a test runs
//! with it paused (`#[tokio::test(start_paused = true)]`) and holds it still with
//! [`hold_clock`], so lifetimes, cooldown, backoff and timeouts pass only when the test calls
//! `tokio::time::advance`, never because the machine is slow.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Holds tokio's paused clock still while it lives. A paused runtime that has nothing to do jumps
/// to its next timer, and "nothing to do" includes waiting on a socket: a fetch in flight could
/// see its timeout fire, or a refresh run, that no test asked for. A running blocking task
/// inhibits that jump (tokio::time::pause, "Preventing auto-advance"), so while this is held the
/// clock moves only by `tokio::time::advance`.
pub struct ClockHeld {
    _release: std::sync::mpsc::Sender<()>,
}

/// See [`ClockHeld`]. Call it inside the (paused) test runtime.
pub fn hold_clock() -> ClockHeld {
    let (release, held) = std::sync::mpsc::channel::<()>();
    tokio::task::spawn_blocking(move || {
        // Returns when the sender is dropped.
        let _ = held.recv();
    });
    ClockHeld { _release: release }
}

/// The output of `future` if it is ready at its first poll: it waited for nothing (no fetch, no
/// timer), which is what "answered at once" means.
pub fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}
