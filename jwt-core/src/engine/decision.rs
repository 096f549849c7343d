//! One decision, as its steps: what is answered before any route (the metadata document, CORS
//! preflights), the reuse of a context this token already got for this request, then locate
//! (the path, the route, the token), verify (signature, claims, identity; through the token
//! cache), prove possession (DPoP), authorize (the route's scopes, agno's resource checks), the
//! per-request checks, and the context handed to the handler.

use std::sync::Arc;

use tracing::Instrument as _;

use crate::authz::conditions::{Conditions, actor_chain};
use crate::authz::context::{AuthContext, Links, Principal, ScopesRequired};
use crate::authz::routes::{Access, Listing, RouteMatch, ScopeTemplate};
use crate::authz::scope::{AccessibleIds, ScopeSet};
use crate::clock::now_secs;
use crate::engine::binding::Binding;
use crate::engine::cache::CachedToken;
use crate::engine::mcp::{Level, McpDemand};
use crate::engine::trace::{Trace, record_header, record_mismatch};
use crate::engine::validation::TimeClaims;
use crate::engine::{JwtAuth, OptionsPolicy, Outcome};
use crate::error::{AuthErrorKind, InvalidToken};
use crate::keys::verifier::{TokenKind, VerifyError, pin_issuer};
use crate::render::AuthError;
use crate::token::claims::Identity;
use crate::token::jose::{self, TokenHeader};
use crate::token::path::RequestPath;
use crate::token::payload::{ClaimLookup, Claims, Members};
use crate::token::request::{RequestParts, has_header};
use crate::token::source::{PendingCheck, locate};

impl JwtAuth {
    /// The decision with its trace: bare when nobody listens, else in its span, timed, and
    /// closed with the outcome and reason. Every refusal leaves through [`JwtAuth::refused`].
    pub(super) async fn run<'r, R: RequestParts>(
        &self,
        req: &'r R,
        early: &mut Early<'r>,
        trace: &Trace,
    ) -> Result<Outcome, AuthError> {
        let Some(started) = trace.started else {
            return self
                .decide(req, &trace.span, early)
                .await
                .map_err(|e| self.refused(e));
        };
        let result = self
            .decide(req, &trace.span, early)
            .instrument(trace.span.clone())
            .await;
        self.finish(trace, started, result)
    }

    /// The decision, step by step. Each step either decides (an answer, a refusal) or hands
    /// what it found to the next; nothing is looked up twice. What the steps found is kept in
    /// `early`, so a decision dropped at its first wait continues from there
    /// ([`JwtAuth::verdict_after`]) instead of locating the token and reading the cache again.
    pub(super) async fn decide<'r, R: RequestParts>(
        &self,
        req: &'r R,
        span: &tracing::Span,
        early: &mut Early<'r>,
    ) -> Result<Outcome, AuthError> {
        if let Some(answer) = self.before_routing(req) {
            return Ok(answer);
        }
        if let Some(ctx) = self.reuse(req, span, early).await? {
            return Ok(Outcome::Authenticated(ctx));
        }
        let path = RequestPath::parse(req.path()).map_err(invalid_path)?;
        let route = self.route(req.method(), &path, span)?;
        let demand = match *route.access {
            Access::Mcp => Demand::Mcp(self.mcp_demand(req)?),
            _ => Demand::Route(route),
        };
        if let Demand::Mcp(d) = &demand
            && !span.is_disabled()
        {
            span.record("route", d.route.as_str());
        }
        // An MCP client asks for every scope the operation needs at once (401 and 403 alike).
        let hint = |e: AuthError| match &demand {
            Demand::Mcp(d) => e.with_scope_hint(&d.required),
            Demand::Route(_) => e,
        };
        if demand.is_excluded() {
            return Ok(Outcome::Anonymous);
        }
        let located = match early.credential {
            Some(found) => found,
            None => {
                let found = self
                    .locate(req, demand.is_optional(), early.source)
                    .map_err(hint)?;
                early.credential = Some(found);
                found
            }
        };
        let Some(located) = located else {
            return Ok(Outcome::Anonymous);
        };
        let dpop_scheme = located.dpop_scheme;
        self.authorize(req, span, &demand, located, &mut early.lookup)
            .await
            .map_err(hint)
            // A refusal of a `DPoP` request is answered with a `DPoP` challenge.
            .map_err(|e| if dpop_scheme { e.in_dpop_scheme() } else { e })
    }

    /// What is answered before any route: the protected resource metadata document, and CORS
    /// preflights under the OPTIONS policy.
    fn before_routing<R: RequestParts>(&self, req: &R) -> Option<Outcome> {
        let i = &*self.inner;
        let method = req.method();
        if let Some(served) = &i.metadata
            && (method == "GET" || method == "HEAD")
            && req.path() == served.path
        {
            return Some(Outcome::ResourceMetadata(served.json.clone()));
        }
        if method == "OPTIONS" {
            match i.options {
                OptionsPolicy::DangerousBypassAll => return Some(Outcome::Anonymous),
                OptionsPolicy::BypassPreflight
                    if has_header(req, "origin")
                        && has_header(req, "access-control-request-method") =>
                {
                    return Some(Outcome::Anonymous);
                }
                _ => {}
            }
        }
        None
    }

    /// A request this token already made (same method and path) is decided as it was then:
    /// its kept context, once the token's times and keys still hold and the per-request checks
    /// pass again. Anything else (no token, a miss, an expired token, another request) goes on
    /// to the full decision, which uses what was located and read here (`early`).
    async fn reuse<'r, R: RequestParts>(
        &self,
        req: &'r R,
        span: &tracing::Span,
        early: &mut Early<'r>,
    ) -> Result<Option<AuthContext>, AuthError> {
        let i = &*self.inner;
        // Off, or done already by the decision this one continues.
        if !i.reuse_contexts || early.source.is_some() {
            return Ok(None);
        }
        let (Some(cache), Ok(located)) = (
            &i.cache,
            locate(i.source.as_ref(), req as &dyn RequestParts),
        ) else {
            return Ok(None);
        };
        early.source = Some(located);
        let Some((token, _)) = located else {
            return Ok(None);
        };
        let hit = cache.get(token);
        let ctx = hit
            .as_ref()
            .filter(|hit| {
                let now = now_secs();
                hit.generation == i.verifier.key_generation()
                    && hit.times.is_fresh(now)
                    && i.validation.check_times(&hit.times, now).is_ok()
            })
            .and_then(|hit| hit.context_for(req.method(), req.path()));
        early.lookup = Some(hit);
        let Some(ctx) = ctx else {
            return Ok(None);
        };
        trace_reused(span, &ctx);
        self.run_checks(&ctx, req.method(), req.path()).await?;
        Ok(Some(ctx))
    }

    /// The route the table gives this method and path.
    fn route<'a>(
        &'a self,
        method: &str,
        path: &RequestPath<'a>,
        span: &tracing::Span,
    ) -> Result<RouteMatch<'a>, AuthError> {
        let route = self
            .inner
            .mapper
            .resolve(method, path)
            .map_err(invalid_path)?;
        if let Some(entry) = route.route
            && !span.is_disabled()
        {
            span.record("route", entry);
        }
        Ok(route)
    }

    /// The credential: a `DPoP` token (found before the token source), or the token source's
    /// (found by the reuse step already, or now). `None`: no token on an optional route.
    fn locate<'r, R: RequestParts>(
        &self,
        req: &'r R,
        optional: bool,
        already: Option<Option<(&'r [u8], PendingCheck)>>,
    ) -> Result<Option<Located<'r>>, AuthError> {
        let i = &*self.inner;
        let dpop_located = match &i.dpop {
            Some(d) => d
                .locate(req as &dyn RequestParts)
                .map_err(AuthError::in_dpop_scheme)?,
            None => None,
        };
        let dpop_scheme = dpop_located.is_some();
        let found = match (dpop_located, already) {
            (Some(found), _) => Some(found),
            (None, Some(located)) => located,
            (None, None) => locate(i.source.as_ref(), req as &dyn RequestParts)?,
        };
        match found {
            Some((token, pending)) => Ok(Some(Located {
                token,
                pending,
                dpop_scheme,
            })),
            None if optional => Ok(None),
            None => Err(AuthErrorKind::MissingToken(i.source.missing_detail()).into()),
        }
    }

    /// From a located token to the handler's context: verify (or the cache entry the reuse
    /// step found), prove possession, authorize, run the per-request checks, keep the context
    /// for the next identical request.
    async fn authorize<R: RequestParts>(
        &self,
        req: &R,
        span: &tracing::Span,
        demand: &Demand<'_>,
        located: Located<'_>,
        lookup: &mut Lookup,
    ) -> Result<Outcome, AuthError> {
        let i = &*self.inner;
        let (method, token) = (req.method(), located.token);
        let (principal, cached) = self.principal(token, located.pending, lookup, span).await?;
        // What `cnf` binds the token to, for the proofs configured. Verification refused every
        // `cnf` no configured proof can verify, so without DPoP or mutual TLS there is nothing
        // to read (and no lookup on the hot path).
        let binding = if i.dpop.is_some() || i.mtls.is_some() {
            Binding::of(principal.claims.tree(), i.dpop.is_some(), i.mtls.is_some())?
        } else {
            Binding::default()
        };
        if let Some(m) = &i.mtls {
            m.check(req, binding.x5t)?;
        }
        if let Some(d) = &i.dpop {
            let proof = d.check(req, token, binding.jkt, located.dpop_scheme, now_secs())?;
            if let Some(entry) = proof {
                d.record(entry).await?;
            }
        }
        trace_principal(span, &principal);
        let ctx = self.context(principal, demand, token, method)?;
        trace_required(span, &ctx);
        self.run_checks(&ctx, method, req.path()).await?;
        // An MCP request's demand is its body's: never reused for the next with the same path;
        // nor a decision that depends on the time (a step-up's `max_age`).
        if let Some(entry) = &cached
            && i.reuse_contexts
            && matches!(demand, Demand::Route(r) if r.conditions.is_timeless())
        {
            entry.keep_context(method, req.path(), &ctx);
        }
        Ok(Outcome::Authenticated(ctx))
    }

    /// The route's scopes (rendered with its parameters) or the MCP messages' against the
    /// principal's, agno's resource checks, and the context that results.
    fn context(
        &self,
        principal: Arc<Principal>,
        demand: &Demand<'_>,
        token: &[u8],
        method: &str,
    ) -> Result<AuthContext, AuthError> {
        let i = &*self.inner;
        let (required, listing, route) = match demand {
            Demand::Route(route) => {
                let templates: &[ScopeTemplate] = match &*route.access {
                    Access::Denied if i.authorization => {
                        return Err(AuthErrorKind::RouteDenied.into());
                    }
                    Access::Scopes(templates) if i.authorization => templates,
                    _ => &[],
                };
                let (required, listing) =
                    required_scopes(&principal.scopes, route, templates, method)?;
                if i.authorization {
                    resource_checks(&principal.scopes, route)?;
                }
                // How the caller authenticated, and through whom: checked even when scopes
                // are not (authentication only), since the table names them explicitly.
                self.route_conditions(&principal, route.conditions)?;
                (required, listing, route.route.map(str::to_owned))
            }
            Demand::Mcp(d) if i.authorization => {
                if d.denied {
                    return Err(AuthErrorKind::RouteDenied.into());
                }
                if !d.required.iter().all(|r| principal.scopes.can(r)) {
                    return Err(insufficient(d.required.clone()));
                }
                let required = ScopesRequired::from_iter(d.required.iter().cloned());
                (required, None, Some(d.route.clone()))
            }
            Demand::Mcp(d) => (ScopesRequired::new(), None, Some(d.route.clone())),
        };
        Ok(AuthContext::new(
            principal,
            required,
            route,
            listing,
            // UTF-8 already: a cached token, or one `pending` checked.
            i.keep_token
                .then(|| String::from_utf8_lossy(token).into_owned()),
            Links {
                style: Some(i.style.clone()),
                revoker: i.revoker.clone(),
                mapper: i.has_mcp.then(|| (i.mapper.clone(), i.authorization)),
            },
        ))
    }

    /// The route's step-up and delegation rules, on the principal's claims.
    fn route_conditions(
        &self,
        principal: &Principal,
        conditions: &Conditions,
    ) -> Result<(), AuthError> {
        let v = &self.inner.validation;
        if let Some(step_up) = &conditions.step_up {
            step_up.check(principal.claims.tree(), now_secs(), v.leeway_secs())?;
        }
        if let Some(actors) = &conditions.actors {
            actors.check(&actor_chain(principal.claims.tree(), v.actor_depth())?)?;
        }
        Ok(())
    }

    /// Every per-request check in order, on every authenticated request, cache hit or not.
    async fn run_checks(
        &self,
        ctx: &AuthContext,
        method: &str,
        path: &str,
    ) -> Result<(), AuthError> {
        for check in &self.inner.checks {
            check.check(ctx, method, path).await?;
        }
        Ok(())
    }
}

/// What the request demands: its route's, or on an MCP endpoint its messages'.
pub(super) enum Demand<'a> {
    Route(RouteMatch<'a>),
    Mcp(McpDemand),
}

impl Demand<'_> {
    fn is_excluded(&self) -> bool {
        match self {
            Demand::Route(r) => *r.access == Access::Excluded,
            Demand::Mcp(d) => d.level == Level::Excluded && !d.denied,
        }
    }

    fn is_optional(&self) -> bool {
        match self {
            Demand::Route(r) => *r.access == Access::Optional,
            Demand::Mcp(d) => d.level == Level::Optional && !d.denied,
        }
    }
}

/// A principal, with the cache entry that holds it (when the token cache keeps it).
type Verifying = (Arc<Principal>, Option<Arc<CachedToken>>);

/// A located credential: its bytes, the character check left for a cache miss, and whether it
/// came with the `DPoP` scheme.
#[derive(Clone, Copy)]
pub(super) struct Located<'r> {
    pub(super) token: &'r [u8],
    pub(super) pending: PendingCheck,
    pub(super) dpop_scheme: bool,
}

fn invalid_path(why: crate::token::path::PathRejection) -> AuthError {
    AuthError::new(AuthErrorKind::InvalidPath(why))
}

/// The principal's `sub` and `iss` on the span, when a subscriber listens.
fn trace_principal(span: &tracing::Span, principal: &Principal) {
    if span.is_disabled() {
        return;
    }
    if let Some(sub) = principal.identity.user_id.as_deref() {
        span.record("sub", sub);
    }
    if let Some(iss) = principal.claims.tree().get("iss").and_then(|v| v.as_str()) {
        span.record("iss", iss);
    }
}

/// A reused context's fields on the span, as the full decision records them.
fn trace_reused(span: &tracing::Span, ctx: &AuthContext) {
    if span.is_disabled() {
        return;
    }
    span.record("cache_hit", true);
    if let Some(route) = ctx.route() {
        span.record("route", route);
    }
    if let Some(sub) = ctx.user_id() {
        span.record("sub", sub);
    }
    if let Some(iss) = ctx.claim("iss").and_then(|v| v.as_str()) {
        span.record("iss", iss);
    }
    record_header(span, ctx.token_header());
    trace_required(span, ctx);
}

/// The scopes the route required, on the span, when a subscriber listens.
fn trace_required(span: &tracing::Span, ctx: &AuthContext) {
    if !span.is_disabled() && !ctx.required_scopes().is_empty() {
        span.record(
            "required",
            tracing::field::display(ctx.required_scopes().join(" ")),
        );
    }
}

/// What a decision's first steps found, for the later steps to use rather than repeat, and for
/// a decision dropped at its first wait to continue from ([`JwtAuth::verdict_after`]).
#[derive(Default)]
pub(super) struct Early<'r> {
    /// What the token source found, when it found no error (the reuse step's).
    pub(super) source: Option<Option<(&'r [u8], PendingCheck)>>,
    /// The credential the decision goes on with: a `DPoP` token or the source's; `None` on an
    /// optional route without one.
    pub(super) credential: Option<Option<Located<'r>>>,
    /// The token cache, read for this token.
    pub(super) lookup: Lookup,
}

/// What the token cache held for the token, once read (`None`: not read yet).
pub(super) type Lookup = Option<Option<Arc<CachedToken>>>;

/// The listing fallback's resource type and the ids the caller may see.
type ListingIds = (String, AccessibleIds);

/// The route's required scopes rendered for this request, checked against `scopes`, with the
/// listing fallback's ids when it applied.
fn required_scopes(
    scopes: &ScopeSet,
    route: &RouteMatch<'_>,
    templates: &[ScopeTemplate],
    method: &str,
) -> Result<(ScopesRequired, Option<ListingIds>), AuthError> {
    let required: ScopesRequired = templates
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
                    return Err(insufficient(required.into_vec()));
                }
                listing = Some((l.resource.clone(), ids));
            }
            _ => return Err(insufficient(required.into_vec())),
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
    /// the cache entry that holds it. The cache is read once per decision: what `lookup` holds
    /// when an earlier step (or the decision this one continues) read it.
    ///
    /// A cache hit skips the source's pending character check and the length limit: the
    /// cached token passed both when it was first verified.
    async fn principal(
        &self,
        token: &[u8],
        pending: PendingCheck,
        lookup: &mut Lookup,
        span: &tracing::Span,
    ) -> Result<Verifying, AuthError> {
        let i = &*self.inner;
        let now = now_secs();
        let generation = i.verifier.key_generation();
        let found = match lookup.take() {
            Some(found) => found,
            None => i.cache.as_ref().and_then(|cache| cache.get(token)),
        };
        // Read: a decision that continues after the verification's wait does not read again.
        *lookup = Some(None);
        if let Some(found) =
            found.and_then(|hit| self.cached_principal(token, hit, generation, now, span))
        {
            return found;
        }
        if !span.is_disabled() {
            span.record("cache_hit", false);
        }
        let token = pending.run(token)?;
        let (principal, times) = self.verify(token, now, span).await?;
        let principal = Arc::new(principal);
        let entry = match (&i.cache, times) {
            // Kept from the token's second verification on (see `TokenCache::admit`).
            (Some(cache), Some(times)) if cache.admit(token) => {
                principal.scopes.index();
                let entry = Arc::new(CachedToken::new(principal.clone(), times, generation));
                cache.insert(token, entry.clone());
                Some(entry)
            }
            _ => None,
        };
        Ok((principal, entry))
    }

    /// The principal of the cache entry `hit` for `token`, under the current keys, with its
    /// entry; the entry's time claims re-checked (an expired one is removed and refused).
    /// `None`: the entry is for older keys (removed): verify.
    fn cached_principal(
        &self,
        token: &[u8],
        hit: Arc<CachedToken>,
        generation: u64,
        now: u64,
        span: &tracing::Span,
    ) -> Option<Result<Verifying, AuthError>> {
        let i = &*self.inner;
        let cache = i.cache.as_ref()?;
        // Older keys, or an answer (introspection's) past its lifetime: verify again.
        if hit.generation != generation || !hit.times.is_fresh(now) {
            cache.remove(token);
            return None;
        }
        if !span.is_disabled() {
            span.record("cache_hit", true);
            record_header(span, hit.principal.header.as_deref());
        }
        Some(match i.validation.check_times(&hit.times, now) {
            Ok(()) => Ok((hit.principal.clone(), Some(hit))),
            Err(reason) => {
                cache.remove(token);
                Err(reason.into())
            }
        })
    }

    /// The token verified (length limit, signature, claim rules) into its principal, and for
    /// a JWT its time claims to re-check on cache hits. A built-in verifier's token is read in
    /// place ([`crate::keys::verifier::Direct`]); any other verifier's answer is a claims tree.
    async fn verify(
        &self,
        token: &str,
        now: u64,
        span: &tracing::Span,
    ) -> Result<(Principal, Option<TimeClaims>), AuthError> {
        let i = &*self.inner;
        if token.len() > i.validation.max_token_length() {
            return Err(InvalidToken::TooLong.into());
        }
        if let Some(direct) = &i.direct
            && let Some(checked) = direct.verify(token)
        {
            let (header, payload) = checked.map_err(|e| unverified(e.into(), token, span))?;
            record_header(span, Some(&header));
            let text = jose::decode_payload(payload)?;
            let members = Members::index(&text)?;
            pin_issuer(direct.pinned_issuer(), &members)?;
            let (identity, times) =
                self.judge(TokenKind::Jwt, Some(&*header), &members, now, span)?;
            drop(members);
            return Ok((
                self.principal_of(identity, Claims::payload(text), Some(header)),
                times,
            ));
        }
        let verified = i
            .verifier
            .verify(token)
            .await
            .map_err(|e| unverified(e, token, span))?;
        record_header(span, verified.header.as_ref());
        let (identity, mut times) = self.judge(
            verified.kind,
            verified.header.as_ref(),
            &verified.claims,
            now,
            span,
        )?;
        if let Some(times) = &mut times {
            times.fresh_until = verified.fresh_until;
        }
        let claims = Claims::Tree(verified.claims);
        let header = verified.header.map(Arc::new);
        Ok((self.principal_of(identity, claims, header), times))
    }

    /// The claim rules of a verified credential of `kind`, then its identity.
    fn judge<L: ClaimLookup + ?Sized>(
        &self,
        kind: TokenKind,
        header: Option<&TokenHeader>,
        claims: &L,
        now: u64,
        span: &tracing::Span,
    ) -> Result<(Identity, Option<TimeClaims>), AuthError> {
        let i = &*self.inner;
        let times = match kind {
            TokenKind::Jwt | TokenKind::Introspected => Some(
                i.validation
                    .validate_at(kind, header, claims, now)
                    .inspect_err(|reason| record_mismatch(span, reason, &i.validation, claims))?,
            ),
            // No claim rules for this kind (an API key's configured claims), but a `cnf` no
            // configured proof can verify is refused all the same, once, here.
            _ => {
                let v = &i.validation;
                if claims.member("cnf").is_some() {
                    Binding::of(&claims.tree(), v.dpop_binding, v.mtls_binding)?;
                }
                None
            }
        };
        Ok((i.claims.identity(claims)?, times))
    }

    /// The principal of a verified identity: its scopes under the mapper's rules.
    fn principal_of(
        &self,
        mut identity: Identity,
        claims: Claims,
        header: Option<Arc<TokenHeader>>,
    ) -> Principal {
        let scopes = ScopeSet::with_rules(
            std::mem::take(&mut identity.scopes),
            self.inner.mapper.scope_rules().clone(),
        );
        Principal {
            identity,
            scopes,
            claims,
            header,
        }
    }
}

/// A verifier's refusal as the decision's, with the header the token asked for on the span
/// (unverified, for the operator).
fn unverified(e: VerifyError, token: &str, span: &tracing::Span) -> AuthError {
    if !span.is_disabled() {
        // The header is parsed again only for the log line.
        record_header(span, crate::token::jose::peek_header(token).as_ref());
    }
    match e {
        VerifyError::Invalid(reason) => AuthError::from(reason),
        VerifyError::Unavailable => AuthError::new(AuthErrorKind::Unavailable),
    }
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
