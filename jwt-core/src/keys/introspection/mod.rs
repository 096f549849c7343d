//! Opaque tokens checked by asking the authorization server (RFC 7662 introspection; cargo
//! feature `introspection`).
//!
//! [`Introspection`] is a [`crate::Verifier`]: the token goes to the introspection endpoint
//! (configured, or `introspection_endpoint` from discovery) with the client's authentication
//! ([`ClientAuth`]: `client_secret_basic`, `client_secret_post`, `private_key_jwt`), and the
//! answer's members become the token's claims, which the engine then checks as it checks a
//! JWT's: `exp`, `nbf`, `iat`, `aud`, `iss`, a `cnf` binding (DPoP), scopes, step-up, actors.
//!
//! - **answers**: `active` must be the boolean `true`; a `token_type` other than `Bearer` /
//!   `DPoP` or a `token_use` other than `access_token` is refused (a refresh token is not an
//!   access token); an answer that is not a JSON object is the server's failure;
//! - **cache**: answers are kept by a SHA-256 of the token (with the endpoint and client id, so
//!   that verifiers sharing a store never read each other's answers) until the earlier of the TTL (60 s by
//!   default) and the token's `exp`; inactive answers only with a negative TTL (default: never);
//!   bounded by entry count; the engine's token cache never keeps an introspected token longer
//!   than its answer ([`crate::Verified::fresh_until`]);
//! - **single flight**: every request for a token whose answer is not kept waits for one call;
//! - **shared level**: with [`IntrospectionBuilder::shared_cache`] (Redis through
//!   [`crate::RedisStore`]), instances share answers: about one call per token per TTL
//!   whatever the number of instances;
//! - **failures**: a timeout (2 s by default), a refused connection, a TLS error, a status
//!   other than 200, an unreadable answer: 503 with `Retry-After`, never an allow; after one,
//!   calls pause for a second (requests are answered 503 at once) so that an outage does not
//!   cost every request a timeout. Kept answers keep serving.
//!
//! # Layout
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Introspection`], its constructors and its [`crate::Verifier`] impl |
//! | `config.rs` | the defaults, [`ClientAuth`], [`IntrospectionBuilder`] |
//! | `call.rs` | the HTTP call: endpoint, discovery, client authentication |
//! | `answer.rs` | reading an answer |
//! | `cache.rs` | the kept answers, the calls in flight, [`IntrospectionStore`] |

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;

mod answer;
mod cache;
mod call;
mod config;

pub use cache::IntrospectionStore;
pub use config::{
    ClientAuth, DEFAULT_INTROSPECTION_BODY_BYTES, DEFAULT_INTROSPECTION_ENTRIES,
    DEFAULT_INTROSPECTION_PAUSE, DEFAULT_INTROSPECTION_TIMEOUT, DEFAULT_INTROSPECTION_TTL,
    IntrospectionBuilder,
};

use cache::{Answers, Flight, Kept};
use call::Caller;
use config::{Location, Settings};
use tokio::sync::OnceCell;

use crate::clock::now_secs;
use crate::error::RemoteConfigError;
use crate::keys::crypto::sha256_parts;
use crate::keys::remote::FetchError;
use crate::keys::verifier::{TokenKind, Verified, Verifier, VerifyError};

/// A [`Verifier`] that asks the authorization server about each token (RFC 7662), with a
/// single-flight TTL cache. Cheap to clone: clones share the cache and the client.
///
/// ```no_run
/// use jwt_core::{ClientAuth, Introspection, JwtAuth, RouteTable};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The endpoint from the issuer's discovery document; `iss` pinned to the issuer.
/// let opaque = Introspection::discover(
///     "https://idp.example.com",
///     ClientAuth::client_secret_basic("agents-api", "the-resource-server-secret"),
/// )?;
/// let auth = JwtAuth::builder()
///     .verifier(opaque)
///     .audience("https://api.example.com")
///     .scopes(RouteTable::agent_os().build()?)
///     .build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Introspection {
    inner: Arc<Inner>,
}

struct Inner {
    caller: Caller,
    /// What the cache keys are computed under: the endpoint (or issuer) and the client, so that
    /// verifiers sharing a store never read each other's answers (RFC 7662 §2.2 lets a server
    /// tailor its answer to the resource server asking).
    namespace: Vec<u8>,
    answers: Answers,
    settings: Settings,
    issuer: Option<String>,
    store: Option<Arc<dyn IntrospectionStore>>,
    calls: AtomicU64,
    /// After a failure, calls are not made until this instant (ms since `epoch`).
    paused_until_ms: AtomicU64,
    epoch: Instant,
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.inner.caller.describe())
            .field("issuer", &self.inner.issuer)
            .field("kept", &self.inner.answers.len())
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// Introspection at `endpoint`, authenticated with `auth`, default settings.
    ///
    /// ```
    /// use jwt_core::{ClientAuth, Introspection};
    /// let auth = ClientAuth::client_secret_post("api", "secret");
    /// assert!(Introspection::new("https://as.example.com/introspect", auth.clone()).is_ok());
    /// assert!(Introspection::new("http://as.example.com/introspect", auth).is_err()); // not https
    /// ```
    ///
    /// # Errors
    /// As [`IntrospectionBuilder::build`].
    pub fn new(endpoint: impl Into<String>, auth: ClientAuth) -> Result<Self, RemoteConfigError> {
        Self::builder(endpoint, auth).build()
    }

    /// A builder for `endpoint`.
    pub fn builder(endpoint: impl Into<String>, auth: ClientAuth) -> IntrospectionBuilder {
        IntrospectionBuilder::new(Location::Endpoint(endpoint.into()), auth)
    }

    /// Introspection at the endpoint `issuer`'s discovery document names
    /// (`introspection_endpoint`, found on the first call), `iss` pinned to `issuer`.
    ///
    /// # Errors
    /// As [`IntrospectionBuilder::build`].
    pub fn discover(
        issuer: impl Into<String>,
        auth: ClientAuth,
    ) -> Result<Self, RemoteConfigError> {
        Self::discovery_builder(issuer, auth).build()
    }

    /// A builder for `issuer`'s discovered endpoint (the same well-known documents as
    /// [`crate::RemoteJwks::discovery_builder`]; the document's `issuer` must be `issuer`).
    pub fn discovery_builder(issuer: impl Into<String>, auth: ClientAuth) -> IntrospectionBuilder {
        let issuer = issuer.into();
        IntrospectionBuilder::new(Location::Discover(issuer.clone()), auth).issuer(issuer)
    }

    /// How many introspection calls this verifier (and its clones) completed (an answer or a
    /// failure).
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// The pinned issuer, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The answer for the token whose digest is `key`: kept, shared, or asked for.
    async fn answer(&self, token: &str, key: [u8; 32]) -> Flight {
        // An adapter may poll a decision once and drop it if it waits (`JwtAuth::verdict_now`),
        // then continue it: wait once before any I/O, so that the dropped poll started nothing.
        tokio::task::yield_now().await;
        let i = &*self.inner;
        let now = now_secs();
        if let Some(kept) = i.answers.get(&key, now) {
            return Ok(kept);
        }
        if let Some(kept) = self.shared(&key, now).await {
            i.answers.keep(key, kept.clone(), now);
            return Ok(kept);
        }
        if self.paused() {
            return Err(VerifyError::Unavailable);
        }
        let answer = i.caller.introspect(token).await;
        i.calls.fetch_add(1, Ordering::Relaxed);
        let body = match answer {
            Ok(body) => body,
            Err(e) => return Err(self.failed(&e)),
        };
        let claims = match answer::read(&body, i.issuer.as_deref()) {
            Ok(claims) => claims,
            Err(e) => return Err(self.failed(&e)),
        };
        let now = now_secs();
        let kept = match claims {
            Ok(claims) => {
                let mut until = now.saturating_add(i.settings.ttl.as_secs());
                if let Some(exp) = answer::exp_secs(&claims) {
                    until = until.min(exp);
                }
                if let Some(store) = &i.store
                    && now < until
                {
                    // Off the request's path: a slow store never delays it.
                    let store = store.clone();
                    let entry = cache::encode(until, &body);
                    tokio::spawn(async move {
                        if let Err(error) = store.save_answer(&key, &entry, until).await {
                            tracing::warn!(%error, "introspection: the shared cache did not keep an answer");
                        }
                    });
                }
                Kept {
                    answer: Ok(Arc::new(claims)),
                    until,
                }
            }
            Err(why) => Kept {
                answer: Err(why),
                until: now.saturating_add(i.settings.negative_ttl.as_secs()),
            },
        };
        i.answers.keep(key, kept.clone(), now);
        Ok(kept)
    }

    /// An answer another instance fetched, from the shared level; `None` on any failure.
    async fn shared(&self, key: &[u8; 32], now: u64) -> Option<Kept> {
        let i = &*self.inner;
        let stored = match i.store.as_ref()?.load_answer(key, now).await {
            Ok(stored) => stored?,
            Err(error) => {
                tracing::warn!(%error, "introspection: the shared cache is unavailable; asking");
                return None;
            }
        };
        let (until, body) = cache::decode(&stored)?;
        let claims = answer::read(body, i.issuer.as_deref()).ok()?.ok()?;
        // Never longer than this verifier would keep its own answer.
        let until = until.min(now.saturating_add(i.settings.ttl.as_secs()));
        (now < until).then(|| Kept {
            answer: Ok(Arc::new(claims)),
            until,
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn paused(&self) -> bool {
        self.now_ms() < self.inner.paused_until_ms.load(Ordering::Relaxed)
    }

    /// A failed call: logged, 503; calls paused when the server itself is failing (no
    /// connection, a timeout, a 5xx, 429, an unreadable answer), not for an answer about one
    /// request (another 4xx).
    fn failed(&self, error: &FetchError) -> VerifyError {
        let i = &*self.inner;
        if matches!(error, FetchError::Status(404 | 410)) {
            i.caller.forget_endpoint();
        }
        tracing::warn!(%error, endpoint = %i.caller.describe(), "introspection failed: refusing (503)");
        let server_down = match error {
            FetchError::Status(status) => *status == 429 || *status >= 500,
            _ => true,
        };
        if server_down {
            let pause = u64::try_from(i.settings.pause.as_millis()).unwrap_or(u64::MAX);
            i.paused_until_ms
                .store(self.now_ms().saturating_add(pause), Ordering::Relaxed);
        }
        VerifyError::Unavailable
    }

    /// The cache key of `token`: SHA-256 over this verifier's namespace and the token.
    fn key(&self, token: &str) -> [u8; 32] {
        sha256_parts(&[&self.inner.namespace, token.as_bytes()])
    }
}

impl IntrospectionBuilder {
    /// The verifier.
    ///
    /// # Errors
    /// [`RemoteConfigError`] for a bad or non-https URL (plain `http` only for loopback), an
    /// empty client id or secret, a symmetric `private_key_jwt` algorithm or a key that cannot
    /// sign with it, a setting out of range, or an HTTP client that cannot be built.
    pub fn build(self) -> Result<Introspection, RemoteConfigError> {
        self.check()?;
        if let ClientAuth::PrivateKeyJwt { alg, key, kid, .. } = &self.auth {
            call::assertion("check", *alg, key, kid.as_deref(), "check").map_err(|_| {
                RemoteConfigError::InvalidSetting {
                    setting: "ClientAuth",
                    reason: "the private key cannot sign with the algorithm",
                }
            })?;
        }
        let namespace = format!(
            "jwt-core introspection\n{}\n{}\n",
            match &self.location {
                Location::Endpoint(url) | Location::Discover(url) => url,
            },
            self.auth.client_id()
        )
        .into_bytes();
        let caller = Caller::new(
            &self.location,
            self.auth,
            &self.settings,
            self.issuer.clone(),
        )?;
        Ok(Introspection {
            inner: Arc::new(Inner {
                caller,
                namespace,
                answers: Answers::new(self.settings.max_entries),
                settings: self.settings,
                issuer: self.issuer,
                store: self.store,
                calls: AtomicU64::new(0),
                paused_until_ms: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        })
    }
}

#[async_trait]
impl Verifier for Introspection {
    async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        let key = self.key(token);
        let i = &*self.inner;
        let kept = match i.answers.get(&key, now_secs()) {
            Some(kept) => kept,
            None => {
                // One call per token, however many requests wait for it; a request dropped
                // while waiting leaves the call to the others (or, the last one, removes it).
                let cell = i.answers.flight(key);
                let leave = Leave {
                    answers: &i.answers,
                    key,
                    cell: &cell,
                };
                let flight = cell.get_or_init(|| self.answer(token, key)).await.clone();
                drop(leave);
                flight?
            }
        };
        let claims = kept.answer?;
        let claims = Arc::unwrap_or_clone(claims);
        Ok(Verified::new(TokenKind::Introspected, claims).fresh_until(kept.until))
    }

    /// With an issuer pinned (always through discovery).
    fn pins_issuer(&self) -> bool {
        self.inner.issuer.is_some()
    }
}

/// Leaves a call in flight when the request is done with it, landed or dropped.
struct Leave<'a> {
    answers: &'a Answers,
    key: [u8; 32],
    cell: &'a Arc<OnceCell<Flight>>,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.answers.leave(&self.key, self.cell);
    }
}
