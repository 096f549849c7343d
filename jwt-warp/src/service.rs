//! The engine in front of warp: a tower service that decides every request before warp's
//! filters run, so the filters read the decision instead of cloning the header map.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use jwt_core::http::RequestHead;
use jwt_core::{AuthContext, JwtAuth, Verdict};
use tower_service::Service;
use warp::Reply as _;

/// A decision [`AuthService`] made, handed to the filters in the request's extensions. The type
/// is private to this crate, so nothing else can put one there; `by` names the engine that made
/// it, and a filter built on another engine decides again instead of trusting it.
#[derive(Clone)]
pub(crate) struct Decided {
    pub(crate) by: JwtAuth,
    pub(crate) ctx: Option<AuthContext>,
}

/// Wraps `app` (typically `warp::service(filter)`) so that `auth` decides every request before
/// the filters run: a refused request is answered at once, with the same status, body and
/// `WWW-Authenticate` as [`crate::recover`] renders, and never reaches warp's routing; an allowed
/// one goes on with the decision in its extensions, where every filter of this crate built on
/// the same `auth` takes it (no header map clone, one authentication however many filters a
/// route has). [`crate::serve`] serves it; any hyper server can too, through
/// `hyper_util::service::TowerToHyperService`.
///
/// Refusals leave before warp's filters: a `.with(warp::cors())` on the app does not see them.
/// CORS preflights pass through (the engine lets them by) to the app's CORS filter.
///
/// ```
/// use tower_service::Service;
/// use warp::Filter;
/// # fn main() -> Result<(), jwt_core::ConfigError> {
/// let auth = jwt_core::JwtAuth::builder().dangerous_any_issuer()
///     .verifier(jwt_core::StaticKeys::hs256(b"an-hs256-secret-of-at-least-32-bytes!")?)
///     .build()?;
/// let me = warp::path!("me").and(jwt_warp::user_id(&auth)).map(|user: String| user);
/// let mut svc = jwt_warp::service(&auth, warp::service(me.recover(jwt_warp::recover)));
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let req = http::Request::get("/me").body(String::new()).unwrap();
/// let res = svc.call(req).await.unwrap();
/// assert_eq!(res.status(), 401);
/// # }); Ok(()) }
/// ```
pub fn service<S>(auth: &JwtAuth, app: S) -> AuthService<S> {
    AuthService {
        auth: auth.clone(),
        inner: app,
    }
}

/// The service [`service`] builds.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    auth: JwtAuth,
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<AuthBody<B>>, Response = warp::reply::Response>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = warp::reply::Response;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let req = req.map(AuthBody::streaming);
        // One request, one decision: a request this engine already decided (the service
        // applied twice) goes on as it was decided.
        if req
            .extensions()
            .get::<Decided>()
            .is_some_and(|d| d.by.same_engine(&self.auth))
        {
            return AuthFuture::inner(self.inner.call(req));
        }
        let head = view(&req);
        // An MCP endpoint's `POST` is decided on its JSON-RPC body: read it (bounded), decide,
        // and hand the app the same bytes.
        if let Some(limit) = self.auth.body_limit(&head) {
            let (mut inner, auth) = self.take_ready();
            return AuthFuture::waiting(Box::pin(async move {
                let (parts, body) = req.into_parts();
                let read = jwt_core::http::read_body(body, limit).await;
                let head = RequestHead::from_parts(&parts);
                let verdict = auth.verdict(&head.with_body(read.view())).await;
                let body = AuthBody::buffered(read.into_bytes().unwrap_or_default());
                proceed(
                    &auth,
                    &mut inner,
                    verdict,
                    http::Request::from_parts(parts, body),
                )
                .await
            }));
        }
        // The common case (a cache hit, static keys) decides in place: nothing boxed. A
        // decision that waits continues in a boxed future from where it stopped.
        match self.auth.verdict_now(&head) {
            Ok(verdict) => proceed(&self.auth, &mut self.inner, verdict, req),
            Err(unfinished) => {
                let (mut inner, auth) = self.take_ready();
                AuthFuture::waiting(Box::pin(async move {
                    let head = view(&req);
                    let verdict = auth.verdict_after(&head, unfinished).await;
                    proceed(&auth, &mut inner, verdict, req).await
                }))
            }
        }
    }
}

impl<S: Clone> AuthService<S> {
    /// The ready app (a clone, not ready, takes its place) and the engine, for a future that
    /// calls it later.
    fn take_ready(&mut self) -> (S, JwtAuth) {
        let clone = self.inner.clone();
        (std::mem::replace(&mut self.inner, clone), self.auth.clone())
    }
}

/// The adapter contract's one match: the request goes on to the app with the decision in its
/// extensions (for the filters), or the core's answer is sent.
fn proceed<S, B>(
    auth: &JwtAuth,
    inner: &mut S,
    verdict: Verdict,
    mut req: http::Request<AuthBody<B>>,
) -> AuthFuture<S::Future, S::Error>
where
    S: Service<http::Request<AuthBody<B>>, Response = warp::reply::Response>,
{
    match verdict {
        Verdict::Continue(pass) => {
            req.extensions_mut().insert(Decided {
                by: auth.clone(),
                ctx: pass.into_context(),
            });
            AuthFuture::inner(inner.call(req))
        }
        Verdict::Respond(reply) => {
            AuthFuture::answered(jwt_core::http::reply(reply).into_response())
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// The request body [`AuthService`] hands the app: the connection's, streamed as it comes,
    /// or on an MCP endpoint the bytes the decision read (the same bytes, whole).
    pub struct AuthBody<B> {
        #[pin]
        inner: BodyKind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Streaming { #[pin] body: B },
        Buffered { #[pin] body: http_body_util::Full<Bytes> },
    }
}

impl<B> AuthBody<B> {
    fn streaming(body: B) -> Self {
        Self {
            inner: BodyKind::Streaming { body },
        }
    }

    fn buffered(bytes: Bytes) -> Self {
        Self {
            inner: BodyKind::Buffered {
                body: http_body_util::Full::new(bytes),
            },
        }
    }
}

impl<B> http_body::Body for AuthBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.project().inner.project() {
            BodyKindProj::Streaming { body } => body.poll_frame(cx).map_err(Into::into),
            BodyKindProj::Buffered { body } => body.poll_frame(cx).map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            BodyKind::Streaming { body } => body.is_end_stream(),
            BodyKind::Buffered { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.inner {
            BodyKind::Streaming { body } => body.size_hint(),
            BodyKind::Buffered { body } => body.size_hint(),
        }
    }
}

impl<B> std::fmt::Debug for AuthBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            BodyKind::Streaming { .. } => "AuthBody::Streaming",
            BodyKind::Buffered { .. } => "AuthBody::Buffered",
        })
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AuthService`]: the app's response, or the core's answer. Like
    /// every future, it must not be polled after it completed: it panics then, as the other
    /// adapters' futures do.
    pub struct AuthFuture<F, E> {
        #[pin]
        state: State<F, E>,
        done: bool,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        // Decided at once, allowed: the app's future.
        Inner { #[pin] fut: F },
        // Decided at once, answered here (a refusal, the metadata document).
        Answered { response: Option<warp::reply::Response> },
        // The decision waits (a key fetch, an asynchronous check, the body).
        Waiting { fut: BoxFuture<Result<warp::reply::Response, E>> },
    }
}

impl<F, E> AuthFuture<F, E> {
    fn inner(fut: F) -> Self {
        Self::with(State::Inner { fut })
    }

    fn answered(response: warp::reply::Response) -> Self {
        Self::with(State::Answered {
            response: Some(response),
        })
    }

    fn waiting(fut: BoxFuture<Result<warp::reply::Response, E>>) -> Self {
        Self::with(State::Waiting { fut })
    }

    fn with(state: State<F, E>) -> Self {
        AuthFuture { state, done: false }
    }
}

impl<F, E> Future for AuthFuture<F, E>
where
    F: Future<Output = Result<warp::reply::Response, E>>,
{
    type Output = Result<warp::reply::Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(!*this.done, "{}", jwt_core::POLLED_AFTER_COMPLETION);
        let polled = match this.state.project() {
            StateProj::Inner { fut } => fut.poll(cx),
            StateProj::Answered { response } => {
                Poll::Ready(Ok(response.take().expect("answered once")))
            }
            StateProj::Waiting { fut } => fut.as_mut().poll(cx),
        };
        *this.done = polled.is_ready();
        polled
    }
}

impl<F, E> std::fmt::Debug for AuthFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFuture").finish_non_exhaustive()
    }
}

/// The core's view of `req`, with the [`jwt_core::ClientConnection`] a server put in its
/// extensions ([`crate::serve`], [`jwt_core::server::serve_tls`]).
fn view<B>(req: &http::Request<B>) -> RequestHead<'_> {
    RequestHead::new(req.method(), req.uri().path(), req.headers())
        .with_connection(req.extensions().get())
}
