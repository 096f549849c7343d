//! One request, one decision: what lets a second layer, middleware, filter or extractor built
//! on the same engine recognise a request that engine has already decided, take that decision
//! instead of deciding again, and render its own refusals as that engine does.
//!
//! Deciding twice is not harmless: the second decision sees the first one's DPoP proof as a
//! replay and answers "DPoP proof replayed" instead of the true reason. An allowed request
//! carries its [`AuthContext`] (when it has an identity) or a [`Decided`] mark (when it has
//! none: an excluded route, a CORS preflight, an optional route without a token); adapters look
//! for both with [`JwtAuth::has_decided`] before deciding.

use std::fmt;
use std::sync::Arc;

use crate::authz::context::AuthContext;
use crate::engine::JwtAuth;
use crate::render::{AuthError, ErrorStyle};

/// The mark an adapter leaves on a request its engine allowed without an identity, so that a
/// second layer, middleware, filter or extractor built on the same engine takes that decision
/// instead of deciding again ([`JwtAuth::has_decided`]): deciding twice would see the first
/// decision's DPoP proof as a replay. It also carries how that engine renders errors, so an
/// extractor's refusal on such a request (`UserId` on an excluded route) renders with the
/// configured [`crate::ErrorRenderer`] too.
///
/// ```
/// use jwt_core::{JwtAuth, StaticKeys};
/// let auth = JwtAuth::builder().verifier(StaticKeys::hs256([7u8; 32])?).dangerous_any_issuer().build()?;
/// let other = JwtAuth::builder().verifier(StaticKeys::hs256([7u8; 32])?).dangerous_any_issuer().build()?;
/// let mark = auth.decided_mark();
/// assert!(auth.has_decided(None, Some(&mark)));
/// assert!(!other.has_decided(None, Some(&mark)));
/// assert!(!auth.has_decided(None, None));
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Decided {
    style: Arc<ErrorStyle>,
}

impl fmt::Debug for Decided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decided")
            .field("realm", &self.style.realm)
            .finish_non_exhaustive()
    }
}

impl Decided {
    /// Whether `auth` (the same engine, not merely the same configuration) left this mark.
    pub fn is_by(&self, auth: &JwtAuth) -> bool {
        Arc::ptr_eq(&self.style, &auth.inner.style)
    }

    /// `err` rendered as the engine that left this mark renders its own refusals (realm,
    /// renderer, resource metadata, DPoP challenge).
    pub fn style_error(&self, err: AuthError) -> AuthError {
        err.with_style(&self.style)
    }
}

impl JwtAuth {
    /// The mark to leave on a request this engine allowed without an identity
    /// ([`crate::Outcome::Anonymous`]); a request with an identity carries its
    /// [`AuthContext`] instead.
    pub fn decided_mark(&self) -> Decided {
        Decided {
            style: self.inner.style.clone(),
        }
    }

    /// Whether this engine has already decided the request that carries `ctx` and `mark` (what
    /// an adapter finds in it): then the adapter passes the request on without deciding again.
    pub fn has_decided(&self, ctx: Option<&AuthContext>, mark: Option<&Decided>) -> bool {
        ctx.is_some_and(|c| c.style_is(&self.inner.style)) || mark.is_some_and(|m| m.is_by(self))
    }

    /// Whether deciding the same request twice gives the same answer: `false` when a decision
    /// records something (DPoP proofs in the replay cache), so an adapter must decide each
    /// request once and hand that decision on (warp filters alone cannot: see `jwt_warp`).
    pub fn decisions_are_repeatable(&self) -> bool {
        self.inner.dpop.is_none()
    }

    /// `err` rendered as this engine renders its own refusals: for an extractor or filter built
    /// on this engine.
    pub fn style_error(&self, err: AuthError) -> AuthError {
        err.with_style(&self.inner.style)
    }
}

/// An extractor's (or a per-route check's) refusal on its way out: logged like the engine's
/// refusals, and rendered like the middleware that decided the request (its realm and
/// [`crate::ErrorRenderer`]): through the request's [`AuthContext`], or else its
/// [`Decided`] mark. With neither (no middleware ran), the default rendering.
///
/// ```
/// use jwt_core::{AuthErrorKind, JwtAuth, StaticKeys, extract, extractor_refusal};
/// let auth = JwtAuth::builder()
///     .verifier(StaticKeys::hs256([7u8; 32])?)
///     .dangerous_any_issuer()
///     .realm("shop")
///     .build()?;
/// // `UserId` on an excluded route: no context, the engine's mark.
/// let mark = auth.decided_mark();
/// let err = extract::user_id(None).map_err(|e| extractor_refusal(e, None, Some(&mark))).unwrap_err();
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.www_authenticate(), r#"Bearer realm="shop""#);
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
pub fn extractor_refusal(
    err: AuthError,
    ctx: Option<&AuthContext>,
    mark: Option<&Decided>,
) -> AuthError {
    tracing::debug!(
        status = err.status(),
        reason = err.reason(),
        detail = %err.detail(),
        "request refused by an extractor"
    );
    crate::engine::alerts::refused(&err);
    match (ctx, mark) {
        (Some(ctx), _) => ctx.style_error(err),
        (None, Some(mark)) => mark.style_error(err),
        (None, None) => err,
    }
}
