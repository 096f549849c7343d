//! Helpers shared by the fuzz targets.

#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Runs a future that never waits on I/O (every jwt-core path with static keys completes on its
/// first poll). A future that is still pending after one poll is a bug worth a crash report.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("future pending with static keys"),
    }
}

/// Splits the input into at most `n` newline-separated fields (the last one keeps the rest).
pub fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |&b| b == b'\n').collect()
}

/// A field as text (invalid UTF-8 replaced), for APIs that take `&str`.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
