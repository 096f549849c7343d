// The crate documentation is the README (also what crates.io shows); its examples run as doctests.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The folder tree is the design (see ARCHITECTURE.md): `error` names what can go wrong (each
// kind's facts declared once), `render` writes a refusal on the wire, `token` reads the request,
// `keys` holds key material and verifiers, `authz` decides what a route demands and what a
// caller may do, `engine` runs one decision and answers adapters (`Verdict`), `presets` is data.
mod authz;
mod clock;
mod engine;
mod error;
mod fast_hash;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod keys;
mod limits;
pub mod manual;
mod mcp;
pub mod openapi;
mod presets;
mod render;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
mod token;

pub use authz::extract;

/// Options that switch a protection off, for development and tests only. They are kept here so
/// that using one is visible in review (`jwt_core::dangerous::...`).
pub mod dangerous {
    pub use crate::keys::verifier::InsecureNoSignature;
}
pub use keys::crypto;

/// The request headers a CORS layer must allow so that a browser client can send what this
/// middleware reads: `Authorization` (the token) and `DPoP` (the proof). A cookie-borne token
/// needs none (send it with `credentials: "include"` and allow credentials). Every adapter
/// re-exports it.
///
/// ```
/// assert_eq!(jwt_core::CORS_ALLOW_HEADERS, ["authorization", "dpop"]);
/// ```
pub const CORS_ALLOW_HEADERS: [&str; 2] = ["authorization", "dpop"];

/// The response headers a CORS layer must expose so that a browser client can read what this
/// middleware answers: `WWW-Authenticate` (the challenge: the scopes needed, the resource
/// metadata URL, the DPoP algorithms) and `DPoP-Nonce` (the nonce to retry with). Every adapter
/// re-exports it.
///
/// ```
/// assert_eq!(jwt_core::CORS_EXPOSE_HEADERS, ["www-authenticate", "dpop-nonce"]);
/// ```
pub const CORS_EXPOSE_HEADERS: [&str; 2] = ["www-authenticate", "dpop-nonce"];
pub use token::path;

pub use authz::conditions::{
    Actor, Actors, Conditions, DEFAULT_MAX_ACTOR_DEPTH, Delegation, StepUp,
};
pub use authz::context::AuthContext;
pub use authz::routes::{
    Access, Listing, MCP_PROTOCOL_METHODS, ResourceCheck, RouteMatch, RouteTable,
    RouteTableBuilder, ScopeMapper, ScopeTemplate, Unmapped,
};
pub use authz::scope::{AccessibleIds, DEFAULT_ADMIN_SCOPE, Scope, ScopeRules, ScopeSet};
pub use engine::builder::JwtAuthBuilder;
pub use engine::cache::TokenCacheConfig;
pub use engine::checks::RequestCheck;
pub use engine::decided::{Decided, extractor_refusal};
pub use engine::dpop::nonce::DpopNonces;
pub use engine::dpop::proof::jwk_thumbprint;
pub use engine::dpop::replay::{MemoryReplayStore, ReplayStore};
pub use engine::dpop::url::HtuOrigin;
pub use engine::dpop::{Dpop, DpopMode, MAX_DPOP_CLOCK_SKEW, MAX_DPOP_PROOF_LIFETIME};
pub use engine::metadata::ProtectedResourceMetadata;
pub use engine::mtls::{CertHeader, Mtls, MtlsMode, certificate_thumbprint};
pub use engine::stores::memory::JtiDenylist;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use engine::stores::redis::RedisStore;
pub use engine::stores::revocation::{
    Revocation, RevocationAnswer, RevocationQuery, RevocationStore,
};
pub use engine::stores::{FailurePolicy, StoreError};
pub use engine::validation::{AudiencePolicy, Validation};
pub use engine::verdict::{POLLED_AFTER_COMPLETION, Pass, Reply, Unfinished, Verdict};
pub use engine::{JwtAuth, OptionsPolicy, Outcome, TokenLocation};
pub use error::McpRejection;
pub use error::{AuthErrorKind, ConfigError, InvalidToken};
pub use error::{DpopConfigError, DpopRejection};
pub use error::{JwkRejection, RevokeError};
/// Re-exported because they are part of our signatures: `Algorithm` names the algorithm of a
/// [`VerificationKey`], `EncodingKey` signs in the [`mint`] helpers.
pub use jsonwebtoken::{Algorithm, EncodingKey};
pub use keys::crypto::MintError;
#[cfg(feature = "mint")]
#[cfg_attr(docsrs, doc(cfg(feature = "mint")))]
pub use keys::crypto::mint;
#[cfg(feature = "introspection")]
#[cfg_attr(docsrs, doc(cfg(feature = "introspection")))]
pub use keys::introspection::{
    ClientAuth, DEFAULT_INTROSPECTION_BODY_BYTES, DEFAULT_INTROSPECTION_ENTRIES,
    DEFAULT_INTROSPECTION_PAUSE, DEFAULT_INTROSPECTION_TIMEOUT, DEFAULT_INTROSPECTION_TTL,
    Introspection, IntrospectionBuilder, IntrospectionStore,
};
#[cfg(feature = "remote-jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-jwks")))]
pub use keys::issuers::Issuers;
pub use keys::material::{JwkDefaults, VerificationKey};
#[cfg(feature = "remote-jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-jwks")))]
pub use keys::remote::{
    DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_CACHE_TTL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_KEYS, DEFAULT_MAX_STALE, DEFAULT_REFRESH_AHEAD,
    DEFAULT_TIMEOUT, DEFAULT_UNKNOWN_KID_COOLDOWN, FetchError, MAX_CACHE_CONTROL_TTL,
    MIN_CACHE_CONTROL_TTL, RemoteConfigError, RemoteJwks, RemoteJwksBuilder, RemoteStatus,
};
pub use keys::shapes::ByShape;
pub use keys::verifier::{
    ApiKeys, Jwks, KeyChain, StaticKeys, TokenKind, Verified, Verifier, VerifyError,
};
pub use limits::{
    DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LEN, DEFAULT_RETRY_AFTER_SECS, MAX_LEEWAY_SECS,
};
pub use mcp::headers::{MCP_METHOD_HEADER, MCP_NAME_HEADER};
pub use mcp::message::{McpMessageKind, McpOperation};
pub use presets::agent_os::{
    AGNO_DEFAULT_EXCLUDED, AGNO_DEFAULT_SCOPE_MAPPINGS, AGNO_RESERVED_SUBJECTS,
};
pub use presets::idp::{CLIENT_ROLE_PREFIX, GROUP_PREFIX, ROLE_PREFIX};
pub use render::{
    AuthError, DetailJson, ErrorRenderer, ErrorResponse, GrpcCode, GrpcResponse, ProblemJson,
    RenderWith, RenderedBody, is_grpc_content_type,
};
/// Re-exported because its `Value` and `Map` are part of our signatures (claims in
/// [`AuthContext`], [`ClaimsConfig`], dependencies and session state), so callers use the same
/// version.
pub use serde_json;
pub use token::claim_path::{ClaimPath, ClaimPathError};
pub use token::claims::{ClaimSource, DEFAULT_SCOPE_CLAIMS};
pub use token::claims::{ClaimsConfig, Identity, ReservedSubjects, StandardClaims};
pub use token::connection::ClientConnection;
pub use token::jose::TokenHeader;
pub use token::path::{PathRejection, PathSegment, RequestPath};
pub use token::request::{ReadBody, RequestBody, RequestParts, SimpleRequest};
pub use token::source::{AnyOf, BearerHeader, CookieToken, TokenSource};
