//! Serving an app (any tower service over `http` 1.x: an axum `Router`, a warp service, a poem
//! endpoint through `jwt_poem::service`) with every request carrying the [`ClientConnection`] it
//! arrived on, which the adapters hand to the engine: [`serve`] over plain TCP (feature
//! `server`), [`serve_tls`] over TLS with the client certificate, for certificate-bound tokens
//! ([`crate::Mtls`], feature `tls`), and [`TlsConfig`] to build the server's rustls
//! configuration from PEM files.
//!
//! Both serve HTTP/1.1 and HTTP/2 (ALPN over TLS) with upgrades, like `axum::serve` and
//! `warp::serve`, and run until the future is dropped; a connection already accepted runs to its
//! end. actix-web runs its own server: its adapter reads the connection from `on_connect`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;

use crate::ClientConnection;

#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::{ClientCertificates, TlsConfig, TlsConfigError, serve_tls};

/// Serves `app` on `listener` over plain TCP; each request carries a [`ClientConnection`] with
/// the peer's address (no certificate), which [`crate::Mtls::trusted_proxy`] reads to decide
/// whether a proxy's certificate header counts.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
///     let conn = req.extensions().get::<jwt_core::ClientConnection>().cloned();
///     Ok::<_, std::convert::Infallible>(http::Response::new(format!("{conn:?}")))
/// });
/// let listener = tokio::net::TcpListener::bind(("127.0.0.1", 8000)).await?;
/// jwt_core::server::serve(listener, app).await;
/// # Ok(()) }
/// ```
pub async fn serve<S, B>(listener: TcpListener, app: S)
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    accept_loop(listener, app, |stream, peer| async move {
        Some((stream, ClientConnection::new(peer)))
    })
    .await;
}

/// Accepts connections on `listener` forever; `open` turns each accepted stream into the stream
/// to serve HTTP on (a TLS handshake, or the stream itself) and its [`ClientConnection`], or
/// `None` to drop it. Runs on a task of its own per connection.
pub(crate) async fn accept_loop<S, B, F, Fut, Io>(listener: TcpListener, app: S, open: F)
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    F: Fn(TcpStream, SocketAddr) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Option<(Io, ClientConnection)>> + Send,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                accept_failed(err).await;
                continue;
            }
        };
        let app = app.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let Some((io, connection)) = open(stream, peer).await else {
                return;
            };
            let svc = WithConnection {
                inner: app,
                connection,
            };
            let conn = auto::Builder::new(TokioExecutor::new());
            if let Err(err) = conn
                .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc))
                .await
            {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
}

/// An accept error: the peer's own failure is skipped; anything else (such as running out of
/// file descriptors) is logged and retried after a second, as `warp::serve` does.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accept failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Adds the connection's [`ClientConnection`] to each of its requests, replacing any value an
/// inner layer could not have set yet.
#[derive(Clone)]
struct WithConnection<S> {
    inner: S,
    connection: ClientConnection,
}

impl<S, B> Service<Request<B>> for WithConnection<S>
where
    S: Service<Request<B>>,
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

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.connection.clone());
        self.inner.call(req)
    }
}
