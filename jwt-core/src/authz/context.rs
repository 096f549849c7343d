//! [`AuthContext`]: what a handler learns about an authenticated caller.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::authz::conditions::{Actor, actor_chain};
use crate::authz::routes::{Access, ScopeMapper};
use crate::authz::scope::{AccessibleIds, ScopeSet};
use crate::error::{RevokeError, StoreError};
use crate::mcp::message::McpOperation;
use crate::render::ErrorStyle;
use crate::token::claims::Identity;
use crate::token::jose::TokenHeader;
use crate::token::payload::Claims;

/// The authenticated caller, as injected by every adapter.
///
/// Cheap to clone (the claims are shared). `Debug` never shows the raw token.
///
/// ```
/// use jwt_core::{AuthContext, Identity, ScopeRules};
/// let ctx = AuthContext::for_identity(
///     Identity {
///         user_id: Some("alice".into()),
///         scopes: vec!["agents:a1:read".into(), "teams:read".into()],
///         ..Identity::default()
///     },
///     &ScopeRules::agent_os(),
/// );
/// assert!(ctx.can("teams:t9:read"));
/// assert!(!ctx.is_admin());
/// assert!(ctx.accessible_ids("agents", "read").contains("a1"));
/// ```
#[derive(Clone)]
pub struct AuthContext {
    inner: Arc<Inner>,
}

/// What a verified token proves, shared between the token cache and every request using it.
#[derive(Debug)]
pub(crate) struct Principal {
    /// The identity, whose `scopes` were moved into `scopes` (empty here).
    pub(crate) identity: Identity,
    pub(crate) scopes: ScopeSet,
    pub(crate) claims: Claims,
    /// The verified token's header (`alg`, `kid`), for diagnostics; `None` for non-JWT
    /// credentials (API keys).
    pub(crate) header: Option<Arc<TokenHeader>>,
}

impl Principal {
    pub(crate) fn estimated_bytes(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| 24 + s.len()).sum::<usize>();
        self.claims.estimated_bytes()
            + strings(self.scopes.strings())
            + self.scopes.index_bytes()
            + self.identity.dependencies.len() * 64
            + self.identity.session_state.len() * 64
    }
}

struct Inner {
    /// The middleware's realm and renderer, so per-route scope errors render like the
    /// middleware's.
    style: Option<Arc<ErrorStyle>>,
    principal: Arc<Principal>,
    required_scopes: ScopesRequired,
    route: Option<String>,
    listing: Option<(String, AccessibleIds)>,
    token: Option<String>,
    /// The middleware's revocation check, for [`AuthContext::revoke`].
    revoker: Option<Arc<dyn Revoker>>,
    /// The middleware's table and whether it authorizes, for [`AuthContext::may_call`].
    mapper: Option<(Arc<dyn ScopeMapper>, bool)>,
}

/// What a context keeps of the middleware that made it: how its errors render, its
/// revocation check, its table (with whether it authorizes at all).
#[derive(Default)]
pub(crate) struct Links {
    pub(crate) style: Option<Arc<ErrorStyle>>,
    pub(crate) revoker: Option<Arc<dyn Revoker>>,
    pub(crate) mapper: Option<(Arc<dyn ScopeMapper>, bool)>,
}

/// What [`AuthContext::revoke`] records a revocation with: the middleware's revocation check
/// ([`crate::Revocation`], [`crate::JtiDenylist`]).
#[async_trait::async_trait]
pub(crate) trait Revoker: Send + Sync {
    /// Revokes the token `jti` until `until` (Unix seconds).
    async fn revoke_jti(&self, jti: &str, until: u64) -> Result<(), StoreError>;
}

/// The JSON shape of an [`AuthContext`] (what the conformance echo handler returns).
#[derive(Serialize)]
struct View<'a> {
    user_id: &'a Option<String>,
    session_id: &'a Option<String>,
    scopes: &'a [String],
    dependencies: &'a Map<String, Value>,
    session_state: &'a Map<String, Value>,
    claims: &'a Map<String, Value>,
    required_scopes: &'a [String],
    is_admin: bool,
}

/// The scopes a decision required: a route's one or two inline (no allocation beyond their
/// strings), more on the heap.
pub(crate) type ScopesRequired = smallvec::SmallVec<[String; 2]>;

impl AuthContext {
    pub(crate) fn new(
        principal: Arc<Principal>,
        required_scopes: ScopesRequired,
        route: Option<String>,
        listing: Option<(String, AccessibleIds)>,
        token: Option<String>,
        links: Links,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                style: links.style,
                principal,
                required_scopes,
                route,
                listing,
                token,
                revoker: links.revoker,
                mapper: links.mapper,
            }),
        }
    }

    /// Whether this caller may run the MCP operation `op` on the middleware's MCP endpoint:
    /// the answer the middleware would give to a message asking for it, from the same table
    /// (`false` for a context made without a middleware). For listing only what the caller may
    /// use: see [`Self::retain_callable_tools`].
    ///
    /// ```
    /// use jwt_core::{JwtAuth, McpOperation, RouteTable, SimpleRequest, RequestBody, StaticKeys, mint};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let secret = [7u8; 32];
    /// let auth = JwtAuth::builder().dangerous_any_issuer()
    ///     .verifier(StaticKeys::hs256(secret)?)
    ///     .scopes(RouteTable::builder().mcp("/mcp").route("MCP tools/call {tool}", ["tools:{tool}:call"]).build()?)
    ///     .build()?;
    /// let token = mint::hs256(&secret, &serde_json::json!({"sub": "a", "exp": 4_000_000_000u64, "scope": "tools:search:call"}))?;
    /// let header = format!("Bearer {token}");
    /// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    /// let req = SimpleRequest::new("POST", "/mcp").header("Authorization", &header).body(RequestBody::Bytes(body));
    /// let ctx = auth.authenticate(&req).await?.into_context().unwrap();
    /// assert!(ctx.may_call_tool("search"));
    /// assert!(!ctx.may_call_tool("delete_everything"));
    /// assert!(ctx.may_call(&McpOperation::new("ping", None)));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn may_call(&self, op: &McpOperation) -> bool {
        let Some((mapper, authorizes)) = &self.inner.mapper else {
            return false;
        };
        if !authorizes {
            return true;
        }
        let found = mapper.resolve_mcp(op);
        match &*found.access {
            Access::Excluded | Access::Optional | Access::Authenticated => true,
            Access::Scopes(templates) => {
                templates.iter().all(|t| self.can(&t.render(&found.params)))
            }
            _ => false,
        }
    }

    /// Whether this caller may call the tool `name` (`tools/call`): [`Self::may_call`].
    pub fn may_call_tool(&self, name: &str) -> bool {
        self.may_call(&McpOperation::new("tools/call", Some(name)))
    }

    /// Whether this caller may get the prompt `name` (`prompts/get`): [`Self::may_call`].
    pub fn may_get_prompt(&self, name: &str) -> bool {
        self.may_call(&McpOperation::new("prompts/get", Some(name)))
    }

    /// Whether this caller may read the resource `uri` (`resources/read`): [`Self::may_call`].
    pub fn may_read_resource(&self, uri: &str) -> bool {
        self.may_call(&McpOperation::new("resources/read", Some(uri)))
    }

    /// Keeps the tools this caller may call, for a `tools/list` answer that shows only those
    /// (`name` reads a tool's name: `|t| &t.name` for rmcp's `Tool`).
    ///
    /// ```
    /// # use jwt_core::AuthContext;
    /// fn visible(ctx: &AuthContext, mut tools: Vec<(String, &'static str)>) -> Vec<(String, &'static str)> {
    ///     ctx.retain_callable_tools(&mut tools, |t| &t.0);
    ///     tools
    /// }
    /// ```
    pub fn retain_callable_tools<T>(&self, tools: &mut Vec<T>, name: impl Fn(&T) -> &str) {
        tools.retain(|t| self.may_call_tool(name(t)));
    }

    /// Revokes the token of this request (logout): its `jti` until its `exp` (or, without one,
    /// for the revocation check's longest token lifetime, a day by default), in the
    /// middleware's revocation check, so every later request with it (on every instance
    /// sharing the store) is refused with 401 `Token has been revoked`.
    ///
    /// ```
    /// use jwt_core::{JtiDenylist, JwtAuth, RevokeError, SimpleRequest, StaticKeys};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let secret = [7u8; 32];
    /// let auth = JwtAuth::builder()
    ///     .verifier(StaticKeys::hs256(secret)?)
    ///     .dangerous_any_issuer()
    ///     .check(JtiDenylist::new())
    ///     .build()?;
    /// let token = jwt_core::mint::hs256(&secret, &serde_json::json!({"sub": "u", "jti": "t-1", "exp": 4_000_000_000u64}))?;
    /// let bearer = format!("Bearer {token}");
    /// let req = SimpleRequest::new("POST", "/logout").header("authorization", &bearer);
    /// let ctx = auth.authenticate(&req).await?.into_context().unwrap();
    /// ctx.revoke().await?; // logout
    /// assert_eq!(auth.authenticate(&req).await.unwrap_err().status(), 401);
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`RevokeError::NotConfigured`] without a revocation check, [`RevokeError::NoTokenId`]
    /// for a token without a string `jti` (revoke its session or subject instead), or the
    /// store's error.
    pub async fn revoke(&self) -> Result<(), RevokeError> {
        let revoker = self
            .inner
            .revoker
            .as_ref()
            .ok_or(RevokeError::NotConfigured)?;
        let claims = self.inner.principal.claims.tree();
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .ok_or(RevokeError::NoTokenId)?;
        let until = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        revoker.revoke_jti(jti, until).await?;
        Ok(())
    }

    /// What keeping this context costs beyond its principal (shared with the token cache), in
    /// bytes; `usize::MAX` for a context that must not be reused (one carrying listing ids).
    pub(crate) fn estimated_bytes(&self) -> usize {
        let i = &*self.inner;
        if i.listing.is_some() {
            return usize::MAX;
        }
        std::mem::size_of::<Inner>()
            + 16
            + i.required_scopes
                .iter()
                .map(|s| 24 + s.len())
                .sum::<usize>()
            + i.route.as_ref().map_or(0, String::len)
            + i.token.as_ref().map_or(0, String::len)
    }

    /// The RFC 8693 `act` chain (delegation), outermost (current) actor first: who acts for
    /// the subject. Empty for a direct call.
    ///
    /// ```
    /// use jwt_core::{JwtAuth, SimpleRequest, StaticKeys, mint};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let secret = [4u8; 32];
    /// let auth = JwtAuth::builder().dangerous_any_issuer().verifier(StaticKeys::hs256(secret)?).build()?;
    /// let claims = serde_json::json!({"sub": "alice", "exp": 4_000_000_000u64,
    ///     "act": {"sub": "agent-7", "act": {"client_id": "planner"}}});
    /// let bearer = format!("Bearer {}", mint::hs256(&secret, &claims)?);
    /// let ctx = auth.authenticate(&SimpleRequest::new("GET", "/").header("authorization", &bearer)).await?
    ///     .into_context().unwrap();
    /// let chain = ctx.actors();
    /// assert_eq!(chain[0].sub.as_deref(), Some("agent-7"));
    /// assert_eq!(chain[1].client_id.as_deref(), Some("planner"));
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn actors(&self) -> Vec<Actor> {
        // Checked when the token was verified (an object, within the depth bound).
        actor_chain(self.inner.principal.claims.tree(), usize::MAX).unwrap_or_default()
    }

    /// A context for an identity built elsewhere (tests, service principals).
    pub fn for_identity(identity: Identity, rules: &crate::ScopeRules) -> Self {
        let mut identity = identity;
        let scopes = ScopeSet::with_rules(
            std::mem::take(&mut identity.scopes),
            Arc::new(rules.clone()),
        );
        let principal = Principal {
            identity,
            scopes,
            claims: Claims::Tree(Map::new()),
            header: None,
        };
        Self::new(
            Arc::new(principal),
            ScopesRequired::new(),
            None,
            None,
            None,
            Links::default(),
        )
    }

    /// The user id (`sub` by default).
    pub fn user_id(&self) -> Option<&str> {
        self.inner.principal.identity.user_id.as_deref()
    }

    /// The session id (`session_id` by default).
    pub fn session_id(&self) -> Option<&str> {
        self.inner.principal.identity.session_id.as_deref()
    }

    /// The raw scope strings.
    pub fn scopes(&self) -> &[String] {
        self.inner.principal.scopes.strings()
    }

    /// The parsed scopes.
    pub fn scope_set(&self) -> &ScopeSet {
        &self.inner.principal.scopes
    }

    /// The `dependencies` map (configured claims).
    pub fn dependencies(&self) -> &Map<String, Value> {
        &self.inner.principal.identity.dependencies
    }

    /// The `session_state` map (configured claims).
    pub fn session_state(&self) -> &Map<String, Value> {
        &self.inner.principal.identity.session_state
    }

    /// Every verified claim.
    pub fn claims(&self) -> &Map<String, Value> {
        self.inner.principal.claims.tree()
    }

    /// One claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.inner.principal.claims.tree().get(name)
    }

    /// Deserializes the claims into the caller's own type.
    ///
    /// # Errors
    /// The `serde_json` error when the claims do not fit `T`.
    pub fn claims_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.inner.principal.claims.tree().clone()))
    }

    /// The scopes the matched route required, rendered for this request.
    pub fn required_scopes(&self) -> &[String] {
        &self.inner.required_scopes
    }

    /// The route-table entry that matched, if any (`"GET /agents/{agent_id}"`).
    pub fn route(&self) -> Option<&str> {
        self.inner.route.as_deref()
    }

    /// The raw token (for forwarding to a downstream service). Never logged by this crate.
    pub fn token(&self) -> Option<&str> {
        self.inner.token.as_deref()
    }

    /// The realm of the middleware that authenticated the caller, if any.
    pub fn realm(&self) -> Option<&str> {
        self.inner.style.as_ref().map(|s| &*s.realm)
    }

    /// Whether the caller holds the admin scope.
    pub fn is_admin(&self) -> bool {
        self.inner.principal.scopes.is_admin()
    }

    /// Whether the caller's scopes satisfy `scope` (`"agents:a1:run"`, `"config:read"`, ...).
    pub fn can(&self, scope: &str) -> bool {
        self.inner.principal.scopes.can(scope)
    }

    /// Requires every scope in `scopes` (a per-route requirement added in a handler or a layer):
    /// `Ok` when all are granted, else the same 403 the middleware gives.
    ///
    /// ```
    /// use jwt_core::{AuthContext, Identity, ScopeRules};
    /// let ctx = AuthContext::for_identity(
    ///     Identity { scopes: vec!["agents:read".into()], ..Identity::default() },
    ///     &ScopeRules::agent_os(),
    /// );
    /// assert!(ctx.require_scopes(&["agents:a1:read"]).is_ok());
    /// let err = ctx.require_scopes(&["agents:read", "agents:run"]).unwrap_err();
    /// assert_eq!(err.status(), 403);
    /// assert_eq!(err.detail(), "Insufficient permissions. Required scope(s): agents:read, agents:run");
    /// ```
    ///
    /// # Errors
    /// An [`AuthError`](crate::AuthError) of status 403 naming all of `scopes`.
    pub fn require_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> Result<(), crate::AuthError> {
        if scopes.iter().all(|s| self.can(s.as_ref())) {
            return Ok(());
        }
        let err = crate::AuthError::from(crate::AuthErrorKind::InsufficientScope {
            required: scopes.iter().map(|s| s.as_ref().to_owned()).collect(),
        });
        Err(self.style_error(err))
    }

    /// The verified token's header, for diagnostics.
    pub(crate) fn token_header(&self) -> Option<&TokenHeader> {
        self.inner.principal.header.as_deref()
    }

    /// Whether this context was made by the engine whose error style is `style`.
    pub(crate) fn style_is(&self, style: &Arc<ErrorStyle>) -> bool {
        self.inner
            .style
            .as_ref()
            .is_some_and(|mine| Arc::ptr_eq(mine, style))
    }

    /// `err` rendered as the engine that made this context renders its own refusals (realm,
    /// renderer, resource metadata): for extractors and per-route checks.
    pub fn style_error(&self, err: crate::AuthError) -> crate::AuthError {
        match &self.inner.style {
            Some(style) => err.with_style(style),
            None => err,
        }
    }

    /// The ids of `resource` the caller may perform `action` on.
    pub fn accessible_ids(&self, resource: &str, action: &str) -> AccessibleIds {
        self.inner
            .principal
            .scopes
            .accessible_ids(resource, &[action])
    }

    /// The ids to show in a listing of `resource` (agno's filtered listings): the set the
    /// middleware computed on the listing fallback when it applied, otherwise every id the
    /// caller may `read` or `run`.
    pub fn listing_ids(&self, resource: &str) -> AccessibleIds {
        match &self.inner.listing {
            Some((r, ids)) if r == resource => ids.clone(),
            _ => self
                .inner
                .principal
                .scopes
                .accessible_ids(resource, &["read", "run"]),
        }
    }

    /// The identity as JSON (token excluded).
    pub fn to_json(&self) -> Value {
        let i = &self.inner;
        let p = &i.principal;
        serde_json::to_value(View {
            user_id: &p.identity.user_id,
            session_id: &p.identity.session_id,
            scopes: p.scopes.strings(),
            dependencies: &p.identity.dependencies,
            session_state: &p.identity.session_state,
            claims: p.claims.tree(),
            required_scopes: &i.required_scopes,
            is_admin: self.is_admin(),
        })
        .unwrap_or(Value::Null)
    }
}

impl fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthContext")
            .field("user_id", &self.user_id())
            .field("session_id", &self.session_id())
            .field("scopes", &self.scopes())
            .field("route", &self.route())
            .field("token", &self.inner.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}
