//! The engine in front of warp: a tower service that decides every request before warp's
//! filters run, so the filters read the decision instead of cloning the header map.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use jwt_core::http::RequestHead;
use jwt_core::{AuthContext, JwtAuth, Outcome};
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
        let mut req = req.map(AuthBody::streaming);
        // One request, one decision: a request this engine already decided (the service
        // applied twice) goes on as it was decided.
        if req
            .extensions()
            .get::<Decided>()
            .is_some_and(|d| d.by.same_engine(&self.auth))
        {
            return AuthFuture {
                state: State::Inner {
                    fut: self.inner.call(req),
                },
            };
        }
        let head = RequestHead::new(req.method(), req.uri().path(), req.headers());
        // An MCP endpoint's `POST` is decided on its JSON-RPC body: read it (bounded), decide,
        // and hand the app the same bytes.
        if let Some(limit) = self.auth.body_limit(&head) {
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            let auth = self.auth.clone();
            let waiting = Box::pin(async move {
                let (parts, body) = req.into_parts();
                let read = jwt_core::http::read_body(body, limit).await;
                let head = RequestHead::new(&parts.method, parts.uri.path(), &parts.headers);
                let decided = auth.authenticate(&head.with_body(read.view())).await;
                let body = AuthBody::buffered(read.into_bytes().unwrap_or_default());
                let mut req = http::Request::from_parts(parts, body);
                match handoff(&auth, &mut req, decided) {
                    None => inner.call(req).await,
                    Some(response) => Ok(response),
                }
            });
            return AuthFuture {
                state: State::Waiting { fut: waiting },
            };
        }
        // The common case (a cache hit, static keys) decides in place: nothing boxed.
        match self.auth.authenticate_now(&head) {
            Some(decided) => match handoff(&self.auth, &mut req, decided) {
                None => AuthFuture {
                    state: State::Inner {
                        fut: self.inner.call(req),
                    },
                },
                Some(response) => AuthFuture {
                    state: State::Answered {
                        response: Some(response),
                    },
                },
            },
            None => {
                // The clone is not ready; take the ready service and leave the clone in its place.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let auth = self.auth.clone();
                let waiting = Box::pin(async move {
                    let head = RequestHead::new(req.method(), req.uri().path(), req.headers());
                    let decided = auth.authenticate(&head).await;
                    match handoff(&auth, &mut req, decided) {
                        None => inner.call(req).await,
                        Some(response) => Ok(response),
                    }
                });
                AuthFuture {
                    state: State::Waiting { fut: waiting },
                }
            }
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

/// The answer to `req` when `decided` is one (a refusal, the metadata document); `None` when
/// the request goes on, its decision put into its extensions for the filters.
fn handoff<B>(
    auth: &JwtAuth,
    req: &mut http::Request<B>,
    decided: Result<Outcome, jwt_core::AuthError>,
) -> Option<warp::reply::Response> {
    match decided {
        Ok(Outcome::ResourceMetadata(doc)) => {
            Some(jwt_core::http::render_metadata(&doc).into_response())
        }
        Ok(outcome) => {
            req.extensions_mut().insert(Decided {
                by: auth.clone(),
                ctx: outcome.into_context(),
            });
            None
        }
        Err(err) => Some(crate::error_response(&err)),
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AuthService`]: the app's response, or the answer given at once.
    pub struct AuthFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        // Decided at once, allowed: the app's future.
        Inner { #[pin] fut: F },
        // Decided at once, answered here (a refusal, the metadata document).
        Answered { response: Option<warp::reply::Response> },
        // The decision waits (a key fetch, an asynchronous check).
        Waiting { fut: BoxFuture<Result<warp::reply::Response, E>> },
    }
}

impl<F, E> Future for AuthFuture<F, E>
where
    F: Future<Output = Result<warp::reply::Response, E>>,
{
    type Output = Result<warp::reply::Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { fut } => fut.poll(cx),
            // Polled again after completing: an error response rather than a panic.
            StateProj::Answered { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    crate::error_response(&jwt_core::AuthError::new(
                        jwt_core::AuthErrorKind::Unavailable,
                    ))
                })))
            }
            StateProj::Waiting { fut } => fut.as_mut().poll(cx),
        }
    }
}

impl<F, E> std::fmt::Debug for AuthFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFuture").finish_non_exhaustive()
    }
}
