//! The decision engine: [`JwtAuth`], what it answers ([`Outcome`]) and its entry points,
//! [`JwtAuth::authenticate`] and [`JwtAuth::authenticate_now`]. Every adapter calls one and only
//! renders what it returns. The builder is in `builder.rs`, the decision's steps in
//! `decision.rs`, what it tells an operator in `trace.rs`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

pub(crate) mod alerts;
pub(crate) mod builder;
pub(crate) mod cache;
pub(crate) mod checks;
pub(crate) mod decided;
pub(crate) mod decision;
pub(crate) mod dpop;
pub(crate) mod mcp;
pub(crate) mod metadata;
pub(crate) mod stores;
pub(crate) mod trace;
pub(crate) mod validation;

use crate::authz::context::{AuthContext, Revoker};
use crate::authz::routes::ScopeMapper;
use crate::engine::cache::TokenCache;
use crate::engine::checks::RequestCheck;
use crate::engine::dpop::DpopCheck;
use crate::engine::validation::Validation;
use crate::error::{AuthError, ErrorStyle};
use crate::keys::verifier::Verifier;
use crate::token::claims::ClaimsConfig;
use crate::token::request::RequestParts;
use crate::token::source::TokenSource;
use tracing::Level;

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
    source: Box<dyn TokenSource>,
    claims: Box<dyn ClaimsConfig>,
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

    /// The decision for one request: `Ok` to let it through (with or without identity),
    /// `Err` to answer with the error's status, body and `WWW-Authenticate`.
    ///
    /// # Errors
    /// An [`AuthError`] of status 400, 401, 403 or 503.
    ///
    /// Every decision runs in one `tracing` span `jwt_auth` (level DEBUG) whose fields say what
    /// happened: `method`, `route`, `outcome` (`authenticated`, `anonymous`, `refused`),
    /// `status`, `reason` ([`AuthError::reason`]), `sub`, `iss`, `kid`, `alg`, `required`,
    /// `cache_hit`, `duration_us`, and on an audience or issuer mismatch `expected` and
    /// `received`. Never the token or key material. With the `metrics` feature it also counts
    /// `jwt_auth_decisions_total{outcome, reason}` and records
    /// `jwt_auth_decision_seconds{outcome}`.
    pub async fn authenticate<R: RequestParts>(&self, req: &R) -> Result<Outcome, AuthError> {
        // Diagnostics cost nothing when nobody listens: with no subscriber interested in DEBUG
        // (and without the `metrics` feature) the decision runs bare: no span is built, no
        // clock is read, no field is looked up or formatted.
        if !cfg!(feature = "metrics") && !tracing::level_enabled!(Level::DEBUG) {
            return self
                .decide(req, &tracing::Span::none())
                .await
                .map_err(|e| self.refused(e));
        }
        self.decide_traced(req).await
    }

    /// [`Self::authenticate`] when the decision needs no waiting, `None` when it does: a cache
    /// hit, or keys that verify in place (static keys, a JWKS already fetched), decide at once;
    /// a key fetch in flight or a [`RequestCheck`] (which may do I/O) needs the async path.
    ///
    /// An adapter calls this first and, on `Some`, answers or calls the inner service without
    /// boxing a future; on `None` it runs [`Self::authenticate`]. The work done before `None`
    /// is repeated there (the future is dropped at its first wait, which is safe: key fetches
    /// run in their own task).
    ///
    /// ```
    /// use jwt_core::{JwtAuth, SimpleRequest, StaticKeys};
    /// let auth = JwtAuth::builder().dangerous_any_issuer().verifier(StaticKeys::hs256([7u8; 32])?).build()?;
    /// let refused = auth.authenticate_now(&SimpleRequest::new("GET", "/x"));
    /// assert_eq!(refused.unwrap().unwrap_err().status(), 401);
    /// # Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn authenticate_now<R: RequestParts>(&self, req: &R) -> Option<Result<Outcome, AuthError>> {
        // A check or a remote replay store may wait on I/O: their commands must not be sent
        // by a decision that is dropped at its first wait and run again.
        if !self.inner.checks.is_empty() || self.inner.dpop.as_ref().is_some_and(|d| !d.immediate) {
            return None;
        }
        let decision = std::pin::pin!(self.authenticate(req));
        match decision.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(result) => Some(result),
            std::task::Poll::Pending => None,
        }
    }

    /// Every refusal on its way out: rendered in this engine's style, and logged at `WARN`
    /// (rate-limited) when it signals an attack.
    fn refused(&self, err: AuthError) -> AuthError {
        alerts::refused(&err);
        err.with_style(&self.inner.style)
    }
}
