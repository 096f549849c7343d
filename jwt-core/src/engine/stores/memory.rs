//! [`JtiDenylist`]: revocations in this process's memory, as a [`RequestCheck`] of its own
//! and as the in-memory [`RevocationStore`] behind [`crate::Revocation`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::authz::context::{AuthContext, Revoker};
use crate::clock::now_secs;
use crate::engine::checks::RequestCheck;
use crate::engine::stores::StoreError;
use crate::engine::stores::revocation::{
    RevocationAnswer, RevocationQuery, RevocationStore, claim_values,
};
use crate::error::InvalidToken;
use crate::render::AuthError;

/// An in-memory revocation list: single tokens by `jti`, and every token of a subject issued
/// before a time (`iat`). Clone it to keep a handle: clones share the list.
///
/// A revoked `jti` is remembered until the time you give (the token's `exp`), then forgotten.
/// A subject revocation refuses that subject's tokens whose `iat` is earlier than the cut-off,
/// and its tokens without `iat` (their age cannot be proven). For several instances, share the
/// list through your own store and implement [`RequestCheck`] over it.
///
/// ```
/// use jwt_core::JtiDenylist;
/// let deny = JtiDenylist::new();
/// deny.revoke("token-42", 4_000_000_000);
/// assert!(deny.is_revoked(&serde_json::json!({"jti": "token-42", "sub": "alice"})));
/// deny.revoke_subject_before("bob", 1_700_000_000);
/// assert!(deny.is_revoked(&serde_json::json!({"sub": "bob", "iat": 1_600_000_000})));
/// assert!(!deny.is_revoked(&serde_json::json!({"sub": "bob", "iat": 1_800_000_000})));
/// ```
#[derive(Clone, Default)]
pub struct JtiDenylist {
    state: Arc<Mutex<DenyState>>,
}

#[derive(Default)]
struct DenyState {
    /// `jti` → forget after (unix seconds).
    tokens: HashMap<String, u64>,
    /// `(claim, value)` → tokens issued before the first time are revoked, until the second.
    cutoffs: HashMap<(String, String), (u64, u64)>,
    /// The claims that have cut-offs, in the order first seen.
    claims: Vec<String>,
}

impl fmt::Debug for JtiDenylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("JtiDenylist")
            .field("tokens", &s.tokens.len())
            .field("cutoffs", &s.cutoffs.len())
            .finish()
    }
}

impl JtiDenylist {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revokes the token whose `jti` is `jti` until `until` (unix seconds; pass its `exp`).
    /// Entries past their time are dropped on every call.
    pub fn revoke(&self, jti: impl Into<String>, until: u64) {
        let now = now_secs();
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.tokens.retain(|_, forget_after| *forget_after > now);
        if until > now {
            s.tokens.insert(jti.into(), until);
        }
    }

    /// Revokes every token of `sub` issued before `before` (unix seconds), e.g. on logout
    /// everywhere or a password change.
    pub fn revoke_subject_before(&self, sub: impl Into<String>, before: u64) {
        self.revoke_claim_before("sub", sub, before, u64::MAX);
    }

    /// Revokes every token whose `claim` is `value` issued before `before`, remembered until
    /// `until` (unix seconds); the latest cut-off wins.
    pub fn revoke_claim_before(
        &self,
        claim: impl Into<String>,
        value: impl Into<String>,
        before: u64,
        until: u64,
    ) {
        let now = now_secs();
        let claim = claim.into();
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.cutoffs.retain(|_, (_, forget_after)| *forget_after > now);
        if !s.claims.contains(&claim) {
            s.claims.push(claim.clone());
        }
        let entry = s
            .cutoffs
            .entry((claim, value.into()))
            .or_insert((before, until));
        *entry = (entry.0.max(before), entry.1.max(until));
    }

    /// Whether a token with these claims is revoked.
    pub fn is_revoked(&self, claims: &Value) -> bool {
        claims
            .as_object()
            .is_some_and(|claims| self.revoked(claims))
    }

    /// What the list holds for `query`.
    pub(crate) fn answer(&self, query: RevocationQuery<'_>) -> RevocationAnswer {
        let now = now_secs();
        let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let jti_revoked = query
            .jti
            .and_then(|jti| s.tokens.get(jti))
            .is_some_and(|until| *until > now);
        let issued_before = query
            .claims
            .iter()
            .filter_map(|(claim, value)| {
                s.cutoffs
                    .get(&((*claim).to_owned(), (*value).to_owned()))
                    .filter(|(_, until)| *until > now)
                    .map(|(before, _)| *before)
            })
            .max();
        RevocationAnswer::new(jti_revoked, issued_before)
    }

    /// The decision, on the claims object as the engine holds it (no copy per request): the
    /// `jti`, and every claim that has cut-offs.
    fn revoked(&self, claims: &Map<String, Value>) -> bool {
        let names = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .claims
            .clone();
        let values = claim_values(names.iter().map(String::as_str), claims);
        let pairs: Vec<(&str, &str)> = values.iter().map(|(c, v)| (*c, v.as_ref())).collect();
        self.answer(RevocationQuery {
            jti: claims.get("jti").and_then(Value::as_str),
            claims: &pairs,
        })
        .revokes(claims)
    }
}

#[async_trait]
impl RequestCheck for JtiDenylist {
    async fn check(&self, ctx: &AuthContext, _method: &str, _path: &str) -> Result<(), AuthError> {
        if self.revoked(ctx.claims()) {
            Err(InvalidToken::Revoked.into())
        } else {
            Ok(())
        }
    }
}

/// Without an `exp`, a revoked `jti` is remembered this long (a day).
const UNTIL_WITHOUT_EXP_SECS: u64 = 24 * 60 * 60;

#[async_trait]
impl Revoker for JtiDenylist {
    async fn revoke_jti(&self, jti: &str, until: u64) -> Result<(), StoreError> {
        let until = if until == 0 {
            now_secs().saturating_add(UNTIL_WITHOUT_EXP_SECS)
        } else {
            until
        };
        self.revoke(jti, until);
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for JtiDenylist {
    async fn revoke_token(&self, jti: &str, until: u64) -> Result<(), StoreError> {
        self.revoke(jti, until);
        Ok(())
    }

    async fn revoke_issued_before(
        &self,
        claim: &str,
        value: &str,
        before: u64,
        until: u64,
    ) -> Result<(), StoreError> {
        self.revoke_claim_before(claim, value, before, until);
        Ok(())
    }

    async fn lookup(&self, query: RevocationQuery<'_>) -> Result<RevocationAnswer, StoreError> {
        Ok(self.answer(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stores::revocation::Revocation;
    use serde_json::json;

    #[test]
    fn jti_entries_expire_and_subjects_cut_off_by_iat() {
        let deny = JtiDenylist::new();
        let now = now_secs();
        deny.revoke("gone", now.saturating_sub(1));
        deny.revoke("live", now + 60);
        assert!(!deny.is_revoked(&json!({"jti": "gone"})));
        assert!(deny.is_revoked(&json!({"jti": "live"})));
        assert!(!deny.is_revoked(&json!({"jti": "other"})));
        deny.revoke_subject_before("bob", 1000);
        deny.revoke_subject_before("bob", 500);
        assert!(deny.is_revoked(&json!({"sub": "bob", "iat": 999})));
        assert!(!deny.is_revoked(&json!({"sub": "bob", "iat": 1000})));
        assert!(
            deny.is_revoked(&json!({"sub": "bob"})),
            "no iat: age unknown"
        );
        assert!(!deny.is_revoked(&json!({"sub": "alice", "iat": 1})));
        assert_eq!(format!("{deny:?}"), "JtiDenylist { tokens: 1, cutoffs: 1 }");
    }

    #[tokio::test]
    async fn revocation_by_jti_subject_and_session() {
        let r = Revocation::new(JtiDenylist::new()).claims(["sub", "session_id"]);
        let claims = |v: Value| v.as_object().unwrap().clone();
        let n = now_secs();
        let t = claims(json!({"jti": "a", "sub": "alice", "session_id": "s1", "iat": n - 100}));
        assert!(!r.is_revoked(&t).await.unwrap());
        r.revoke_issued_before("session_id", "s1", n - 99)
            .await
            .unwrap();
        assert!(r.is_revoked(&t).await.unwrap());
        let later = claims(json!({"sub": "alice", "session_id": "s1", "iat": n - 99}));
        assert!(!r.is_revoked(&later).await.unwrap());
        r.revoke_subject("alice", n).await.unwrap();
        assert!(r.is_revoked(&later).await.unwrap());
        let other = claims(json!({"jti": "b", "sub": "bob", "iat": 1}));
        assert!(!r.is_revoked(&other).await.unwrap());
        r.revoke("b", now_secs() + 60).await.unwrap();
        assert!(r.is_revoked(&other).await.unwrap());
    }
}
