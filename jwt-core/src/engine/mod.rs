//! The decision engine: [`JwtAuth`] and its builder. Every adapter calls
//! [`JwtAuth::authenticate`] and only renders what it returns.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

pub(crate) mod alerts;
pub(crate) mod cache;
pub(crate) mod checks;
pub(crate) mod decided;
pub(crate) mod dpop;
pub(crate) mod metadata;
pub(crate) mod stores;
pub(crate) mod validation;

use crate::authz::context::{AuthContext, Principal, Revoker};
use crate::authz::routes::{
    Access, Listing, RouteMatch, RouteTable, ScopeMapper, ScopeTemplate, Unmapped,
};
use crate::authz::scope::{AccessibleIds, ScopeSet};
use crate::clock::now_secs;
use crate::engine::cache::{CachedToken, TokenCache, TokenCacheConfig};
use crate::engine::checks::RequestCheck;
use crate::engine::dpop::{Dpop, DpopCheck, DpopMode};
use crate::engine::metadata::ProtectedResourceMetadata;
use crate::engine::validation::{AudiencePolicy, Validation};
use crate::error::{
    AuthError, AuthErrorKind, ConfigError, DpopChallenge, ErrorRenderer, ErrorStyle, InvalidToken,
    RenderedBody,
};
use crate::keys::verifier::{TokenKind, Verifier, VerifyError};
use crate::render::RenderWith;
use crate::token::claims::{ClaimsConfig, StandardClaims};
use crate::token::jose::TokenHeader;
use crate::token::path::RequestPath;
use crate::token::request::{RequestParts, has_header};
use crate::token::source::{AnyOf, BearerHeader, CookieToken, PendingCheck, TokenSource};
use tracing::{Instrument as _, Level};

/// How `OPTIONS` requests are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OptionsPolicy {
    /// CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) pass
    /// without a token; other `OPTIONS` requests are authenticated like any method. Default.
    #[default]
    BypassPreflight,
    /// Every `OPTIONS` request passes (agno's behaviour).
    BypassAll,
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
    mapper: Box<dyn ScopeMapper>,
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

/// Builds a [`JwtAuth`]; every mistake is a [`ConfigError`] from [`JwtAuthBuilder::build`].
#[derive(Default)]
pub struct JwtAuthBuilder {
    verifier: Option<Arc<dyn Verifier>>,
    source: Option<Box<dyn TokenSource>>,
    claims: Option<Box<dyn ClaimsConfig>>,
    mapper: Option<Box<dyn ScopeMapper>>,
    validation: Validation,
    audiences: Vec<String>,
    issuers: Vec<String>,
    leeway: Option<u64>,
    max_token_len: Option<usize>,
    options: OptionsPolicy,
    authorization: Option<bool>,
    realm: Option<Cow<'static, str>>,
    keep_token: bool,
    cache: Option<TokenCacheConfig>,
    cache_off: bool,
    renderer: Option<Arc<dyn ErrorRenderer>>,
    retry_after_secs: Option<u32>,
    checks: Vec<Arc<dyn RequestCheck>>,
    metadata: Option<ProtectedResourceMetadata>,
    dpop: Option<Dpop>,
    any_issuer: bool,
    revoker: Option<Arc<dyn Revoker>>,
    error: Option<ConfigError>,
}

impl fmt::Debug for JwtAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthBuilder").finish_non_exhaustive()
    }
}

impl JwtAuth {
    /// A builder with secure defaults: header token, `exp` required, 10 s leeway, no audience
    /// accepted unless configured, CORS preflights bypassed, every route needing a valid token.
    pub fn builder() -> JwtAuthBuilder {
        JwtAuthBuilder::default()
    }

    /// The validated-token cache's current size: `(entries, estimated bytes)`, or `None` when
    /// the cache is off.
    pub fn cache_usage(&self) -> Option<(usize, u64)> {
        self.inner.cache.as_ref().map(|c| (c.len(), c.weight()))
    }

    /// Whether `self` and `other` are clones of one engine (one [`JwtAuthBuilder::build`]). An
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
        let span = tracing::debug_span!(
            "jwt_auth",
            method = req.method(),
            route = tracing::field::Empty,
            outcome = tracing::field::Empty,
            status = tracing::field::Empty,
            reason = tracing::field::Empty,
            sub = tracing::field::Empty,
            iss = tracing::field::Empty,
            kid = tracing::field::Empty,
            alg = tracing::field::Empty,
            required = tracing::field::Empty,
            cache_hit = tracing::field::Empty,
            expected = tracing::field::Empty,
            received = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        );
        if span.is_disabled() && !cfg!(feature = "metrics") && !tracing::enabled!(Level::DEBUG) {
            return self.decide(req, &span).await.map_err(|e| self.refused(e));
        }
        let started = std::time::Instant::now();
        let result = self.decide(req, &span).instrument(span.clone()).await;
        let elapsed = started.elapsed();
        let (outcome, reason) = match &result {
            Ok(Outcome::Authenticated(_)) => ("authenticated", "ok"),
            Ok(Outcome::Anonymous | Outcome::ResourceMetadata(_)) => ("anonymous", "ok"),
            Err(e) => ("refused", e.reason()),
        };
        span.record("outcome", outcome);
        span.record("duration_us", elapsed.as_micros() as u64);
        #[cfg(feature = "metrics")]
        {
            metrics::counter!("jwt_auth_decisions_total", "outcome" => outcome, "reason" => reason)
                .increment(1);
            metrics::histogram!("jwt_auth_decision_seconds", "outcome" => outcome)
                .record(elapsed.as_secs_f64());
        }
        match result {
            Ok(decided) => {
                span.in_scope(|| tracing::debug!(outcome, "request allowed"));
                Ok(decided)
            }
            Err(e) => {
                span.record("status", e.status());
                span.record("reason", reason);
                span.in_scope(|| match e.kind() {
                    AuthErrorKind::InsufficientScope { required } => tracing::debug!(
                        status = e.status(),
                        reason,
                        detail = %e.detail(),
                        required = %required.join(" "),
                        "request refused"
                    ),
                    _ => tracing::debug!(
                        status = e.status(),
                        reason,
                        detail = %e.detail(),
                        "request refused"
                    ),
                });
                Err(self.refused(e))
            }
        }
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

    async fn decide<R: RequestParts>(
        &self,
        req: &R,
        span: &tracing::Span,
    ) -> Result<Outcome, AuthError> {
        let i = &*self.inner;
        let method = req.method();
        if let Some(served) = &i.metadata
            && (method == "GET" || method == "HEAD")
            && req.path() == served.path
        {
            return Ok(Outcome::ResourceMetadata(served.json.clone()));
        }
        if method == "OPTIONS" {
            match i.options {
                OptionsPolicy::BypassAll => return Ok(Outcome::Anonymous),
                OptionsPolicy::BypassPreflight
                    if has_header(req, "origin")
                        && has_header(req, "access-control-request-method") =>
                {
                    return Ok(Outcome::Anonymous);
                }
                _ => {}
            }
        }
        // A request this token already made (same method and path) is decided as it was then:
        // its kept context, once the token's times and keys still hold. Anything else (no
        // token, a miss, an expired token, an excluded route) takes the full decision below,
        // which reuses what was located and looked up here.
        let mut early = Early::default();
        if span.is_disabled()
            && i.reuse_contexts
            && let Some(cache) = &i.cache
            && let Ok(located) = i.source.locate(req as &dyn RequestParts)
        {
            early.located = Some(located);
            if let Some((token, _)) = located
                && let Some(hit) = cache.get(token)
                && hit.generation == i.verifier.key_generation()
                && i.validation.check_times(&hit.times, now_secs()).is_ok()
            {
                if let Some(ctx) = hit.context_for(method, req.path()) {
                    for check in &i.checks {
                        check.check(&ctx, method, req.path()).await?;
                    }
                    return Ok(Outcome::Authenticated(ctx));
                }
                early.hit = Some(hit);
            }
        }
        let invalid_path = |why| AuthError::new(AuthErrorKind::InvalidPath(why));
        let path = RequestPath::parse(req.path()).map_err(invalid_path)?;
        let route = i.mapper.resolve(method, &path).map_err(invalid_path)?;
        if let Some(entry) = route.route
            && !span.is_disabled()
        {
            span.record("route", entry);
        }
        if *route.access == Access::Excluded {
            return Ok(Outcome::Anonymous);
        }
        let dpop_located = match &i.dpop {
            Some(d) => d
                .locate(req as &dyn RequestParts)
                .map_err(AuthError::in_dpop_scheme)?,
            None => None,
        };
        let dpop_scheme = dpop_located.is_some();
        let located = match (dpop_located, early.located) {
            (Some(found), _) => Some(found),
            (None, Some(located)) => located,
            (None, None) => i.source.locate(req as &dyn RequestParts)?,
        };
        let (token, pending) = match located {
            Some(found) => found,
            None if *route.access == Access::Optional => return Ok(Outcome::Anonymous),
            None => {
                return Err(AuthErrorKind::MissingToken(i.source.missing_detail()).into());
            }
        };
        // A refusal of a `DPoP` request is answered with a `DPoP` challenge.
        let in_scheme = |e: AuthError| if dpop_scheme { e.in_dpop_scheme() } else { e };
        let decided = async {
            let (principal, cached) = match early.hit {
                Some(hit) => (hit.principal.clone(), Some(hit)),
                None => self.principal(token, pending, span).await?,
            };
            if let Some(d) = &i.dpop {
                let proof = d.check(req, token, &principal.claims, dpop_scheme, now_secs())?;
                if let Some(entry) = proof {
                    d.record(entry).await?;
                }
            }
            if !span.is_disabled() {
                if let Some(sub) = principal.identity.user_id.as_deref() {
                    span.record("sub", sub);
                }
                if let Some(iss) = principal.claims.get("iss").and_then(|v| v.as_str()) {
                    span.record("iss", iss);
                }
            }
            let templates: &[ScopeTemplate] = match &*route.access {
                Access::Denied if i.authorization => {
                    return Err(AuthErrorKind::RouteDenied.into());
                }
                Access::Scopes(templates) if i.authorization => templates,
                _ => &[],
            };
            let (required, listing) =
                required_scopes(&principal.scopes, &route, templates, method)?;
            if i.authorization {
                resource_checks(&principal.scopes, &route)?;
            }
            let ctx = AuthContext::new(
                principal,
                required,
                route.route.map(str::to_owned),
                listing,
                // UTF-8 already: a cached token, or one `pending` checked.
                i.keep_token
                    .then(|| String::from_utf8_lossy(token).into_owned()),
                Some(i.style.clone()),
                i.revoker.clone(),
            );
            if !span.is_disabled() && !ctx.required_scopes().is_empty() {
                span.record(
                    "required",
                    tracing::field::display(ctx.required_scopes().join(" ")),
                );
            }
            // Per-request checks run on every authenticated request, cache hit or not.
            for check in &i.checks {
                check.check(&ctx, method, req.path()).await?;
            }
            if let Some(entry) = &cached
                && i.reuse_contexts
            {
                entry.keep_context(method, req.path(), &ctx);
            }
            Ok(Outcome::Authenticated(ctx))
        };
        decided.await.map_err(in_scheme)
    }
}

/// What the reuse check at the start of a decision already found: the located token and its
/// cache entry (current keys, valid times), for the full decision to use rather than repeat.
#[derive(Default)]
struct Early<'r> {
    /// What the token source found (when it found no error).
    located: Option<Option<(&'r [u8], PendingCheck)>>,
    hit: Option<Arc<CachedToken>>,
}

/// The listing fallback's resource type and the ids the caller may see.
type ListingIds = (String, AccessibleIds);

/// The route's required scopes rendered for this request, checked against `scopes`, with the
/// listing fallback's ids when it applied.
fn required_scopes(
    scopes: &ScopeSet,
    route: &RouteMatch<'_>,
    templates: &[ScopeTemplate],
    method: &str,
) -> Result<(Vec<String>, Option<ListingIds>), AuthError> {
    let required: Vec<String> = templates
        .iter()
        .map(|t| t.render(&route.params).into_owned())
        .collect();
    // agno's listing fallback: a GET collection whose caller lacks the collection's own scope
    // (`agents:read`) but holds per-resource ones (`agents:a1:read`). It stands in for that one
    // scope only; every other required scope still applies.
    let fallback = route
        .listing
        .filter(|_| method == "GET" || method == "HEAD");
    let mut listing = None;
    for r in &required {
        if scopes.can(r) {
            continue;
        }
        match fallback {
            Some(l) if is_listing_scope(r, l) => {
                let ids = scopes.accessible_ids(&l.resource, &[l.action.as_str()]);
                if ids.is_empty() {
                    return Err(insufficient(required));
                }
                listing = Some((l.resource.clone(), ids));
            }
            _ => return Err(insufficient(required)),
        }
    }
    Ok((required, listing))
}

/// agno's route-level resource checks, after the scope check.
fn resource_checks(scopes: &ScopeSet, route: &RouteMatch<'_>) -> Result<(), AuthError> {
    for check in route.checks {
        let text = check.scope.render(&route.params);
        if !scopes.can(&text) {
            return Err(AuthErrorKind::AccessDenied {
                action: check.action.clone(),
                noun: check.noun.clone(),
                required: text.into_owned(),
            }
            .into());
        }
    }
    Ok(())
}

impl JwtAuth {
    /// Verifies and validates `token` into a principal, through the cache when it is on; with
    /// the cache entry that holds it.
    ///
    /// A cache hit skips the source's pending character check and the length limit: the
    /// cached token passed both when it was first verified.
    async fn principal(
        &self,
        token: &[u8],
        pending: PendingCheck,
        span: &tracing::Span,
    ) -> Result<(Arc<Principal>, Option<Arc<CachedToken>>), AuthError> {
        let i = &*self.inner;
        let now = now_secs();
        let generation = i.verifier.key_generation();
        if let Some(cache) = &i.cache
            && let Some(hit) = cache.get(token)
        {
            if hit.generation == generation {
                if !span.is_disabled() {
                    span.record("cache_hit", true);
                    record_header(span, hit.principal.header.as_ref());
                }
                match i.validation.check_times(&hit.times, now) {
                    Ok(()) => return Ok((hit.principal.clone(), Some(hit))),
                    Err(reason) => {
                        cache.remove(token);
                        return Err(reason.into());
                    }
                }
            }
            cache.remove(token);
        }
        if !span.is_disabled() {
            span.record("cache_hit", false);
        }
        let token = pending.run(token)?;
        if token.len() > i.validation.max_token_length() {
            return Err(InvalidToken::TooLong.into());
        }
        let verified = i.verifier.verify(token).await.map_err(|e| {
            // Which key or algorithm the token asked for (unverified, for the operator).
            if !span.is_disabled() {
                // The header is parsed again only for the log line.
                record_header(span, crate::token::jose::peek_header(token).as_ref());
            }
            match e {
                VerifyError::Invalid(reason) => AuthError::from(reason),
                VerifyError::Unavailable => AuthError::new(AuthErrorKind::Unavailable),
            }
        })?;
        record_header(span, verified.header.as_ref());
        let times = match verified.kind {
            TokenKind::Jwt => Some(
                i.validation
                    .validate_at(verified.header.as_ref(), &verified.claims, now)
                    .inspect_err(|reason| {
                        record_mismatch(span, reason, &i.validation, &verified.claims);
                    })?,
            ),
            _ => None,
        };
        let mut identity = i.claims.identity(&verified.claims)?;
        let scopes = ScopeSet::with_rules(
            std::mem::take(&mut identity.scopes),
            i.mapper.scope_rules().clone(),
        );
        let principal = Arc::new(Principal {
            identity,
            scopes,
            claims: verified.claims,
            header: verified.header,
        });
        let entry = match (&i.cache, times) {
            (Some(cache), Some(times)) => {
                principal.scopes.index();
                let entry = Arc::new(CachedToken::new(principal.clone(), times, generation));
                cache.insert(token, entry.clone());
                Some(entry)
            }
            _ => None,
        };
        Ok((principal, entry))
    }
}

/// Records the token's `kid` and `alg` on the decision's span.
fn record_header(span: &tracing::Span, header: Option<&TokenHeader>) {
    if span.is_disabled() {
        return;
    }
    if let Some(h) = header {
        span.record("alg", tracing::field::debug(h.alg));
        if let Some(kid) = h.kid.as_deref() {
            // A `kid` is attacker-controlled: bounded, and only printable ASCII.
            let kid: String = kid
                .chars()
                .take(64)
                .map(|c| if c.is_ascii_graphic() { c } else { '?' })
                .collect();
            span.record("kid", kid.as_str());
        }
    }
}

/// On an audience or issuer mismatch, what was expected and what the (verified) token said.
fn record_mismatch(
    span: &tracing::Span,
    reason: &InvalidToken,
    validation: &Validation,
    claims: &serde_json::Map<String, serde_json::Value>,
) {
    if span.is_disabled() {
        return;
    }
    let (expected, received) = match reason {
        InvalidToken::InvalidAudience => (
            format!("{:?}", validation.audience_settings()),
            claims.get("aud").map(|v| v.to_string()).unwrap_or_default(),
        ),
        InvalidToken::InvalidIssuer => (
            format!("{:?}", validation.issuer_settings()),
            claims.get("iss").map(|v| v.to_string()).unwrap_or_default(),
        ),
        _ => return,
    };
    let bounded = |s: String| s.chars().take(256).collect::<String>();
    span.record("expected", bounded(expected).as_str());
    span.record("received", bounded(received).as_str());
}

/// Whether `scope` is the collection scope a listing fallback may stand in for
/// (`<resource>:<action>`).
fn is_listing_scope(scope: &str, listing: &Listing) -> bool {
    scope
        .strip_prefix(listing.resource.as_str())
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(listing.action.as_str())
}

fn insufficient(required: Vec<String>) -> AuthError {
    AuthErrorKind::InsufficientScope { required }.into()
}

impl JwtAuthBuilder {
    fn fail(mut self, e: ConfigError) -> Self {
        self.error.get_or_insert(e);
        self
    }

    /// The verifier (required): [`crate::StaticKeys`], [`crate::Jwks`], [`crate::KeyChain`], ...
    pub fn verifier(mut self, verifier: impl Verifier + 'static) -> Self {
        self.verifier = Some(Arc::new(verifier));
        self
    }

    /// A shared verifier.
    pub fn shared_verifier(mut self, verifier: Arc<dyn Verifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Uses [`crate::KeyChain::from_env`]; a missing or bad variable surfaces in `build`.
    pub fn verifier_from_env(self) -> Self {
        match crate::KeyChain::from_env() {
            Ok(chain) => self.verifier(chain),
            Err(e) => self.fail(e),
        }
    }

    /// A custom token source.
    pub fn token_source(mut self, source: impl TokenSource + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// One of agno's token locations.
    pub fn token_location(self, location: TokenLocation) -> Self {
        match location {
            TokenLocation::Header => self.token_source(BearerHeader::new()),
            TokenLocation::Cookie(name) => self.token_source(CookieToken::new(name)),
            TokenLocation::Both(name) => self.token_source(AnyOf::header_then_cookie(name)),
            TokenLocation::BothStrict(name) => {
                self.token_source(AnyOf::header_then_cookie(name).into_strict())
            }
        }
    }

    /// A custom claims mapping (default [`StandardClaims`]).
    pub fn claims(mut self, claims: impl ClaimsConfig + 'static) -> Self {
        self.claims = Some(Box::new(claims));
        self
    }

    /// The route → scope mapper. Without one the middleware authenticates only: every route
    /// that is not excluded needs a valid token and no scope. With one, a route the table does not
    /// list is refused (403) unless it opts in to [`crate::Unmapped::Authenticated`].
    pub fn scopes(mut self, mapper: impl ScopeMapper + 'static) -> Self {
        self.mapper = Some(Box::new(mapper));
        self
    }

    /// Turns scope enforcement off (authentication only) or on (default).
    pub fn authorization(mut self, on: bool) -> Self {
        self.authorization = Some(on);
        self
    }

    /// The whole claim validation policy.
    ///
    /// Order does not matter: audiences and issuers added with [`Self::audience`] and
    /// [`Self::issuer`], and [`Self::leeway`] / [`Self::max_token_len`], apply on top of it
    /// whether they were called before or after.
    pub fn validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// Accepts tokens whose `aud` contains `audience`; call it again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Makes this API an OAuth protected resource (RFC 9728): every adapter serves `metadata`
    /// at its well-known path (no token needed), every challenge points at it
    /// (`resource_metadata="..."`), and tokens whose audience is the resource identifier are
    /// accepted (RFC 8707 resource indicators; with [`Self::audience`] the others too). Its
    /// `scopes_supported` default to the route table's.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, ProtectedResourceMetadata, SimpleRequest, StaticKeys};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256([7u8; 32])?)
    ///     .protected_resource(
    ///         ProtectedResourceMetadata::new("https://api.example.com")
    ///             .authorization_server("https://idp.example.com"),
    ///     )
    ///     .build()?;
    /// let doc = auth
    ///     .authenticate(&SimpleRequest::new("GET", "/.well-known/oauth-protected-resource"))
    ///     .await?;
    /// assert!(matches!(doc, jwt_core::Outcome::ResourceMetadata(_)));
    /// let refused = auth.authenticate(&SimpleRequest::new("GET", "/x")).await.unwrap_err();
    /// assert_eq!(
    ///     refused.www_authenticate(),
    ///     r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn protected_resource(mut self, metadata: ProtectedResourceMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Turns DPoP on (RFC 9449): DPoP-bound tokens (`cnf.jkt`) are accepted with
    /// `Authorization: DPoP <token>` and a valid proof in the `DPoP` header, and refused
    /// otherwise (as `Bearer` too); [`Dpop::required`] refuses plain bearer tokens. Challenges
    /// advertise `DPoP algs="..."`, and the protected resource metadata
    /// `dpop_signing_alg_values_supported`. Without it, every key-bound token is refused.
    ///
    /// ```
    /// use jwt_core::{Dpop, JwtAuth, ProtectedResourceMetadata, SimpleRequest, StaticKeys};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256([7u8; 32])?)
    ///     .protected_resource(ProtectedResourceMetadata::new("https://api.example.com"))
    ///     .dpop(Dpop::required().algorithms([jwt_core::Algorithm::ES256]))
    ///     .build()?;
    /// let refused = auth.authenticate(&SimpleRequest::new("GET", "/x")).await.unwrap_err();
    /// assert_eq!(
    ///     refused.www_authenticate(),
    ///     r#"DPoP algs="ES256", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn dpop(mut self, dpop: Dpop) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// Accepts tokens whose `iss` equals `issuer`; call it again to accept several (like
    /// [`Self::audience`]).
    ///
    /// Every configuration checks the issuer unless it says otherwise: a verifier that pins it
    /// (discovery, [`crate::Issuers`]), this, or [`Self::dangerous_any_issuer`]. A shared secret
    /// or static key without any of them is a build error ([`ConfigError::NoIssuerCheck`]).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens from any issuer (or none): `iss` is not checked. Only where the keys
    /// alone say who issued the token, such as a secret shared with one issuer (agno's own
    /// HS256 setup); an explicit choice, because a key that two issuers share (or a JWKS of a
    /// multi-tenant provider) then accepts either's tokens.
    ///
    /// ```
    /// use jwt_core::{ConfigError, JwtAuth, StaticKeys};
    /// let secret = b"a-secret-of-at-least-thirty-two-bytes!";
    /// let err = JwtAuth::builder().verifier(StaticKeys::hs256(secret)?).build().unwrap_err();
    /// assert!(matches!(err, ConfigError::NoIssuerCheck));
    /// assert!(JwtAuth::builder().verifier(StaticKeys::hs256(secret)?).issuer("https://idp.example").build().is_ok());
    /// assert!(JwtAuth::builder().verifier(StaticKeys::hs256(secret)?).dangerous_any_issuer().build().is_ok());
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn dangerous_any_issuer(mut self) -> Self {
        self.any_issuer = true;
        self
    }

    /// The leeway in seconds (checked in `build`).
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = Some(secs);
        self
    }

    /// The maximum token length (checked in `build`).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = Some(len);
        self
    }

    /// How `OPTIONS` is treated.
    pub fn options_policy(mut self, policy: OptionsPolicy) -> Self {
        self.options = policy;
        self
    }

    /// The realm in `WWW-Authenticate` (default `api`).
    pub fn realm(mut self, realm: impl Into<Cow<'static, str>>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Renders error bodies with `renderer` (default [`crate::DetailJson`], `{"detail": ...}`;
    /// [`crate::ProblemJson`] for RFC 9457). Status, `WWW-Authenticate` and `Retry-After` stay the
    /// core's. Adapters pick it up from the error itself, for the middleware's errors and for
    /// per-route requirements alike.
    pub fn error_renderer(mut self, renderer: impl ErrorRenderer + 'static) -> Self {
        self.renderer = Some(Arc::new(renderer));
        self
    }

    /// Renders error bodies with a closure.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, RenderedBody, StaticKeys};
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
    ///     .render_errors_with(|err| RenderedBody::new("text/plain", err.detail().into_owned()))
    ///     .build()?;
    /// # let _ = auth; Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn render_errors_with<F>(self, render: F) -> Self
    where
        F: Fn(&AuthError) -> RenderedBody + Send + Sync + 'static,
    {
        self.error_renderer(RenderWith(render))
    }

    /// The `Retry-After` (seconds) of a 503 when no verification keys are available (default 5).
    pub fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Adds a per-request check ([`RequestCheck`], e.g. [`crate::JtiDenylist`]) run on every
    /// authenticated request, cache hit or not, after the scope decision.
    pub fn check(mut self, check: impl RequestCheck + 'static) -> Self {
        // The first revocation check is also what `AuthContext::revoke` records with.
        if self.revoker.is_none() {
            let any: &dyn std::any::Any = &check;
            if let Some(r) = any.downcast_ref::<crate::Revocation>() {
                self.revoker = Some(Arc::new(r.clone()));
            } else if let Some(d) = any.downcast_ref::<crate::JtiDenylist>() {
                self.revoker = Some(Arc::new(d.clone()));
            }
        }
        self.checks.push(Arc::new(check));
        self
    }

    /// Keeps the raw token in the [`AuthContext`] (off by default).
    pub fn keep_token(mut self, keep: bool) -> Self {
        self.keep_token = keep;
        self
    }

    /// Sets the validated-token cache's limits (the cache is on by default).
    /// Like every setter, the last call wins: `.cache_tokens(false).token_cache(cfg)` is on.
    pub fn token_cache(mut self, config: TokenCacheConfig) -> Self {
        self.cache = Some(config);
        self.cache_off = false;
        self
    }

    /// Turns the validated-token cache on (default) or off; the last call wins (see
    /// [`Self::token_cache`]).
    pub fn cache_tokens(mut self, on: bool) -> Self {
        self.cache = on.then(|| self.cache.unwrap_or_default());
        self.cache_off = !on;
        self
    }

    /// The AgentOS preset: agno's route table, excluded routes, reserved subjects and `system`
    /// alias. Token source, keys and audience are still yours to set.
    pub fn agent_os(self) -> Self {
        match RouteTable::agent_os().build() {
            Ok(table) => self.scopes(table).claims(StandardClaims::agent_os()),
            Err(e) => self.fail(e),
        }
    }

    /// Checks the configuration and builds the middleware.
    ///
    /// # Errors
    /// [`ConfigError::NoKeySource`] without a verifier, [`ConfigError::LeewayOutOfRange`],
    /// [`ConfigError::MaxTokenLengthOutOfRange`], or the first error a setter recorded.
    pub fn build(self) -> Result<JwtAuth, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        crate::keys::crypto::self_test()?;
        let verifier = self.verifier.ok_or(ConfigError::NoKeySource)?;
        let mut validation = self.validation;
        // RFC 8707: a token minted for the protected resource names it as its audience.
        let mut audiences = self.audiences;
        audiences.extend(self.metadata.as_ref().map(|m| m.resource().to_owned()));
        if !audiences.is_empty() {
            let mut list = match validation.audience_settings() {
                AudiencePolicy::Require(list) => list.clone(),
                _ => Vec::new(),
            };
            list.extend(audiences);
            validation = validation.audience(list);
        }
        // An empty audience or issuer matches no token: it cannot be what the user meant.
        if let AudiencePolicy::Require(list) = validation.audience_settings()
            && (list.is_empty() || list.iter().any(String::is_empty))
        {
            return Err(ConfigError::Empty("audience"));
        }
        if self.issuers.iter().any(String::is_empty)
            || validation.issuer_settings().iter().any(String::is_empty)
        {
            return Err(ConfigError::Empty("issuer"));
        }
        if !self.issuers.is_empty() {
            let mut list = validation.issuer_settings().to_vec();
            list.extend(self.issuers);
            validation = validation.issuer(list);
        }
        if validation.issuer_settings().is_empty() && !verifier.pins_issuer() && !self.any_issuer {
            return Err(ConfigError::NoIssuerCheck);
        }
        if let Some(l) = self.leeway {
            validation = validation.leeway(l)?;
        }
        if let Some(n) = self.max_token_len {
            validation = validation.max_token_len(n)?;
        }
        if let Some(claims) = &self.claims {
            claims.check_config()?;
        }
        let mapper = match self.mapper {
            Some(m) => m,
            // No table: authentication only, every route needs a valid token.
            None => Box::new(
                RouteTable::builder()
                    .unmapped(Unmapped::Authenticated)
                    .build()?,
            ),
        };
        let realm = self.realm.unwrap_or(Cow::Borrowed("api"));
        if realm.is_empty() {
            return Err(ConfigError::Empty("realm"));
        }
        let cache = if self.cache_off {
            None
        } else {
            let config = self.cache.unwrap_or_default();
            Some(TokenCache::new(config)?)
        };
        let dpop = match self.dpop {
            Some(d) => {
                validation.dpop_binding = true;
                Some(d.build(self.metadata.as_ref().map(|m| m.resource()))?)
            }
            None => None,
        };
        let metadata = match self.metadata {
            Some(m) => {
                m.check()?;
                let mut m = m.with_default_scopes(mapper.scopes_supported());
                if let Some(d) = &dpop {
                    m = m.with_dpop(d.alg_names.clone(), d.mode == DpopMode::Required);
                }
                Some(metadata::ServedMetadata::new(&m))
            }
            None => None,
        };
        let reuse_contexts = mapper.is_fixed() && dpop.is_none();
        Ok(JwtAuth {
            inner: Arc::new(Inner {
                reuse_contexts,
                cache,
                verifier,
                source: self.source.unwrap_or_else(|| Box::new(BearerHeader::new())),
                claims: self
                    .claims
                    .unwrap_or_else(|| Box::new(StandardClaims::default())),
                mapper,
                validation,
                options: self.options,
                authorization: self.authorization.unwrap_or(true),
                style: Arc::new(ErrorStyle {
                    realm: Arc::from(&*realm),
                    resource_metadata: metadata.as_ref().map(|m| Arc::from(&*m.url)),
                    renderer: self.renderer,
                    retry_after_secs: self
                        .retry_after_secs
                        .unwrap_or(crate::limits::DEFAULT_RETRY_AFTER_SECS),
                    dpop: dpop.as_ref().map(|d| DpopChallenge {
                        algs: d.algs_text.clone(),
                        required: d.mode == DpopMode::Required,
                    }),
                }),
                realm,
                checks: self.checks,
                keep_token: self.keep_token,
                metadata,
                dpop,
                revoker: self.revoker,
            }),
        })
    }
}
