#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use http::{HeaderMap, Method};
use jwt_core::extract;
use jwt_core::http::{RequestHead, render};
use jwt_core::serde_json::{Map, Value};
use jwt_core::{AuthContext, AuthError, AuthErrorKind, ClientConnection, JwtAuth, Verdict};
use serde::de::DeserializeOwned;
use warp::filters::path::FullPath;
use warp::reject::Reject;
use warp::{Filter, Rejection, Reply};

pub use jwt_core;
pub use jwt_core::{CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS};

mod service;
use service::Decided;
pub use service::{AuthBody, AuthFuture, AuthService, service};
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
pub use server::{PeerAddr, serve, serve_with};

/// The rejection every filter of this crate produces: the core's error.
#[derive(Debug, Clone)]
pub struct AuthRejection(pub AuthError);

impl Reject for AuthRejection {}

fn reject(err: AuthError) -> Rejection {
    warp::reject::custom(AuthRejection(err))
}

/// Renders a core error ([`jwt_core::http::render`]): status, `application/json` body,
/// `WWW-Authenticate`.
pub fn error_response(err: &AuthError) -> warp::reply::Response {
    render(err).into_response()
}

/// The core's answer to a request ([`jwt_core::Verdict::Respond`]: a refusal, the RFC 9728
/// metadata document), carried to [`recover`] (warp filters can only reject or extract); the
/// metadata document is answered where [`deny_unmatched`] (the app's last branch) reaches it.
#[derive(Debug, Clone)]
pub struct Answer(pub jwt_core::Reply);

impl Reject for Answer {}

/// Renders the core's [`Answer`] and an [`AuthRejection`] (a filter's or extractor's
/// refusal) like every other adapter; other rejections pass through.
///
/// # Errors
/// The rejection itself when it is not ours.
pub async fn recover(rejection: Rejection) -> Result<warp::reply::Response, Rejection> {
    // The engine's decision first: one decision per request, whatever else a branch rejected.
    if let Some(Answer(reply)) = rejection.find::<Answer>() {
        return Ok(jwt_core::http::reply(reply.clone()).into_response());
    }
    if let Some(AuthRejection(err)) = rejection.find::<AuthRejection>() {
        return Ok(error_response(err));
    }
    Err(rejection)
}

/// The last branch of an app: a request no route matched still gets the core's decision (401/403
/// like the other frameworks, no 404/405 route oracle before auth); when it passes, warp's 404
/// (combined with the routes' own rejections, e.g. 405).
///
/// ```
/// use warp::{Filter, Reply};
/// # fn main() -> Result<(), jwt_core::ConfigError> {
/// let auth = jwt_core::JwtAuth::builder().dangerous_any_issuer()
///     .verifier(jwt_core::StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
///     .build()?;
/// let me = warp::path!("me").and(jwt_warp::user_id(&auth)).map(|u: String| u.into_response());
/// let app = me.or(jwt_warp::deny_unmatched(&auth)).unify().recover(jwt_warp::recover);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let res = warp::test::request().path("/nowhere").reply(&app).await;
/// assert_eq!(res.status(), 401);
/// # }); let _ = app; Ok(()) }
/// ```
pub fn deny_unmatched(
    auth: &JwtAuth,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone + use<> {
    with_auth(auth).and_then(|_: Option<AuthContext>| async {
        Err::<warp::reply::Response, _>(warp::reject::not_found())
    })
}

/// One path parameter decoded once as the core authorizes it ([`jwt_core::path::decode_segment`]),
/// then `FromStr`; use it, not `warp::path::param` (raw: `a%2Fb` where the core authorized `a/b`).
/// A segment the core refuses, or that does not parse, is a 404.
///
/// ```
/// use warp::Filter;
/// let runs = warp::path("agents")
///     .and(jwt_warp::param::<String>())
///     .and(warp::path("runs"))
///     .and(warp::path::end())
///     .map(|agent_id: String| agent_id);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let id = warp::test::request().path("/agents/a%2Fb/runs").filter(&runs).await.unwrap();
/// assert_eq!(id, "a/b");
/// # });
/// ```
pub fn param<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Copy
where
    T: FromStr + Send + 'static,
{
    warp::path::param::<String>().and_then(|raw: String| async move {
        jwt_core::path::decode_segment(&raw)
            .ok()
            .and_then(|value| value.parse::<T>().ok())
            .ok_or_else(warp::reject::not_found)
    })
}

/// The rest of the path decoded as the core binds `{*tail}` ([`jwt_core::path::decode_tail`]:
/// segments decoded once, a trailing `/` kept); warp's `tail()` is raw. Empty or refused: 404.
///
/// ```
/// use warp::Filter;
/// let files = warp::path("files").and(jwt_warp::tail()).map(|rest: String| rest);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let rest = warp::test::request().path("/files/a%20b/%C3%A9").filter(&files).await.unwrap();
/// assert_eq!(rest, "a b/é");
/// # });
/// ```
pub fn tail() -> impl Filter<Extract = (String,), Error = Rejection> + Copy {
    warp::path::tail().and_then(|tail: warp::path::Tail| async move {
        jwt_core::path::decode_tail(tail.as_str())
            .map(std::borrow::Cow::into_owned)
            .map_err(|_| warp::reject::not_found())
    })
}

/// The core's decision for this request: `Some(ctx)` when authenticated, `None` on excluded
/// routes, CORS preflights and optional-auth routes without a token; rejects otherwise.
///
/// Behind [`service`] (or `serve`, feature `server`) built on the same `auth`, the filter takes
/// the decision the service made before routing. Otherwise it authenticates the request when it
/// runs (warp gives filters no way to share a per-request result), so give a route one of them:
/// for several values use [`with_context`], not two filters joined with `.and()`.
///
/// One request, one decision: without the service, warp runs every branch of an `.or()` that
/// holds one of these filters, and each decides again. That is harmless while a decision has no
/// effect ([`JwtAuth::decisions_are_repeatable`]); with DPoP it is not (the second decision
/// would see the first one's proof as replayed and answer that instead of the true reason), so
/// an engine with DPoP refuses to decide in a filter: every request gets 500 until the app is
/// served behind [`service`] / `serve`, and an error is logged saying so.
pub fn with_auth(
    auth: &JwtAuth,
) -> impl Filter<Extract = (Option<AuthContext>,), Error = Rejection> + Clone + use<> {
    if !auth.decisions_are_repeatable() {
        tracing::error!(
            "jwt_warp: this engine checks DPoP proofs, which warp filters alone would check once per branch; serve the app behind jwt_warp::service (or jwt_warp::serve), or every request gets 500"
        );
    }
    let engine = auth.clone();
    // The decision `service` made, when the same engine made it; anything else (no service, or
    // one built on another configuration) falls through to deciding here.
    let handed = warp::ext::optional::<Decided>().and_then(move |decided: Option<Decided>| {
        std::future::ready(match decided {
            Some(Decided { by, ctx }) if by.same_engine(&engine) => Ok(ctx),
            _ => Err(warp::reject::not_found()),
        })
    });
    handed.or(decide_here(auth)).unify()
}

/// [`with_auth`] without a service in front: one clone of the header map per authentication
/// (warp lends filters no reference to the request, and the token source may read any header).
fn decide_here(
    auth: &JwtAuth,
) -> impl Filter<Extract = (Option<AuthContext>,), Error = Rejection> + Clone + use<> {
    let auth = auth.clone();
    let request = warp::method()
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<ClientConnection>())
        .and(warp::addr::remote())
        .map(|method, path, headers, conn, remote| Seen {
            method,
            path,
            headers,
            conn,
            remote,
        });
    request.and_then(move |seen: Seen| {
        if !auth.decisions_are_repeatable() {
            return Decision::Ready(Some(Err(reject(AuthError::new(
                AuthErrorKind::Misconfigured(SERVICE_NEEDED),
            )))));
        }
        // The common case (a cache hit, static keys) decides in place: a ready future,
        // nothing boxed and no clone of the engine.
        match auth.verdict_now(&seen.head()) {
            Ok(verdict) => Decision::Ready(Some(filtered(verdict))),
            Err(unfinished) => {
                let auth = auth.clone();
                Decision::Waiting(Box::pin(async move {
                    filtered(auth.verdict_after(&seen.head(), unfinished).await)
                }))
            }
        }
    })
}

/// What a filter deciding alone sees of a request.
struct Seen {
    method: Method,
    path: FullPath,
    headers: HeaderMap,
    conn: Option<ClientConnection>,
    remote: Option<std::net::SocketAddr>,
}

impl Seen {
    /// The core's view: the connection is the [`ClientConnection`] a server put in the
    /// extensions ([`serve`], [`jwt_core::server`]), else the peer warp's own server records.
    fn head(&self) -> RequestHead<'_> {
        let head = RequestHead::new(&self.method, self.path.as_str(), &self.headers);
        match &self.conn {
            Some(conn) => head.with_connection(Some(conn)),
            None => head.with_peer_addr(self.remote.map(|addr| addr.ip())),
        }
    }
}

/// Why a filter alone may not decide for an engine whose decisions are not repeatable.
const SERVICE_NEEDED: &str =
    "DPoP on warp needs jwt_warp::service (or jwt_warp::serve) in front of the filters";

/// The adapter contract's one match, as a filter's result: the context (or none) for the
/// handler, or the core's answer carried to [`recover`] (filters can only extract or reject).
fn filtered(verdict: Verdict) -> Filtered {
    match verdict {
        Verdict::Continue(pass) => Ok(pass.into_context()),
        Verdict::Respond(reply) => Err(warp::reject::custom(Answer(reply))),
    }
}

type Filtered = Result<Option<AuthContext>, Rejection>;

/// The future of [`with_auth`]: decided in place, or waiting on the engine (a key fetch, an
/// asynchronous check).
enum Decision {
    Ready(Option<Filtered>),
    Waiting(Pin<Box<dyn Future<Output = Filtered> + Send>>),
}

impl Future for Decision {
    type Output = Filtered;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Filtered> {
        match self.get_mut() {
            // Like every adapter's response future, it panics when polled after completing.
            Decision::Ready(decided) => {
                Poll::Ready(decided.take().expect(jwt_core::POLLED_AFTER_COMPLETION))
            }
            Decision::Waiting(fut) => fut.as_mut().poll(cx),
        }
    }
}

/// One authentication, any values: `f` receives the core's decision (as [`with_auth`]) and
/// returns what the handler needs, typically a tuple built with the functions of
/// [`jwt_core::extract`]; its error is rejected like every other filter's.
///
/// ```
/// use jwt_core::extract;
/// use warp::Filter;
/// # let auth = jwt_core::JwtAuth::builder().dangerous_any_issuer()
/// #     .verifier(jwt_core::StaticKeys::hs256([1u8; 32]).unwrap()).build().unwrap();
/// let me = warp::path("me")
///     .and(jwt_warp::with_context(&auth, |ctx| {
///         Ok((extract::user_id(ctx)?, extract::scopes(ctx)?))
///     }))
///     .map(|(user, scopes): (String, Vec<String>)| format!("{user}: {}", scopes.join(" ")));
/// # let _ = me;
/// ```
pub fn with_context<T, F>(
    auth: &JwtAuth,
    f: F,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone + use<T, F>
where
    T: Send + 'static,
    F: Fn(Option<&AuthContext>) -> Result<T, AuthError> + Clone + Send + Sync + 'static,
{
    // Refusals render like the engine's own (its realm and error renderer).
    let mark = auth.decided_mark();
    with_auth(auth).and_then(move |ctx: Option<AuthContext>| {
        let out = f(ctx.as_ref())
            .map_err(|err| reject(jwt_core::extractor_refusal(err, ctx.as_ref(), Some(&mark))));
        async move { out }
    })
}

/// The caller's whole [`AuthContext`]; 401 when the route ran without one (an excluded route).
pub fn authenticated(
    auth: &JwtAuth,
) -> impl Filter<Extract = (AuthContext,), Error = Rejection> + Clone + use<> {
    with_context(auth, extract::context)
}

/// The caller's user id (claim `sub` by default).
pub fn user_id(
    auth: &JwtAuth,
) -> impl Filter<Extract = (String,), Error = Rejection> + Clone + use<> {
    with_context(auth, extract::user_id)
}

/// The RFC 8693 `act` chain, outermost (current) actor first; empty for a direct call.
pub fn actors(
    auth: &JwtAuth,
) -> impl Filter<Extract = (Vec<jwt_core::Actor>,), Error = Rejection> + Clone + use<> {
    with_context(auth, extract::actors)
}

/// The caller's session id (claim `session_id` by default).
pub fn session_id(
    auth: &JwtAuth,
) -> impl Filter<Extract = (String,), Error = Rejection> + Clone + use<> {
    with_context(auth, extract::session_id)
}

/// The caller's raw scopes.
pub fn scopes(
    auth: &JwtAuth,
) -> impl Filter<Extract = (Vec<String>,), Error = Rejection> + Clone + use<> {
    with_context(auth, extract::scopes)
}

/// The `dependencies` map (configured claims).
pub fn dependencies(
    auth: &JwtAuth,
) -> impl Filter<Extract = (Map<String, Value>,), Error = Rejection> + Clone + use<> {
    with_context(auth, extract::dependencies)
}

/// The `session_state` map (configured claims).
pub fn session_state(
    auth: &JwtAuth,
) -> impl Filter<Extract = (Map<String, Value>,), Error = Rejection> + Clone + use<> {
    with_context(auth, extract::session_state)
}

/// The verified claims as the caller's own type.
pub fn claims<T>(auth: &JwtAuth) -> impl Filter<Extract = (T,), Error = Rejection> + Clone + use<T>
where
    T: DeserializeOwned + Send + 'static,
{
    with_context(auth, extract::claims::<T>)
}

/// Authenticates and requires every scope in `scopes` (a per-route requirement); yields the
/// context.
///
/// ```
/// use warp::Filter;
/// # let auth = jwt_core::JwtAuth::builder().dangerous_any_issuer()
/// #     .verifier(jwt_core::StaticKeys::hs256([1u8; 32]).unwrap()).build().unwrap();
/// let admin = warp::path("admin")
///     .and(jwt_warp::require_scope(&auth, &["agent_os:admin"]))
///     .map(|_ctx| "ok");
/// # let _ = admin;
/// ```
pub fn require_scope(
    auth: &JwtAuth,
    scopes: &[&str],
) -> impl Filter<Extract = (AuthContext,), Error = Rejection> + Clone + use<> {
    let scopes: std::sync::Arc<[String]> = scopes.iter().map(|s| (*s).to_owned()).collect();
    with_context(auth, move |ctx: Option<&AuthContext>| {
        let wanted: Vec<&str> = scopes.iter().map(String::as_str).collect();
        extract::require(ctx, &wanted)?;
        extract::context(ctx)
    })
}
