// The crate documentation is the README (also what crates.io shows); its examples run as doctests.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{Error, FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use jwt_core::extract::{self, RequiredScopes};
use jwt_core::serde_json::{Map, Value};
use jwt_core::{
    AuthContext, AuthError, ClientConnection, Decided, ErrorResponse, JwtAuth, Pass, ReadBody,
    Reply, RequestBody, RequestParts, Verdict, extractor_refusal,
};
use serde::de::DeserializeOwned;

pub use jwt_core;

mod connection;
pub use connection::on_connect;
pub use jwt_core::{CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS};

/// Borrowed view of an actix request head for the core. The path is the raw request path:
/// actix-web never strips a `web::scope` prefix from it, and the core applies its own path model
/// (actix routes on a path with escapes other than `%2F %25 %2B` decoded; a literal segment sent
/// encoded is refused by the core, so the two never pick different routes). The connection is
/// the [`ClientConnection`] in the connection data ([`on_connect`]), else the head's peer.
struct View<'a> {
    head: &'a actix_web::dev::RequestHead,
    body: RequestBody<'a>,
    conn: Option<&'a ClientConnection>,
}

impl<'a> View<'a> {
    fn new(req: &'a ServiceRequest) -> Self {
        Self {
            head: req.head(),
            body: RequestBody::Unread,
            conn: req.conn_data(),
        }
    }

    fn with_body(self, body: RequestBody<'a>) -> Self {
        Self { body, ..self }
    }
}

impl RequestParts for View<'_> {
    fn body(&self) -> RequestBody<'_> {
        self.body
    }

    fn method(&self) -> &str {
        self.head.method.as_str()
    }

    fn path(&self) -> &str {
        self.head.uri.path()
    }

    fn for_each_header<'a>(&'a self, name: &str, f: &mut dyn FnMut(&'a [u8])) {
        for value in self.head.headers().get_all(name) {
            f(value.as_bytes());
        }
    }

    fn client_certificate(&self) -> Option<&[u8]> {
        self.conn.and_then(ClientConnection::certificate)
    }

    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        match self.conn {
            Some(conn) => Some(conn.peer_addr().ip()),
            None => self.head.peer_addr.map(|addr| addr.ip()),
        }
    }
}

/// Reads the request's payload whole, up to `limit` bytes (an MCP endpoint's `POST`, see
/// [`JwtAuth::body_limit`]).
async fn read_payload(req: &mut ServiceRequest, limit: usize) -> ReadBody<Bytes> {
    use futures_core::Stream as _;
    let mut payload = req.take_payload();
    let mut buf = BytesMut::new();
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
            None => return ReadBody::Bytes(buf.freeze()),
            Some(Ok(chunk)) if buf.len() + chunk.len() <= limit => buf.extend_from_slice(&chunk),
            Some(Ok(_)) => return ReadBody::TooLarge,
            Some(Err(_)) => return ReadBody::Unreadable,
        }
    }
}

/// Renders a core error as the core's [`ErrorResponse`] (status, `application/json` body,
/// `WWW-Authenticate`), like `jwt_core::http::render` does for the `http` 1.x adapters.
pub fn error_response(err: &AuthError) -> HttpResponse {
    let rendered = ErrorResponse::new(err);
    let mut res = HttpResponse::build(status(rendered.status()));
    for (name, value) in rendered.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            res.insert_header((name, value));
        }
    }
    res.body(rendered.into_body())
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The core's error as an actix [`ResponseError`] (what extractors and the middleware return).
#[derive(Debug, Clone)]
pub struct AuthRejection(pub AuthError);

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        status(self.0.status())
    }

    fn error_response(&self) -> HttpResponse {
        error_response(&self.0)
    }
}

/// Adds [`JwtAuthExt::middleware`] to [`JwtAuth`].
pub trait JwtAuthExt {
    /// The actix middleware for this configuration.
    fn middleware(&self) -> JwtMiddleware;
}

impl JwtAuthExt for JwtAuth {
    fn middleware(&self) -> JwtMiddleware {
        JwtMiddleware::new(self.clone())
    }
}

/// An actix-web middleware (`App::wrap`, `Scope::wrap`, `Resource::wrap`) that authenticates and
/// authorizes every request. On success the [`AuthContext`] goes into the request extensions.
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

impl<S, B> Transform<S, ServiceRequest> for JwtMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = JwtMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(JwtMiddlewareService {
            service: Rc::new(service),
            auth: self.auth.clone(),
        }))
    }
}

/// The service produced by [`JwtMiddleware`].
pub struct JwtMiddlewareService<S> {
    service: Rc<S>,
    auth: JwtAuth,
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

impl<S, B> Service<ServiceRequest> for JwtMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = JwtFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // One request, one decision: a request this engine already decided (the middleware on
        // the app and again on a scope) passes on as it was decided.
        let decided = {
            let ext = req.extensions();
            self.auth
                .has_decided(ext.get::<AuthContext>(), ext.get::<Decided>())
        };
        if decided {
            return JwtFuture::inner(self.service.call(req));
        }
        // An MCP endpoint's `POST` is decided on its body: read it first (the waiting path).
        // The common case decides without waiting (a cache hit, static keys): answer, or call
        // the inner service in place, with no boxed future. A decision that waits continues in
        // a boxed future from where it stopped.
        let body_limit = self.auth.body_limit(&View::new(&req));
        let now = match body_limit {
            Some(_) => Err(None),
            None => self.auth.verdict_now(&View::new(&req)).map_err(Some),
        };
        match now {
            Ok(verdict) => proceed(&self.service, verdict, req),
            Err(unfinished) => {
                let service = self.service.clone();
                let auth = self.auth.clone();
                let mut req = req;
                JwtFuture::waiting(Box::pin(async move {
                    let verdict = match (body_limit, unfinished) {
                        (Some(limit), _) => {
                            let read = read_payload(&mut req, limit).await;
                            let verdict =
                                auth.verdict(&View::new(&req).with_body(read.view())).await;
                            if let Some(bytes) = read.into_bytes() {
                                // The handler reads the same bytes the decision read.
                                req.set_payload(bytes.into());
                            }
                            verdict
                        }
                        (None, Some(unfinished)) => {
                            auth.verdict_after(&View::new(&req), unfinished).await
                        }
                        (None, None) => auth.verdict(&View::new(&req)).await,
                    };
                    proceed(&*service, verdict, req).await
                }))
            }
        }
    }
}

/// The adapter contract's one match: the request goes on to `service` with what the decision
/// hands over, or the core's answer is sent.
fn proceed<S, B>(service: &S, verdict: Verdict, req: ServiceRequest) -> JwtFuture<S::Future, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    match verdict {
        Verdict::Continue(pass) => {
            // The context, or the engine's mark (actix-web's own extensions, on `http` 0.2).
            match pass {
                Pass::Authenticated(ctx) => {
                    req.extensions_mut().insert(ctx);
                }
                Pass::Anonymous(mark) => {
                    req.extensions_mut().insert(mark);
                }
            }
            JwtFuture::inner(service.call(req))
        }
        Verdict::Respond(reply) => JwtFuture::answered(req.into_response(reply_response(reply))),
    }
}

/// The core's answer ([`jwt_core::Reply`]) as an actix response.
fn reply_response(reply: Reply) -> HttpResponse {
    let mut res = HttpResponse::build(status(reply.status()));
    for (name, value) in reply.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            res.insert_header((name, value));
        }
    }
    res.body(reply.into_body())
}

pin_project_lite::pin_project! {
    /// The response future of [`JwtMiddlewareService`] and [`RequireScopeService`]: the inner
    /// service's response, or the core's answer. Like every future, it must not be polled
    /// after it completed: it panics then, as the other adapters' futures do.
    pub struct JwtFuture<F, B> {
        #[pin]
        state: State<F, B>,
        done: bool,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // Decided at once, allowed: the inner service's future.
        Inner { #[pin] fut: F },
        // Decided at once, answered here (a refusal, the metadata document).
        Answered { response: Option<ServiceResponse<EitherBody<B>>> },
        // The decision waits (a key fetch, an asynchronous check, the body).
        Waiting { fut: LocalFuture<Result<ServiceResponse<EitherBody<B>>, Error>> },
    }
}

impl<F, B> JwtFuture<F, B> {
    fn inner(fut: F) -> Self {
        Self::with(State::Inner { fut })
    }

    fn answered(response: ServiceResponse) -> Self {
        Self::with(State::Answered {
            response: Some(response.map_into_right_body()),
        })
    }

    fn waiting(fut: LocalFuture<Result<ServiceResponse<EitherBody<B>>, Error>>) -> Self {
        Self::with(State::Waiting { fut })
    }

    fn with(state: State<F, B>) -> Self {
        JwtFuture { state, done: false }
    }
}

impl<F, B> Future for JwtFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(!*this.done, "{}", jwt_core::POLLED_AFTER_COMPLETION);
        let polled = match this.state.project() {
            StateProj::Inner { fut } => fut.poll(cx).map_ok(ServiceResponse::map_into_left_body),
            StateProj::Answered { response } => {
                Poll::Ready(Ok(response.take().expect("answered once")))
            }
            StateProj::Waiting { fut } => fut.as_mut().poll(cx),
        };
        *this.done = polled.is_ready();
        polled
    }
}

impl<F, B> std::fmt::Debug for JwtFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtFuture").finish_non_exhaustive()
    }
}

fn ctx(req: &HttpRequest) -> Option<AuthContext> {
    req.extensions().get::<AuthContext>().cloned()
}

/// An extractor's refusal, rendered like the middleware that decided the request.
fn rejection(req: &HttpRequest, ctx: Option<&AuthContext>, err: AuthError) -> AuthRejection {
    AuthRejection(extractor_refusal(
        err,
        ctx,
        req.extensions().get::<Decided>(),
    ))
}

/// The extractors' impls: each takes its value from the context with a function of
/// [`jwt_core::extract`], refusals rendered like the middleware's.
macro_rules! from_context {
    ($name:ident, $f:path) => {
        impl FromRequest for $name {
            type Error = AuthRejection;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let ctx = ctx(req);
                ready(
                    $f(ctx.as_ref())
                        .map($name)
                        .map_err(|e| rejection(req, ctx.as_ref(), e)),
                )
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

impl<T: DeserializeOwned> FromRequest for Claims<T> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = ctx(req);
        ready(
            extract::claims(ctx.as_ref())
                .map(Claims)
                .map_err(|e| rejection(req, ctx.as_ref(), e)),
        )
    }
}

/// A per-route scope requirement as an extractor: 403 unless the caller holds every scope of `R`.
///
/// ```
/// use jwt_actix::RequireScope;
/// use jwt_core::extract::RequiredScopes;
/// struct AgentsWrite;
/// impl RequiredScopes for AgentsWrite {
///     const SCOPES: &'static [&'static str] = &["agents:write"];
/// }
/// async fn create(_: RequireScope<AgentsWrite>) -> &'static str { "created" }
/// # let _ = actix_web::web::post().to(create);
/// ```
pub struct RequireScope<R>(PhantomData<R>);

impl<R> std::fmt::Debug for RequireScope<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireScope")
    }
}

impl<R: RequiredScopes> FromRequest for RequireScope<R> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = ctx(req);
        ready(
            extract::require(ctx.as_ref(), R::SCOPES)
                .map(|()| RequireScope(PhantomData))
                .map_err(|e| rejection(req, ctx.as_ref(), e)),
        )
    }
}

/// A per-route scope requirement as a middleware, like axum's `RequireScopeLayer`: wrap a
/// `web::resource` or `web::scope` inside [`JwtMiddleware`] and every request to it needs
/// every scope listed (403 `insufficient_scope` naming them all, rendered like the
/// middleware's refusals; 401 without an identity).
///
/// ```
/// use actix_web::{App, web};
/// use jwt_actix::RequireScopeMiddleware;
/// let app = App::new().service(
///     web::resource("/admin")
///         .wrap(RequireScopeMiddleware::new(["agent_os:admin"]))
///         .route(web::post().to(|| async { "ok" })),
/// );
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopeMiddleware {
    scopes: Rc<[String]>,
}

impl RequireScopeMiddleware {
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

impl<S, B> Transform<S, ServiceRequest> for RequireScopeMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireScopeService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireScopeService {
            service,
            scopes: self.scopes.clone(),
        }))
    }
}

/// The service produced by [`RequireScopeMiddleware`].
pub struct RequireScopeService<S> {
    service: S,
    scopes: Rc<[String]>,
}

impl<S, B> Service<ServiceRequest> for RequireScopeService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = JwtFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let verdict = {
            let ext = req.extensions();
            let ctx = ext.get::<AuthContext>();
            extract::require(ctx, &self.scopes)
                .map_err(|err| extractor_refusal(err, ctx, ext.get::<Decided>()))
        };
        match verdict {
            Ok(()) => JwtFuture::inner(self.service.call(req)),
            Err(err) => JwtFuture::answered(req.into_response(error_response(&err))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, test, web};
    use jwt_core::{ProblemJson, RouteTable, StaticKeys};

    const SECRET: [u8; 32] = [5u8; 32];

    fn token(scopes: &[&str]) -> String {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() + 600)
            .unwrap_or(u64::MAX);
        jwt_core::mint::hs256(
            &SECRET,
            &serde_json::json!({"sub": "alice", "exp": exp, "scopes": scopes}),
        )
        .expect("token")
    }

    #[actix_web::test]
    async fn require_scope_middleware_guards_one_resource_like_axum_s_layer() {
        let auth = JwtAuth::builder()
            .verifier(StaticKeys::hs256(SECRET).expect("secret"))
            .dangerous_any_issuer()
            .scopes(
                RouteTable::builder()
                    .authenticated("* /admin")
                    .authenticated("GET /open")
                    .build()
                    .expect("table"),
            )
            .error_renderer(ProblemJson::new())
            .realm("shop")
            .build()
            .expect("auth");
        let app = test::init_service(
            App::new()
                .wrap(auth.middleware())
                .service(
                    web::resource("/admin")
                        .wrap(RequireScopeMiddleware::new(["admin:write", "audit:write"]))
                        .route(web::post().to(|| async { "done" })),
                )
                .route("/open", web::get().to(|| async { "open" })),
        )
        .await;
        let call = |path: &'static str, method: &'static str, scopes: &[&str]| {
            let bearer = format!("Bearer {}", token(scopes));
            test::TestRequest::default()
                .method(actix_web::http::Method::from_bytes(method.as_bytes()).expect("method"))
                .uri(path)
                .insert_header(("authorization", bearer))
                .to_request()
        };
        let res = test::call_service(
            &app,
            call("/admin", "POST", &["admin:write", "audit:write"]),
        )
        .await;
        assert_eq!(res.status(), 200);
        // One scope short: 403 naming every scope of the guard, rendered like the middleware's.
        let res = test::call_service(&app, call("/admin", "POST", &["admin:write"])).await;
        assert_eq!(res.status(), 403);
        assert_eq!(
            res.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some(
                r#"Bearer realm="shop", error="insufficient_scope", scope="admin:write audit:write""#
            )
        );
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        // Other routes are not guarded.
        let res = test::call_service(&app, call("/open", "GET", &[])).await;
        assert_eq!(res.status(), 200);
    }

    #[actix_web::test]
    async fn require_scope_middleware_without_the_jwt_middleware_refuses() {
        let app = test::init_service(
            App::new().service(
                web::resource("/admin")
                    .wrap(RequireScopeMiddleware::new(["admin:write"]))
                    .route(web::post().to(|| async { "done" })),
            ),
        )
        .await;
        let res =
            test::call_service(&app, test::TestRequest::post().uri("/admin").to_request()).await;
        assert_eq!(res.status(), 401);
    }

    #[actix_web::test]
    async fn a_response_future_polled_after_completion_panics() {
        use std::panic::AssertUnwindSafe;
        use std::task::Waker;
        let auth = JwtAuth::builder()
            .dangerous_any_issuer()
            .verifier(StaticKeys::hs256(SECRET).unwrap())
            .build()
            .unwrap();
        let inner = actix_web::dev::fn_service(|req: ServiceRequest| async {
            Ok::<_, Error>(req.into_response(HttpResponse::Ok().finish()))
        });
        let svc = JwtMiddleware::new(auth).new_transform(inner).await.unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        // Allowed (the inner service's future), then refused (the core's answer).
        let allowed = test::TestRequest::get()
            .uri("/x")
            .insert_header(("authorization", format!("Bearer {}", token(&[]))))
            .to_srv_request();
        let refused = test::TestRequest::get().uri("/x").to_srv_request();
        for (req, status) in [(allowed, 200), (refused, 401)] {
            let mut fut = Box::pin(svc.call(req));
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(res)) => assert_eq!(res.status(), status),
                _ => panic!("not answered at once"),
            }
            let again = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
            let panic = again.expect_err("polled after completion");
            assert_eq!(
                panic.downcast_ref::<String>().map(String::as_str),
                Some(jwt_core::POLLED_AFTER_COMPLETION)
            );
        }
    }
}
