//! The answer cache: answers kept in memory by a SHA-256 of the token (the token itself is never
//! kept, logged or sent anywhere but to the introspection endpoint), each until the earlier of
//! its TTL and the token's `exp`; one call in flight per token, whatever the number of requests
//! waiting for it; an optional second level shared by every instance
//! ([`IntrospectionStore`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use quick_cache::sync::Cache;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::error::{InvalidToken, StoreError};
use crate::keys::verifier::VerifyError;

/// A second level for introspection answers, shared by every instance behind a load balancer
/// ([`crate::RedisStore`] implements it with the `redis` feature). Keys are SHA-256 digests of
/// tokens; values are answers the authorization server gave, each with the last second it may
/// be used. An implementation may forget anything at any time; it must never return an answer
/// past its `until`.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use jwt_core::{IntrospectionStore, StoreError};
///
/// /// One process's map, for tests.
/// #[derive(Debug, Default)]
/// struct MapStore(Mutex<HashMap<[u8; 32], (Vec<u8>, u64)>>);
///
/// #[async_trait::async_trait]
/// impl IntrospectionStore for MapStore {
///     async fn load_answer(&self, key: &[u8; 32], now: u64) -> Result<Option<Vec<u8>>, StoreError> {
///         let map = self.0.lock().unwrap();
///         Ok(map.get(key).filter(|(_, until)| now < *until).map(|(answer, _)| answer.clone()))
///     }
///
///     async fn save_answer(&self, key: &[u8; 32], answer: &[u8], until: u64) -> Result<(), StoreError> {
///         self.0.lock().unwrap().insert(*key, (answer.to_vec(), until));
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait IntrospectionStore: Send + Sync + fmt::Debug {
    /// The answer saved under `key`, unless its `until` has passed at `now` (Unix seconds).
    async fn load_answer(&self, key: &[u8; 32], now: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Saves `answer` under `key` until `until` (Unix seconds, exclusive).
    async fn save_answer(
        &self,
        key: &[u8; 32],
        answer: &[u8],
        until: u64,
    ) -> Result<(), StoreError>;
}

/// What one call (or a kept answer) says about a token: its claims, or why it is refused, and
/// until when that holds.
#[derive(Debug, Clone)]
pub(super) struct Kept {
    pub(super) answer: Result<Arc<Map<String, Value>>, InvalidToken>,
    pub(super) until: u64,
}

/// What a call in flight hands every request that waits for it.
pub(super) type Flight = Result<Kept, VerifyError>;

/// The in-memory level and the calls in flight.
pub(super) struct Answers {
    kept: Cache<[u8; 32], Kept>,
    in_flight: Mutex<HashMap<[u8; 32], Arc<OnceCell<Flight>>>>,
}

impl Answers {
    pub(super) fn new(max_entries: usize) -> Self {
        Self {
            kept: Cache::new(max_entries),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The answer kept for `key`, while it holds at `now`.
    pub(super) fn get(&self, key: &[u8; 32], now: u64) -> Option<Kept> {
        let kept = self.kept.get(key)?;
        if now < kept.until {
            Some(kept)
        } else {
            self.kept.remove(key);
            None
        }
    }

    /// Keeps `kept` for `key` unless it is already over at `now`.
    pub(super) fn keep(&self, key: [u8; 32], kept: Kept, now: u64) {
        if now < kept.until {
            self.kept.insert(key, kept);
        }
    }

    /// The call in flight for `key`, joined, or a new one to start: every request for the same
    /// token gets the same cell, and the first to poll it makes the call.
    pub(super) fn flight(&self, key: [u8; 32]) -> Arc<OnceCell<Flight>> {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(key).or_default().clone()
    }

    /// A request is done with the call `cell` for `key` (it landed, or the request was
    /// dropped): the entry goes once the call has landed, or when nobody else waits for it (the
    /// map and this request hold the only handles), so that abandoned calls leave nothing.
    pub(super) fn leave(&self, key: &[u8; 32], cell: &Arc<OnceCell<Flight>>) {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, cell))
            && (cell.initialized() || Arc::strong_count(cell) <= 2)
        {
            map.remove(key);
        }
    }

    /// The calls in flight (waited for or abandoned).
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The answers kept now.
    pub(super) fn len(&self) -> usize {
        self.kept.len()
    }
}

/// An answer as the shared level keeps it: `<until>\n<the answer's JSON>`.
pub(super) fn encode(until: u64, answer_json: &[u8]) -> Vec<u8> {
    let mut out = format!("{until}\n").into_bytes();
    out.extend_from_slice(answer_json);
    out
}

/// The `until` and the answer's JSON of a shared entry.
pub(super) fn decode(stored: &[u8]) -> Option<(u64, &[u8])> {
    let split = stored.iter().position(|&b| b == b'\n')?;
    let until = std::str::from_utf8(&stored[..split]).ok()?.parse().ok()?;
    Some((until, &stored[split + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_entries_round_trip() {
        let stored = encode(42, br#"{"active":true}"#);
        assert_eq!(decode(&stored), Some((42, &br#"{"active":true}"#[..])));
        assert_eq!(decode(b"no newline"), None);
        assert_eq!(decode(b"x\n{}"), None);
    }

    #[test]
    fn answers_expire_and_flights_are_shared() {
        let answers = Answers::new(10);
        let kept = Kept {
            answer: Err(InvalidToken::Inactive),
            until: 100,
        };
        answers.keep([1; 32], kept.clone(), 100);
        assert!(
            answers.get(&[1; 32], 99).is_none(),
            "already over: not kept"
        );
        answers.keep([1; 32], kept, 50);
        assert!(answers.get(&[1; 32], 99).is_some());
        assert!(answers.get(&[1; 32], 100).is_none());
        assert_eq!(
            answers.len(),
            0,
            "an answer past its time is dropped when found"
        );
        let a = answers.flight([2; 32]);
        let b = answers.flight([2; 32]);
        assert!(Arc::ptr_eq(&a, &b));
        // `b` still waits: `a` leaving keeps the call.
        answers.leave(&[2; 32], &a);
        assert_eq!(answers.in_flight(), 1);
        drop(a);
        // The last one leaving an abandoned call removes it.
        answers.leave(&[2; 32], &b);
        assert_eq!(answers.in_flight(), 0);
        let c = answers.flight([2; 32]);
        assert!(!Arc::ptr_eq(&b, &c));
        c.set(Err(VerifyError::Unavailable)).unwrap();
        let d = answers.flight([2; 32]);
        // A landed call goes as soon as one request leaves it.
        answers.leave(&[2; 32], &c);
        assert_eq!(answers.in_flight(), 0);
        drop(d);
    }
}
