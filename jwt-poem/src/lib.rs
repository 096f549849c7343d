// The crate documentation is the README (also what crates.io shows); its examples run as doctests.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::marker::PhantomData;

use http::Uri;
use jwt_core::extract::{self, RequiredScopes};
use jwt_core::http::{RequestHead, render};
use jwt_core::serde_json::{Map, Value};
use jwt_core::{AuthContext, AuthError, Decided, JwtAuth, ReadBody, Verdict, extractor_refusal};
use poem::{Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response};
use serde::de::DeserializeOwned;

pub use jwt_core;
pub use jwt_core::{CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS};

#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;

#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub use server::{PoemService, service};

/// Renders a core error ([`jwt_core::http::render`]): status, `application/json` body,
/// `WWW-Authenticate`.
pub fn error_response(err: &AuthError) -> Response {
    from_http(render(err))
}

/// An `http` 1.x response of the core's as poem's.
fn from_http(res: http::Response<String>) -> Response {
    let (head, body) = res.into_parts();
    let mut res = Response::builder().status(head.status).body(body);
    *res.headers_mut() = head.headers;
    res
}

fn rejection(err: AuthError) -> poem::Error {
    poem::Error::from_response(error_response(&err))
}

/// Adds [`JwtAuthExt::middleware`] to [`JwtAuth`].
pub trait JwtAuthExt {
    /// The poem middleware for this configuration.
    fn middleware(&self) -> JwtMiddleware;
}

impl JwtAuthExt for JwtAuth {
    fn middleware(&self) -> JwtMiddleware {
        JwtMiddleware::new(self.clone())
    }
}

/// A poem [`Middleware`] that authenticates and authorizes every request. On success the
/// [`AuthContext`] goes into the request extensions.
#[derive(Debug, Clone)]
pub struct JwtMiddleware {
    auth: JwtAuth,
}

impl JwtMiddleware {
    /// A middleware for `auth`.
    pub fn new(auth: JwtAuth) -> Self {
        Self { auth }
    }
}

impl<E: Endpoint> Middleware<E> for JwtMiddleware {
    type Output = JwtEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        JwtEndpoint {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The URI the outermost router matched. `Route::nest` strips its prefix from `uri()` but keeps
/// `original_uri()`, so a middleware on a nested route still decides on the full path. A request
/// built in-process (`Request::builder()`, poem's test client) has no original URI (it reads as
/// `/`); then `uri()` is the whole path, since nesting only ever shortens it.
fn routed_uri(req: &Request) -> &Uri {
    let original = req.original_uri();
    if original.path() == "/" && req.uri().path() != "/" {
        req.uri()
    } else {
        original
    }
}

/// The core's view of a request: the path it was routed on ([`routed_uri`]) and the connection
/// it arrived on, for certificate-bound tokens: the [`jwt_core::ClientConnection`] a server put
/// in the extensions ([`service`] under [`jwt_core::server`]), else poem's remote address.
fn request_head(req: &Request) -> RequestHead<'_> {
    let head = RequestHead::new(req.method(), routed_uri(req).path(), req.headers());
    match req.extensions().get::<jwt_core::ClientConnection>() {
        Some(conn) => head.with_connection(Some(conn)),
        None => head.with_peer_addr(req.remote_addr().as_socket_addr().map(|addr| addr.ip())),
    }
}

/// The endpoint produced by [`JwtMiddleware`].
#[derive(Debug)]
pub struct JwtEndpoint<E> {
    inner: E,
    auth: JwtAuth,
}

impl<E: Endpoint> Endpoint for JwtEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Self::Output> {
        // One request, one decision: a request this engine already decided (the middleware on
        // a route and again on a nested one) passes on as it was decided.
        if jwt_core::http::decided(&self.auth, req.extensions()) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let head = request_head(&req);
        // An MCP endpoint's `POST` is decided on its JSON-RPC body.
        if let Some(limit) = self.auth.body_limit(&head) {
            return Box::pin(self.call_on_body(req, limit)).await;
        }
        // The common case (a cache hit, static keys) decides in place; only a decision that
        // waits (a key fetch, an asynchronous check) is boxed, which keeps this endpoint's
        // future (that poem boxes per request) small. It continues from where it stopped.
        let verdict = match self.auth.verdict_now(&head) {
            Ok(verdict) => verdict,
            Err(unfinished) => Box::pin(self.auth.verdict_after(&head, unfinished)).await,
        };
        self.proceed(req, verdict).await
    }
}

impl<E: Endpoint> JwtEndpoint<E> {
    /// Reads the body (bounded), decides on it, and hands the same bytes to the endpoint.
    async fn call_on_body(&self, mut req: Request, limit: usize) -> poem::Result<Response> {
        let read = match req.take_body().into_bytes_limit(limit).await {
            Ok(bytes) => ReadBody::Bytes(bytes),
            Err(poem::error::ReadBodyError::PayloadTooLarge) => ReadBody::TooLarge,
            Err(_) => ReadBody::Unreadable,
        };
        let head = request_head(&req);
        let verdict = self.auth.verdict(&head.with_body(read.view())).await;
        if let Some(bytes) = read.into_bytes() {
            req.set_body(bytes);
        }
        self.proceed(req, verdict).await
    }

    /// The adapter contract's one match: the request goes on to the endpoint with what the
    /// decision hands over (the context, or the engine's mark: another middleware on the same
    /// engine, the poem-openapi scheme and the extractors then know the engine decided), or
    /// the core's answer is sent.
    async fn proceed(&self, mut req: Request, verdict: Verdict) -> poem::Result<Response> {
        match verdict {
            Verdict::Continue(pass) => {
                jwt_core::http::hand_over(pass, req.extensions_mut());
                self.inner.call(req).await.map(IntoResponse::into_response)
            }
            Verdict::Respond(reply) => Ok(from_http(jwt_core::http::reply(reply))),
        }
    }
}

fn ctx(req: &Request) -> Option<&AuthContext> {
    req.extensions().get::<AuthContext>()
}

/// An extractor's refusal, rendered like the middleware that decided the request: through its
/// context or mark, or else the engine the app holds as data (what the poem-openapi scheme
/// decides with, when no middleware ran).
fn refused(req: &Request, err: AuthError) -> poem::Error {
    let data_mark = req.data::<JwtAuth>().map(JwtAuth::decided_mark);
    let mark = req.extensions().get::<Decided>().or(data_mark.as_ref());
    rejection(extractor_refusal(err, ctx(req), mark))
}

/// The extractors' impls: each takes its value from the context with a function of
/// [`jwt_core::extract`], refusals rendered like the middleware's.
macro_rules! from_context {
    ($name:ident, $f:path) => {
        impl<'a> FromRequest<'a> for $name {
            async fn from_request(req: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
                $f(ctx(req)).map($name).map_err(|e| refused(req, e))
            }
        }
    };
}

/// The caller's whole [`AuthContext`]; 401 when the route ran without one (an excluded route).
///
/// As `Option<..>` it serves optional-auth routes.
#[derive(Debug, Clone)]
pub struct Auth(pub AuthContext);

/// The caller's user id (claim `sub` by default).
///
/// As `Option<..>` it serves optional-auth routes.
#[derive(Debug, Clone)]
pub struct UserId(pub String);

/// The caller's session id (claim `session_id` by default).
///
/// As `Option<..>` it serves optional-auth routes.
#[derive(Debug, Clone)]
pub struct SessionId(pub String);

/// The caller's raw scopes.
///
/// As `Option<..>` it serves optional-auth routes.
#[derive(Debug, Clone)]
pub struct Scopes(pub Vec<String>);

/// The `dependencies` map (configured claims).
///
/// As `Option<..>` it serves optional-auth routes.
#[derive(Debug, Clone)]
pub struct Dependencies(pub Map<String, Value>);

/// The `session_state` map (configured claims).
///
/// As `Option<..>` it serves optional-auth routes.
#[derive(Debug, Clone)]
pub struct SessionState(pub Map<String, Value>);

/// The RFC 8693 `act` chain, outermost (current) actor first; empty for a direct call. Route
/// rules on actors are the table's ([`jwt_core::Actors`]).
///
/// As `Option<..>` it serves optional-auth routes.
#[derive(Debug, Clone)]
pub struct ActorChain(pub Vec<jwt_core::Actor>);

from_context!(Auth, extract::context);
from_context!(UserId, extract::user_id);
from_context!(SessionId, extract::session_id);
from_context!(ActorChain, extract::actors);
from_context!(Scopes, extract::scopes);
from_context!(Dependencies, extract::dependencies);
from_context!(SessionState, extract::session_state);

/// The verified claims as the caller's own type.
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<'a, T: DeserializeOwned> FromRequest<'a> for Claims<T> {
    async fn from_request(req: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        extract::claims(ctx(req))
            .map(Claims)
            .map_err(|e| refused(req, e))
    }
}

/// A per-route scope requirement as an extractor: 403 unless the caller holds every scope of `R`.
///
/// ```
/// use jwt_poem::RequireScope;
/// use jwt_core::extract::RequiredScopes;
/// struct AgentsWrite;
/// impl RequiredScopes for AgentsWrite {
///     const SCOPES: &'static [&'static str] = &["agents:write"];
/// }
/// #[poem::handler]
/// fn create(_: RequireScope<AgentsWrite>) -> &'static str { "created" }
/// ```
pub struct RequireScope<R>(PhantomData<R>);

impl<R> std::fmt::Debug for RequireScope<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireScope")
    }
}

impl<'a, R: RequiredScopes> FromRequest<'a> for RequireScope<R> {
    async fn from_request(req: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        extract::require(ctx(req), R::SCOPES)
            .map(|()| RequireScope(PhantomData))
            .map_err(|e| refused(req, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future as _;
    use std::panic::AssertUnwindSafe;
    use std::task::{Context, Poll, Waker};

    /// The endpoint's future keeps the contract every adapter's future keeps: it completes once
    /// and panics when polled again (here `async fn`'s own panic), whether it held the
    /// endpoint's response or the core's answer.
    #[test]
    fn a_response_future_polled_after_completion_panics() {
        let secret = [4u8; 32];
        let auth = JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(jwt_core::StaticKeys::hs256(secret).unwrap())
            .build()
            .unwrap();
        let token = jwt_core::mint::hs256(
            &secret,
            &serde_json::json!({"sub": "a", "exp": 4_000_000_000u64}),
        )
        .unwrap();
        let endpoint = JwtMiddleware::new(auth).transform(poem::endpoint::make_sync(|_| "ok"));
        let mut cx = Context::from_waker(Waker::noop());
        let allowed = Request::builder()
            .uri(Uri::from_static("/x"))
            .header("authorization", format!("Bearer {token}"))
            .finish();
        let refused = Request::builder().uri(Uri::from_static("/x")).finish();
        for (req, status) in [(allowed, 200), (refused, 401)] {
            let mut fut = Box::pin(endpoint.call(req));
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(res)) => assert_eq!(res.status().as_u16(), status),
                _ => panic!("not answered at once"),
            }
            let again = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
            assert!(again.is_err(), "polled after completion");
        }
    }
}
