//! Per-request checks: code of yours that runs on every authenticated request, after the scope
//! decision and whether or not the token came from the validated-token cache (revocation,
//! tenant rules, ...). The built-in revocation checks are in `engine::stores`
//! ([`crate::Revocation`], [`crate::JtiDenylist`]).

use std::fmt;

use async_trait::async_trait;

use crate::authz::context::AuthContext;
use crate::render::AuthError;

/// A check run on every authenticated request ([`crate::JwtAuthBuilder::check`]), in the order
/// added, after the token and the route's scopes passed. Cache hits run it too, so a revocation
/// takes effect on the next request. Return the error to answer with (e.g.
/// `InvalidToken::Revoked.into()` for 401, or an `AuthErrorKind::InsufficientScope` for 403).
///
/// ```
/// use jwt_core::{AuthContext, AuthError, AuthErrorKind, RequestCheck};
/// #[derive(Debug)]
/// struct SameTenant(&'static str);
/// #[async_trait::async_trait]
/// impl RequestCheck for SameTenant {
///     async fn check(&self, ctx: &AuthContext, _method: &str, _path: &str) -> Result<(), AuthError> {
///         match ctx.claim("tenant").and_then(|t| t.as_str()) {
///             Some(t) if t == self.0 => Ok(()),
///             _ => Err(AuthErrorKind::InsufficientScope { required: vec![] }.into()),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait RequestCheck: Send + Sync + fmt::Debug {
    /// Accepts or refuses the request of the authenticated caller `ctx`.
    ///
    /// # Errors
    /// The [`AuthError`] to answer with.
    async fn check(&self, ctx: &AuthContext, method: &str, path: &str) -> Result<(), AuthError>;
}
