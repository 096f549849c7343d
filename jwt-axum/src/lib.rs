// The crate documentation is the README (also what crates.io shows); its examples run as doctests.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::Request;
use http::request::Parts;
use jwt_core::extract::{self, RequiredScopes};
use jwt_core::http::{RequestHead, render};
use jwt_core::serde_json::{Map, Value};
use jwt_core::{AuthContext, AuthError, Decided, JwtAuth, Verdict, extractor_refusal};
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

pub use jwt_core;
pub use jwt_core::{CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS};

#[cfg(feature = "rmcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "rmcp")))]
pub mod rmcp;

/// The core's view of the request head, on the path the outermost axum `Router` routed on:
/// `Router::nest` strips its prefix from the URI before an inner layer runs, but keeps the
/// original in the [`OriginalUri`] extension, so a layer on a nested router still decides on
/// `/api/admin/items`, not `/items`. Outside a `Router` (a bare tower stack, tonic) there is no
/// `OriginalUri` and the URI is used.
fn decided_path<'a>(extensions: &'a http::Extensions, uri: &'a http::Uri) -> &'a str {
    match extensions.get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path(),
        None => uri.path(),
    }
}

/// The core's view of a whole request (see [`decided_path`] and [`with_connection`]).
fn request_head<B>(req: &Request<B>) -> RequestHead<'_> {
    let head = RequestHead::new(
        req.method(),
        decided_path(req.extensions(), req.uri()),
        req.headers(),
    );
    with_connection(head, req.extensions())
}

/// The core's view of a request's parts (see [`decided_path`] and [`with_connection`]).
fn head(parts: &Parts) -> RequestHead<'_> {
    let head = RequestHead::new(
        &parts.method,
        decided_path(&parts.extensions, &parts.uri),
        &parts.headers,
    );
    with_connection(head, &parts.extensions)
}

/// The connection the request arrived on, for certificate-bound tokens: the
/// [`jwt_core::ClientConnection`] a server put in the extensions ([`jwt_core::server`]), else
/// the peer of axum's `ConnectInfo<SocketAddr>` (`into_make_service_with_connect_info`).
fn with_connection<'a>(head: RequestHead<'a>, extensions: &'a http::Extensions) -> RequestHead<'a> {
    match extensions.get::<jwt_core::ClientConnection>() {
        Some(conn) => head.with_connection(Some(conn)),
        None => head.with_peer_addr(
            extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ),
    }
}

/// Renders a core error ([`jwt_core::http::render`]): status, `application/json` body,
/// `WWW-Authenticate`.
pub fn error_response(err: &AuthError) -> Response {
    render(err).map(Body::from)
}

/// The refusal of the request whose headers are `headers`: for a gRPC call (tonic behind the
/// layer) a trailers-only gRPC status ([`jwt_core::http::render_grpc`]: `UNAUTHENTICATED`,
/// `PERMISSION_DENIED`, `INVALID_ARGUMENT`, `UNAVAILABLE`, with `www-authenticate`), otherwise
/// [`error_response`].
pub fn refusal(headers: &http::HeaderMap, err: &AuthError) -> Response {
    jwt_core::http::render_for(headers, err).map(Body::from)
}

/// Adds [`JwtAuthExt::layer`] to [`JwtAuth`].
pub trait JwtAuthExt {
    /// The tower layer for this configuration.
    fn layer(&self) -> JwtLayer;
}

impl JwtAuthExt for JwtAuth {
    fn layer(&self) -> JwtLayer {
        JwtLayer::new(self.clone())
    }
}

/// A tower [`Layer`] that authenticates and authorizes every request with [`JwtAuth`]. On success
/// the [`AuthContext`] goes into the request extensions; on failure the core's error is answered.
#[derive(Debug, Clone)]
pub struct JwtLayer {
    auth: JwtAuth,
}

impl JwtLayer {
    /// A layer for `auth`.
    pub fn new(auth: JwtAuth) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for JwtLayer {
    type Service = JwtService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service produced by [`JwtLayer`].
#[derive(Debug, Clone)]
pub struct JwtService<S> {
    inner: S,
    auth: JwtAuth,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for JwtService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = JwtFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // One request, one decision: a request this engine already decided (the same layer
        // applied twice, an outer and a nested router) passes on as it was decided.
        if jwt_core::http::decided(&self.auth, req.extensions()) {
            return JwtFuture::inner(self.inner.call(req));
        }
        // An MCP endpoint's `POST`: the decision reads the JSON-RPC body.
        if let Some(limit) = self.auth.body_limit(&request_head(&req)) {
            return self.decide_on_body(req, limit);
        }
        // The common case decides without waiting (a cache hit, static keys): answer, or call
        // the ready inner service in place, with no boxed future, no clone of the inner
        // service and the request left whole. A decision that waits continues in a boxed
        // future from where it stopped.
        match self.auth.verdict_now(&request_head(&req)) {
            Ok(verdict) => proceed(&mut self.inner, verdict, req),
            Err(unfinished) => {
                let (parts, body) = req.into_parts();
                let (mut inner, auth) = self.take_ready();
                JwtFuture::waiting(Box::pin(async move {
                    let verdict = auth.verdict_after(&head(&parts), unfinished).await;
                    proceed(&mut inner, verdict, Request::from_parts(parts, body)).await
                }))
            }
        }
    }
}

/// The adapter contract's one match: the request goes on to `inner` with what the decision
/// hands over, or the core's answer is sent.
fn proceed<S, ReqBody, ResBody>(
    inner: &mut S,
    verdict: Verdict,
    mut req: Request<ReqBody>,
) -> JwtFuture<S::Future, S::Error>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
{
    match verdict {
        Verdict::Continue(pass) => {
            jwt_core::http::hand_over(pass, req.extensions_mut());
            JwtFuture::inner(inner.call(req))
        }
        Verdict::Respond(reply) => {
            JwtFuture::answered(jwt_core::http::reply(reply).map(Body::from))
        }
    }
}

impl<S: Clone> JwtService<S> {
    /// The ready inner service (a clone, not ready, takes its place) and the engine, for a
    /// future that calls it later.
    fn take_ready(&mut self) -> (S, JwtAuth) {
        let clone = self.inner.clone();
        (std::mem::replace(&mut self.inner, clone), self.auth.clone())
    }

    /// Reads the body (bounded), decides on it, and hands the same bytes to the inner service.
    /// The body must be axum's [`Body`] (what every axum `Router` hands its layers); another
    /// body type behind an MCP endpoint is refused with 500 (misconfigured), never let through.
    fn decide_on_body<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
        limit: usize,
    ) -> JwtFuture<S::Future, S::Error>
    where
        S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Send + 'static,
        S::Future: Send + 'static,
        ReqBody: Send + 'static,
        ResBody: http_body::Body<Data = Bytes> + Send + 'static,
        ResBody::Error: Into<axum::BoxError>,
    {
        let (parts, body) = req.into_parts();
        let (mut inner, auth) = self.take_ready();
        JwtFuture::waiting(Box::pin(async move {
            let Some(body) = cast::<ReqBody, Body>(body) else {
                let err = AuthError::new(jwt_core::AuthErrorKind::Misconfigured(
                    "an MCP endpoint behind jwt-axum needs axum's request Body (serve it from an axum Router)",
                ));
                return Ok(refusal(&parts.headers, &auth.style_error(err)));
            };
            let read = jwt_core::http::read_body(body, limit).await;
            let verdict = auth.verdict(&head(&parts).with_body(read.view())).await;
            // The handler reads the same bytes the decision read.
            let bytes = read.into_bytes().unwrap_or_default();
            let body = cast::<Body, ReqBody>(Body::from(bytes))
                .expect("ReqBody is axum's Body: it was cast from it above");
            proceed(&mut inner, verdict, Request::from_parts(parts, body)).await
        }))
    }
}

/// `value` as a `T`, when it is one.
fn cast<V: 'static, T: 'static>(value: V) -> Option<T> {
    let boxed: Box<dyn std::any::Any> = Box::new(value);
    boxed.downcast::<T>().ok().map(|b| *b)
}

pin_project_lite::pin_project! {
    /// The response future of [`JwtService`] and [`RequireScopeService`]: the inner service's
    /// response, or the core's answer. Like every future, it must not be polled after it
    /// completed: it panics then, as the other adapters' futures do.
    pub struct JwtFuture<F, E> {
        #[pin]
        state: State<F, E>,
        done: bool,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        // Decided at once, allowed: the inner service's future.
        Inner { #[pin] fut: F },
        // Decided at once, answered here (a refusal, the metadata document).
        Answered { response: Option<Response> },
        // The decision waits (a key fetch, an asynchronous check, the body).
        Waiting { fut: BoxFuture<Result<Response, E>> },
    }
}

impl<F, E> JwtFuture<F, E> {
    fn inner(fut: F) -> Self {
        Self::with(State::Inner { fut })
    }

    fn answered(response: Response) -> Self {
        Self::with(State::Answered {
            response: Some(response),
        })
    }

    fn waiting(fut: BoxFuture<Result<Response, E>>) -> Self {
        Self::with(State::Waiting { fut })
    }

    fn with(state: State<F, E>) -> Self {
        JwtFuture { state, done: false }
    }
}

impl<F, E, ResBody> Future for JwtFuture<F, E>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(!*this.done, "{}", jwt_core::POLLED_AFTER_COMPLETION);
        let polled = match this.state.project() {
            StateProj::Inner { fut } => fut.poll(cx).map_ok(|res| res.map(Body::new)),
            StateProj::Answered { response } => {
                Poll::Ready(Ok(response.take().expect("answered once")))
            }
            StateProj::Waiting { fut } => fut.as_mut().poll(cx),
        };
        *this.done = polled.is_ready();
        polled
    }
}

impl<F, E> std::fmt::Debug for JwtFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtFuture").finish_non_exhaustive()
    }
}

/// The extractors' rejection: the core's error, rendered like the middleware's.
#[derive(Debug, Clone)]
pub struct AuthRejection(pub AuthError);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        error_response(&self.0)
    }
}

fn ctx(parts: &Parts) -> Option<&AuthContext> {
    parts.extensions.get::<AuthContext>()
}

/// An extractor's refusal, rendered like the middleware that decided the request.
fn rejection(parts: &Parts, err: AuthError) -> AuthRejection {
    AuthRejection(extractor_refusal(
        err,
        ctx(parts),
        parts.extensions.get::<Decided>(),
    ))
}

/// The extractors' impls: each takes its value from the context with a function of
/// [`jwt_core::extract`], refusals rendered like the middleware's.
macro_rules! from_context {
    ($name:ident, $f:path) => {
        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AuthRejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
                $f(ctx(parts)).map($name).map_err(|e| rejection(parts, e))
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $name {
            type Rejection = Infallible;

            async fn from_request_parts(
                parts: &mut Parts,
                _: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                Ok($f(ctx(parts)).ok().map($name))
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
///
/// ```
/// # use jwt_axum::Claims;
/// #[derive(serde::Deserialize)]
/// struct MyClaims { sub: String, org: Option<String> }
/// async fn handler(Claims(c): Claims<MyClaims>) -> String { c.sub }
/// # let _: axum::routing::MethodRouter = axum::routing::get(handler);
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        extract::claims(ctx(parts))
            .map(Claims)
            .map_err(|e| rejection(parts, e))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequestParts<S> for Claims<T> {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(extract::claims(ctx(parts)).ok().map(Claims))
    }
}

/// A per-route scope requirement as an extractor: 403 unless the caller holds every scope of `R`.
///
/// ```
/// use jwt_axum::RequireScope;
/// use jwt_core::extract::RequiredScopes;
/// struct AgentsWrite;
/// impl RequiredScopes for AgentsWrite {
///     const SCOPES: &'static [&'static str] = &["agents:write"];
/// }
/// async fn create(_: RequireScope<AgentsWrite>) -> &'static str { "created" }
/// # let _: axum::routing::MethodRouter = axum::routing::post(create);
/// ```
pub struct RequireScope<R>(PhantomData<R>);

impl<R> std::fmt::Debug for RequireScope<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireScope")
    }
}

impl<S: Send + Sync, R: RequiredScopes> FromRequestParts<S> for RequireScope<R> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        extract::require(ctx(parts), R::SCOPES)
            .map(|()| RequireScope(PhantomData))
            .map_err(|e| rejection(parts, e))
    }
}

/// A per-route scope requirement as a layer (put it on a route, inside [`JwtLayer`]).
///
/// ```
/// use axum::{Router, routing::post};
/// use jwt_axum::RequireScopeLayer;
/// let app: Router = Router::new()
///     .route("/admin", post(|| async { "ok" }).layer(RequireScopeLayer::new(["agent_os:admin"])));
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopeLayer {
    scopes: Arc<[String]>,
}

impl RequireScopeLayer {
    /// Requires every scope in `scopes`.
    pub fn new<I, T>(scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self {
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }
}

impl<S> Layer<S> for RequireScopeLayer {
    type Service = RequireScopeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopeService {
            inner,
            scopes: self.scopes.clone(),
        }
    }
}

/// The service produced by [`RequireScopeLayer`].
#[derive(Debug, Clone)]
pub struct RequireScopeService<S> {
    inner: S,
    scopes: Arc<[String]>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScopeService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = JwtFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // Decided in place: the inner service called now (it is ready), or the refusal.
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let ctx = req.extensions().get::<AuthContext>();
        match extract::require(ctx, &scopes) {
            Ok(()) => JwtFuture::inner(self.inner.call(req)),
            Err(err) => {
                let err = extractor_refusal(err, ctx, req.extensions().get::<Decided>());
                JwtFuture::answered(refusal(req.headers(), &err))
            }
        }
    }
}
