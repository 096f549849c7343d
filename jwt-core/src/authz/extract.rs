//! What handler extractors return, shared by every adapter so that each one only wraps these
//! functions in its framework's extractor trait.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::authz::conditions::Actor;
use crate::authz::context::AuthContext;
use crate::error::{AuthErrorKind, InvalidToken};
use crate::render::AuthError;

fn ctx(ctx: Option<&AuthContext>) -> Result<&AuthContext, AuthError> {
    ctx.ok_or_else(|| AuthError::new(AuthErrorKind::NotAuthenticated))
}

/// The whole context; 401 when the request was not authenticated.
///
/// ```
/// let err = jwt_core::extract::context(None).unwrap_err();
/// assert_eq!((err.status(), err.detail().as_ref()), (401, "Not authenticated"));
/// ```
///
/// # Errors
/// 401 `Not authenticated`.
pub fn context(c: Option<&AuthContext>) -> Result<AuthContext, AuthError> {
    ctx(c).cloned()
}

/// The user id; 401 when unauthenticated or the token has no user id claim.
///
/// ```
/// use jwt_core::{AuthContext, Identity, ScopeRules, extract};
/// let c = AuthContext::for_identity(Identity { user_id: Some("u".into()), ..Default::default() }, &ScopeRules::agent_os());
/// assert_eq!(extract::user_id(Some(&c)).unwrap(), "u");
/// let anon = AuthContext::for_identity(Identity::default(), &ScopeRules::agent_os());
/// assert_eq!(extract::user_id(Some(&anon)).unwrap_err().status(), 401);
/// ```
///
/// # Errors
/// 401 `Not authenticated` or `Invalid token: missing required claim`.
pub fn user_id(c: Option<&AuthContext>) -> Result<String, AuthError> {
    ctx(c)?
        .user_id()
        .map(str::to_owned)
        .ok_or_else(|| InvalidToken::MissingClaim("user_id".into()).into())
}

/// The session id; 401 when unauthenticated or the token carries none.
///
/// # Errors
/// As [`user_id`].
pub fn session_id(c: Option<&AuthContext>) -> Result<String, AuthError> {
    ctx(c)?
        .session_id()
        .map(str::to_owned)
        .ok_or_else(|| InvalidToken::MissingClaim("session_id".into()).into())
}

/// The raw scopes.
///
/// # Errors
/// 401 `Not authenticated`.
pub fn scopes(c: Option<&AuthContext>) -> Result<Vec<String>, AuthError> {
    Ok(ctx(c)?.scopes().to_vec())
}

/// The `dependencies` map.
///
/// # Errors
/// 401 `Not authenticated`.
pub fn dependencies(c: Option<&AuthContext>) -> Result<Map<String, Value>, AuthError> {
    Ok(ctx(c)?.dependencies().clone())
}

/// The `session_state` map.
///
/// # Errors
/// 401 `Not authenticated`.
pub fn session_state(c: Option<&AuthContext>) -> Result<Map<String, Value>, AuthError> {
    Ok(ctx(c)?.session_state().clone())
}

/// The RFC 8693 `act` chain, outermost (current) actor first; empty for a direct call.
///
/// ```
/// let err = jwt_core::extract::actors(None).unwrap_err();
/// assert_eq!(err.status(), 401);
/// ```
///
/// # Errors
/// 401 `Not authenticated`.
pub fn actors(c: Option<&AuthContext>) -> Result<Vec<Actor>, AuthError> {
    Ok(ctx(c)?.actors())
}

/// The claims as the caller's own type; 401 when they do not fit it.
///
/// # Errors
/// 401 `Not authenticated` or `Invalid token: invalid claim`.
pub fn claims<T: DeserializeOwned>(c: Option<&AuthContext>) -> Result<T, AuthError> {
    ctx(c)?
        .claims_as()
        .map_err(|_| InvalidToken::InvalidClaim("claims".into()).into())
}

/// A per-route scope requirement named by a type, for extractors such as `RequireScope<R>`.
///
/// ```
/// use jwt_core::extract::RequiredScopes;
/// struct AgentsWrite;
/// impl RequiredScopes for AgentsWrite {
///     const SCOPES: &'static [&'static str] = &["agents:write"];
/// }
/// assert_eq!(AgentsWrite::SCOPES, ["agents:write"]);
/// ```
pub trait RequiredScopes {
    /// Every scope the route needs (all of them).
    const SCOPES: &'static [&'static str];
}

/// Checks `scopes` against the context: 401 when unauthenticated, 403 when a scope is missing.
///
/// # Errors
/// 401 `Not authenticated` or 403 `Insufficient permissions. Required scope(s): ...`.
pub fn require<S: AsRef<str>>(c: Option<&AuthContext>, scopes: &[S]) -> Result<(), AuthError> {
    ctx(c)?.require_scopes(scopes)
}
