//! The decision engine: [`JwtAuth`] and what it decides ([`Outcome`]). The entry points and
//! the adapter contract ([`JwtAuth::verdict_now`], [`crate::Verdict`]) are in `verdict.rs`: every
//! adapter calls them and only translates what they return. The builder is in `builder.rs`, the
//! decision's steps in `decision.rs`, what it tells an operator in `trace.rs`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

pub(crate) mod alerts;
pub(crate) mod binding;
pub(crate) mod builder;
pub(crate) mod cache;
pub(crate) mod checks;
pub(crate) mod decided;
pub(crate) mod decision;
pub(crate) mod dpop;
pub(crate) mod mcp;
pub(crate) mod metadata;
pub(crate) mod mtls;
pub(crate) mod stores;
pub(crate) mod trace;
pub(crate) mod validation;
pub(crate) mod verdict;

use crate::authz::context::{AuthContext, Revoker};
use crate::authz::routes::ScopeMapper;
use crate::engine::cache::TokenCache;
use crate::engine::checks::RequestCheck;
use crate::engine::dpop::DpopCheck;
use crate::engine::validation::Validation;
use crate::keys::verifier::{Direct, Verifier};
use crate::render::{AuthError, ErrorStyle};
use crate::token::claims::ClaimRules;
use crate::token::request::RequestParts;
use crate::token::source::TokenSource;

/// How `OPTIONS` requests are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OptionsPolicy {
    /// CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) pass
    /// without a token; other `OPTIONS` requests are authenticated like any method. Default.
    #[default]
    BypassPreflight,
    /// Every `OPTIONS` request passes, preflight or not (agno's behaviour): a handler serving
    /// `OPTIONS` runs for anyone.
    DangerousBypassAll,
    /// `OPTIONS` is authenticated like any method.
    Authenticate,
}

/// Where the token comes from (agno's `token_source`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenLocation {
    /// `Authorization: Bearer` (default).
    Header,
    /// The named cookie.
    Cookie(String),
    /// Header first, then the named cookie.
    Both(String),
    /// Header and cookie; two different tokens are a 400.
    BothStrict(String),
}

/// What [`JwtAuth::authenticate`] decided for a request that may proceed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// A valid token: its context goes into the request.
    Authenticated(AuthContext),
    /// The route is excluded, a CORS preflight, or an optional-auth route without a token.
    Anonymous,
    /// A `GET` of the RFC 9728 protected resource metadata: the adapter answers 200 with this
    /// JSON ([`Outcome::METADATA_CONTENT_TYPE`], [`Outcome::METADATA_CACHE_CONTROL`]) and calls
    /// no handler.
    ResourceMetadata(Arc<str>),
}

impl Outcome {
    /// The content type of [`Outcome::ResourceMetadata`].
    pub const METADATA_CONTENT_TYPE: &'static str = "application/json";
    /// The `Cache-Control` of [`Outcome::ResourceMetadata`]: an hour, shared caches allowed.
    pub const METADATA_CACHE_CONTROL: &'static str = "public, max-age=3600";

    /// The context, if authenticated.
    pub fn context(&self) -> Option<&AuthContext> {
        match self {
            Outcome::Authenticated(ctx) => Some(ctx),
            Outcome::Anonymous | Outcome::ResourceMetadata(_) => None,
        }
    }

    /// The context, if authenticated.
    pub fn into_context(self) -> Option<AuthContext> {
        match self {
            Outcome::Authenticated(ctx) => Some(ctx),
            Outcome::Anonymous | Outcome::ResourceMetadata(_) => None,
        }
    }
}

/// The configured middleware: verifier, token source, claim mapping, route table and validation.
/// Cheap to clone and shared across worker threads.
///
/// ```
/// use jwt_core::{JwtAuth, RouteTable, SimpleRequest, StaticKeys, mint};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let secret = b"an-hs256-secret-of-at-least-32-bytes!";
/// let auth = JwtAuth::builder().dangerous_any_issuer()
///     .verifier(StaticKeys::hs256(secret)?)
///     .scopes(RouteTable::agent_os().build()?)
///     .build()?;
///
/// let token = mint::hs256(secret, &serde_json::json!({
///     "sub": "alice", "exp": 4_000_000_000u64, "scopes": ["agents:read"],
/// }))?;
/// let header = format!("Bearer {token}");
/// let req = SimpleRequest::new("GET", "/agents/a1").header("Authorization", &header);
/// let ctx = auth.authenticate(&req).await?.into_context().unwrap();
/// assert_eq!(ctx.user_id(), Some("alice"));
///
/// let run = SimpleRequest::new("POST", "/agents/a1/runs").header("Authorization", &header);
/// let err = auth.authenticate(&run).await.unwrap_err();
/// assert_eq!(err.status(), 403);
/// assert_eq!(err.body(), r#"{"detail":"Insufficient permissions. Required scope(s): agents:a1:run"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct JwtAuth {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Arc<dyn Verifier>,
    /// The verifier's direct form, when it is a built-in one ([`Direct`]).
    direct: Option<Direct>,
    source: Box<dyn TokenSource>,
    claims: ClaimRules,
    mapper: Arc<dyn ScopeMapper>,
    validation: Validation,
    options: OptionsPolicy,
    authorization: bool,
    realm: Cow<'static, str>,
    /// Realm, renderer and `Retry-After`, shared with every error and `AuthContext` (a
    /// refcount per request, no copy).
    style: Arc<ErrorStyle>,
    keep_token: bool,
    cache: Option<TokenCache>,
    checks: Vec<Arc<dyn RequestCheck>>,
    metadata: Option<metadata::ServedMetadata>,
    dpop: Option<DpopCheck>,
    mtls: Option<crate::engine::mtls::Mtls>,
    /// The first revocation check, for [`AuthContext::revoke`].
    revoker: Option<Arc<dyn Revoker>>,
    /// The mapper is fixed ([`ScopeMapper::is_fixed`]) and there is no DPoP (whose proof is
    /// checked on the full path of every request): a token's context for a request can be kept
    /// and reused for the same request.
    reuse_contexts: bool,
    /// The mapper declares MCP endpoints: a `POST` may need its body read.
    has_mcp: bool,
    /// The largest MCP request body read (bytes).
    mcp_body_limit: usize,
}

impl fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("JwtAuth")
            .field("verifier", &i.verifier)
            .field("source", &i.source)
            .field("claims", &i.claims)
            .field("validation", &i.validation)
            .field("options", &i.options)
            .field("authorization", &i.authorization)
            .field("realm", &i.realm)
            .field("cache", &i.cache)
            .field("checks", &i.checks)
            .field("dpop", &i.dpop)
            .finish_non_exhaustive()
    }
}

impl JwtAuth {
    /// The validated-token cache's current size: `(entries, estimated bytes)`, or `None` when
    /// the cache is off.
    pub fn cache_usage(&self) -> Option<(usize, u64)> {
        self.inner.cache.as_ref().map(|c| (c.len(), c.weight()))
    }

    /// Whether `self` and `other` are clones of one engine (one [`crate::JwtAuthBuilder::build`]). An
    /// adapter that hands a decision from its middleware to its extractors checks this, so an
    /// extractor never accepts a decision another configuration made.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, StaticKeys};
    /// let build = || JwtAuth::builder().dangerous_any_issuer().verifier(StaticKeys::hs256([7u8; 32])?).build();
    /// let (a, b) = (build()?, build()?);
    /// assert!(a.same_engine(&a.clone()));
    /// assert!(!a.same_engine(&b));
    /// # Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn same_engine(&self, other: &JwtAuth) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// How many bytes of this request's body the adapter must read and hand over
    /// ([`crate::RequestParts::body`]) before deciding, or `None` when the decision does not
    /// read the body: only a `POST` to an MCP endpoint ([`crate::RouteTableBuilder::mcp`]) has
    /// one (1 MiB unless [`crate::JwtAuthBuilder::mcp_body_limit`] says otherwise). A body
    /// longer than that is [`crate::RequestBody::TooLarge`], refused without reading further.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, RouteTable, SimpleRequest, StaticKeys};
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256([7u8; 32])?)
    ///     .scopes(RouteTable::builder().mcp("/mcp").build()?)
    ///     .build()?;
    /// assert_eq!(auth.body_limit(&SimpleRequest::new("POST", "/mcp")), Some(1 << 20));
    /// assert_eq!(auth.body_limit(&SimpleRequest::new("GET", "/mcp")), None);
    /// assert_eq!(auth.body_limit(&SimpleRequest::new("POST", "/other")), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn body_limit<R: RequestParts>(&self, req: &R) -> Option<usize> {
        let i = &*self.inner;
        if !i.has_mcp || req.method() != "POST" {
            return None;
        }
        let path = crate::token::path::RequestPath::parse(req.path()).ok()?;
        let found = i.mapper.resolve(req.method(), &path).ok()?;
        (*found.access == crate::Access::Mcp).then_some(i.mcp_body_limit)
    }

    /// The realm in `WWW-Authenticate`.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Every refusal on its way out: rendered in this engine's style, and logged at `WARN`
    /// (rate-limited) when it signals an attack.
    pub(super) fn refused(&self, err: AuthError) -> AuthError {
        alerts::refused(&err);
        err.with_style(&self.inner.style)
    }
}
