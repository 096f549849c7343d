//! Remote JWK Sets and OpenID Connect / RFC 8414 discovery (cargo feature `remote-jwks`).
//!
//! [`RemoteJwks`] is a [`crate::Verifier`] whose keys come from an identity provider's JWKS URL,
//! given directly or found through discovery. It is built for rotation and outages:
//!
//! - **cache**: keys live 10 min by default; `Cache-Control: max-age` is honoured, clamped to
//!   [1 min, 24 h]; a background task refreshes them 30 s before they expire;
//! - **rotation**: a token whose `kid` is unknown triggers one single-flight refetch, at most one
//!   per cooldown (30 s); if the key is still unknown the token is refused (401);
//! - **outages**: failed fetches back off exponentially with jitter (1 s → 60 s); while a key set
//!   is cached no request waits on the network for it and the last good set keeps being served,
//!   for at most `max_stale` (1 h) past its expiry; with no key set at all requests get 503;
//! - **fetch limits**: connect and total timeouts (2 s / 5 s), a 64 KiB body, 100 keys, no
//!   redirects, no cookies, `https` only (plain `http` is allowed for loopback addresses);
//! - **keys**: each JWK is bound to one algorithm (its `alg`, else its curve, else
//!   [`crate::JwkDefaults`]); `use` / `key_ops` must allow verification; unusable keys (`oct`,
//!   encryption keys, unknown types) are skipped with a warning; private material refuses the
//!   whole set; a `kid` shared by several keys is ambiguous and matches nothing.
//!
//! The one request that may wait is one whose `kid` is unknown: it waits for the single in-flight
//! refetch (bounded by the fetch timeout), or is refused at once while the cooldown runs.
//!
//! # Layout
//!
//! Each file is one concern; the imports run one way, top to bottom:
//!
//! | file | holds | uses |
//! |---|---|---|
//! | `builder.rs` | the constructors and [`RemoteJwksBuilder`] | all below |
//! | `verifier.rs` | [`RemoteJwks`] and its [`crate::Verifier`] impl | `refresh`, `error` |
//! | `refresh.rs` | the cache, single-flight fetches, cooldown, backoff, the background task, [`RemoteStatus`] | `fetch`, `config`, `error` |
//! | `fetch.rs` | the HTTP client and its limits, one bounded GET, discovery | `parse`, `config`, `error` |
//! | `parse.rs` | the JWK Set (through [`crate::keys::jwk_set`]), the discovery document, `Cache-Control` | `config`, `error` |
//! | `config.rs` | the defaults, the settings and their checks, the URL rule | `error` |
//! | `error.rs` | [`RemoteConfigError`], [`FetchError`] | |
//!
//! # Time
//!
//! Every reading of the clock and every wait goes through tokio's clock
//! (`tokio::time::Instant`, `sleep`, `timeout`; reqwest's timeouts too). In production that is the
//! monotonic system clock; in a test runtime with paused time (`start_paused`) lifetimes,
//! refresh-ahead, cooldown, backoff and timeouts move only when the test advances the clock.

mod builder;
mod config;
mod error;
mod fetch;
mod parse;
mod refresh;
mod verifier;

pub use builder::RemoteJwksBuilder;
pub use config::{
    DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_CACHE_TTL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_KEYS, DEFAULT_MAX_STALE, DEFAULT_REFRESH_AHEAD,
    DEFAULT_TIMEOUT, DEFAULT_UNKNOWN_KID_COOLDOWN, MAX_CACHE_CONTROL_TTL, MIN_CACHE_CONTROL_TTL,
};
#[cfg(feature = "introspection")]
pub(in crate::keys) use config::{check_url, is_loopback};
pub use error::{FetchError, RemoteConfigError};
#[cfg(feature = "introspection")]
pub(in crate::keys) use fetch::{classify, read_bounded, well_known_urls};
#[cfg(feature = "introspection")]
pub(in crate::keys) use parse::discovery_endpoint;
pub use refresh::RemoteStatus;
pub use verifier::RemoteJwks;
