//! # jwt-core
//!
//! Framework-agnostic JWT authentication and hierarchical scope RBAC, modelled on agno's AgentOS
//! middleware and hardened per RFC 8725. Every decision lives here; the `jwt-axum`, `jwt-actix`,
//! `jwt-poem` and `jwt-warp` adapters only translate requests and render [`AuthError`]s.
//!
//! The four extension points are traits, each with built-ins:
//!
//! | trait | built-ins |
//! |---|---|
//! | [`TokenSource`] | [`BearerHeader`], [`CookieToken`], [`AnyOf`] (ordered or strict) |
//! | [`ClaimsConfig`] | [`StandardClaims`] (`sub`, `session_id`, `scopes`/`scope`/`scp`, dependencies, session state, reserved subjects) |
//! | [`Verifier`] | [`StaticKeys`], [`Jwks`], [`KeyChain`] (+ [`KeyChain::from_env`]), [`ApiKeys`], [`InsecureNoSignature`] |
//! | [`ScopeMapper`] | [`RouteTable`] and its AgentOS preset [`RouteTable::agent_os`] |
//!
//! ```
//! use jwt_core::{JwtAuth, RouteTable, SimpleRequest, StaticKeys, mint};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let secret = b"an-hs256-secret-of-at-least-32-bytes!";
//! let auth = JwtAuth::builder()
//!     .verifier(StaticKeys::hs256(secret)?)
//!     .audience("my-os")
//!     .scopes(RouteTable::agent_os().build()?)
//!     .build()?;
//!
//! let token = mint::hs256(secret, &serde_json::json!({
//!     "sub": "alice", "aud": "my-os", "exp": 4_000_000_000u64,
//!     "scopes": ["agents:a1:read", "agents:a2:read"],
//! }))?;
//! let bearer = format!("Bearer {token}");
//! let req = SimpleRequest::new("GET", "/agents").header("Authorization", &bearer);
//! let ctx = auth.authenticate(&req).await?.into_context().unwrap();
//! let visible = ctx.listing_ids("agents");
//! assert!(visible.contains("a1") && !visible.contains("a3"));
//!
//! let missing = auth.authenticate(&SimpleRequest::new("GET", "/agents")).await.unwrap_err();
//! assert_eq!((missing.status(), missing.www_authenticate()), (401, r#"Bearer realm="api""#.into()));
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The folder tree is the design (see ARCHITECTURE.md): `token` reads the request, `keys` holds
// key material and verifiers, `authz` decides what a route demands and what a caller may do,
// `engine` runs one decision, `presets` is data.
mod authz;
mod engine;
mod error;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod keys;
mod limits;
mod presets;
mod render;
mod token;

pub use authz::extract;
pub use keys::crypto;
pub use token::path;

pub use authz::context::AuthContext;
pub use authz::routes::{
    Access, Listing, ResourceCheck, RouteMatch, RouteTable, RouteTableBuilder, ScopeMapper,
    ScopeTemplate, Unmapped,
};
pub use authz::scope::{AccessibleIds, DEFAULT_ADMIN_SCOPE, Scope, ScopeRules, ScopeSet};
pub use engine::cache::TokenCacheConfig;
pub use engine::validation::{AudiencePolicy, Validation};
pub use engine::{JwtAuth, JwtAuthBuilder, OptionsPolicy, Outcome, TokenLocation};
pub use error::JwkRejection;
pub use error::{AuthError, AuthErrorKind, ConfigError, InvalidToken};
pub use jsonwebtoken::{Algorithm, EncodingKey};
pub use keys::crypto::{MintError, mint};
#[cfg(feature = "remote-jwks")]
pub use keys::issuers::Issuers;
pub use keys::material::{JwkDefaults, VerificationKey};
#[cfg(feature = "remote-jwks")]
pub use keys::remote::{
    DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_CACHE_TTL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_KEYS, DEFAULT_MAX_STALE, DEFAULT_REFRESH_AHEAD,
    DEFAULT_TIMEOUT, DEFAULT_UNKNOWN_KID_COOLDOWN, FetchError, MAX_CACHE_CONTROL_TTL,
    MIN_CACHE_CONTROL_TTL, RemoteConfigError, RemoteJwks, RemoteJwksBuilder, RemoteStatus,
};
pub use keys::verifier::{
    ApiKeys, InsecureNoSignature, Jwks, KeyChain, StaticKeys, TokenKind, Verified, Verifier,
    VerifyError,
};
pub use limits::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY_SECS};
pub use presets::agent_os::{
    AGNO_DEFAULT_EXCLUDED, AGNO_DEFAULT_SCOPE_MAPPINGS, AGNO_RESERVED_SUBJECTS,
};
pub use render::ErrorResponse;
pub use serde_json;
pub use token::claims::{ClaimsConfig, Identity, ReservedSubjects, StandardClaims};
pub use token::jose::TokenHeader;
pub use token::path::{PathRejection, PathSegment, RequestPath};
pub use token::request::{RequestParts, SimpleRequest};
pub use token::source::{AnyOf, BearerHeader, CookieToken, TokenSource};
