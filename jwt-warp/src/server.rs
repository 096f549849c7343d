//! A server for an app behind [`crate::service`]: warp's own (`warp::serve`) takes only a filter,
//! so it cannot put the engine in front of the filters.

use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::body::Incoming;
use jwt_core::JwtAuth;
use tokio::net::TcpListener;
use tower_service::Service;

/// The peer's address, in the extensions of every request [`serve`] hands over: read it with
/// `warp::ext::get::<jwt_warp::PeerAddr>()`. (`warp::addr::remote()` yields `None` there: warp
/// fills it only in its own server.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Serves `app` (typically `warp::service(filter)`) on `listener` over HTTP/1.1 and HTTP/2 (with
/// upgrades, e.g. WebSocket) like `warp::serve`, with `auth` deciding every request before the
/// filters run ([`crate::service`]). Runs until the future is dropped; a connection already
/// accepted runs to its end. For graceful shutdown or TLS, serve [`crate::service`] with
/// `jwt_core::server::serve` / `serve_tls` (features `server` / `tls` of jwt-core) and their
/// `with_graceful_shutdown`.
///
/// ```no_run
/// use warp::Filter;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = jwt_core::JwtAuth::builder().dangerous_any_issuer()
///     .verifier(jwt_core::StaticKeys::hs256(std::env::var("JWT_SECRET")?)?)
///     .build()?;
/// let me = warp::path!("me").and(jwt_warp::user_id(&auth)).map(|user: String| user);
/// let listener = tokio::net::TcpListener::bind(("127.0.0.1", 8000)).await?;
/// jwt_warp::serve(&auth, warp::service(me.recover(jwt_warp::recover)), listener).await;
/// # Ok(()) }
/// ```
pub async fn serve<S>(auth: &JwtAuth, app: S, listener: TcpListener)
where
    S: Service<
            http::Request<crate::AuthBody<Incoming>>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    serve_with(crate::service(auth, app), listener).await;
}

/// [`serve`] for a stack you assemble yourself around [`crate::service`]: serves any tower
/// service on `listener` the same way (HTTP/1.1 and HTTP/2, upgrades, [`PeerAddr`]). For layers
/// that must see the engine's refusals too, such as CORS for browser clients: a CORS layer
/// inside warp's filters never sees a refusal, which leaves before them.
///
/// ```no_run
/// use tower_layer::Layer as _;
/// use warp::Filter;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = jwt_core::JwtAuth::builder()
///     .verifier(jwt_core::StaticKeys::hs256(std::env::var("JWT_SECRET")?)?)
///     .issuer("https://idp.example.com")
///     .build()?;
/// let me = warp::path!("me").and(jwt_warp::user_id(&auth)).map(|user: String| user);
/// let cors = tower_http::cors::CorsLayer::new()
///     .allow_origin(http::HeaderValue::from_static("https://app.example.com"))
///     .allow_headers(jwt_warp::CORS_ALLOW_HEADERS.map(http::HeaderName::from_static))
///     .expose_headers(jwt_warp::CORS_EXPOSE_HEADERS.map(http::HeaderName::from_static));
/// let app = jwt_warp::service(&auth, warp::service(me.recover(jwt_warp::recover)));
/// let listener = tokio::net::TcpListener::bind(("127.0.0.1", 8000)).await?;
/// jwt_warp::serve_with(cors.layer(app), listener).await;
/// # Ok(()) }
/// ```
pub async fn serve_with<S, B>(app: S, listener: TcpListener)
where
    S: Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    jwt_core::server::serve(listener, WithPeer { inner: app }).await;
}

/// Adds [`PeerAddr`] to each request, from the [`jwt_core::ClientConnection`] the server put
/// there.
#[derive(Clone)]
struct WithPeer<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for WithPeer<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        if let Some(conn) = req.extensions().get::<jwt_core::ClientConnection>() {
            let peer = PeerAddr(conn.peer_addr());
            req.extensions_mut().insert(peer);
        }
        self.inner.call(req)
    }
}
