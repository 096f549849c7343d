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
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower_service::Service;

use crate::ClientConnection;

#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::{ClientCertificates, TlsConfig, TlsConfigError};

/// Serves `app` on `listener` over plain TCP; each request carries a [`ClientConnection`] with
/// the peer's address (no certificate), which [`crate::Mtls::trusted_proxy`] reads to decide
/// whether a proxy's certificate header counts. Await the returned [`Serve`]; it runs until it
/// is dropped, or until its [`Serve::with_graceful_shutdown`] signal.
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
pub fn serve<S>(listener: TcpListener, app: S) -> Serve<S> {
    Serve {
        listener,
        app,
        transport: Transport::Plain,
        shutdown: None,
    }
}

/// Serves `app` on `listener` over TLS (rustls, `config`; HTTP/2 when the client offers it
/// through ALPN); each request carries a [`ClientConnection`] with the peer's address and the
/// client certificate the handshake verified, if any, which the adapters hand to the engine for
/// certificate-bound tokens ([`crate::Mtls`]). A handshake that fails or takes longer than ten
/// seconds drops the connection. Await the returned [`Serve`]; it runs until it is dropped, or
/// until its [`Serve::with_graceful_shutdown`] signal.
///
/// ```no_run
/// use jwt_core::server::{ClientCertificates, TlsConfig};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = TlsConfig::new(
///     &std::fs::read("server.pem")?,
///     &std::fs::read("server.key")?,
/// )
/// .client_certificates(ClientCertificates::Optional, &std::fs::read("clients-ca.pem")?)
/// .build()?;
/// let app = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
///     let conn = req.extensions().get::<jwt_core::ClientConnection>();
///     let has_cert = conn.and_then(|c| c.certificate()).is_some();
///     Ok::<_, std::convert::Infallible>(http::Response::new(format!("certificate: {has_cert}")))
/// });
/// let listener = tokio::net::TcpListener::bind(("127.0.0.1", 8443)).await?;
/// jwt_core::server::serve_tls(listener, config, app).await;
/// # Ok(()) }
/// ```
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub fn serve_tls<S>(
    listener: TcpListener,
    config: std::sync::Arc<rustls::ServerConfig>,
    app: S,
) -> Serve<S> {
    Serve {
        listener,
        app,
        transport: Transport::Tls(tokio_rustls::TlsAcceptor::from(config)),
        shutdown: None,
    }
}

/// A server of [`serve`] or [`serve_tls`]: await it (it is an [`IntoFuture`]).
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<S> {
    listener: TcpListener,
    app: S,
    transport: Transport,
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<S> std::fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("graceful_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

/// How accepted connections are opened.
enum Transport {
    Plain,
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::TlsAcceptor),
}

impl<S> Serve<S> {
    /// Stops when `signal` completes: no connection is accepted after it, every open one is
    /// asked to close once its requests in flight are answered (HTTP/1.1: after the current
    /// response; HTTP/2: `GOAWAY`), and the server's future completes when they all have.
    ///
    /// ```no_run
    /// # async fn run(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let listener = tokio::net::TcpListener::bind(("127.0.0.1", 8000)).await?;
    /// let server = jwt_core::server::serve(listener, app)
    ///     .with_graceful_shutdown(async { let _ = stopped.await; });
    /// let running = tokio::spawn(std::future::IntoFuture::into_future(server));
    /// // ... later (e.g. on SIGTERM): stop accepting, finish the requests in flight.
    /// let _ = stop.send(());
    /// running.await?;
    /// # Ok(()) }
    /// ```
    pub fn with_graceful_shutdown(self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            shutdown: Some(Box::pin(signal)),
            ..self
        }
    }
}

impl<S, B> IntoFuture for Serve<S>
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
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    /// Accepts connections until the shutdown signal (forever without one), each served on a
    /// task of its own; then waits for the open connections to close gracefully.
    fn into_future(self) -> Self::IntoFuture {
        let Serve {
            listener,
            app,
            transport,
            shutdown,
        } = self;
        Box::pin(async move {
            let mut shutdown = shutdown.unwrap_or_else(|| Box::pin(std::future::pending()));
            let graceful = GracefulShutdown::new();
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = &mut shutdown => break,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        accept_failed(err).await;
                        continue;
                    }
                };
                let watcher = graceful.watcher();
                let app = app.clone();
                match &transport {
                    Transport::Plain => {
                        let connection = ClientConnection::new(peer);
                        tokio::spawn(serve_connection(stream, connection, app, watcher));
                    }
                    #[cfg(feature = "tls")]
                    Transport::Tls(acceptor) => {
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            if let Some((tls, connection)) =
                                tls::handshake(&acceptor, stream, peer).await
                            {
                                serve_connection(tls, connection, app, watcher).await;
                            }
                        });
                    }
                }
            }
            drop(listener);
            graceful.shutdown().await;
        })
    }
}

/// Serves HTTP on one connection, each request carrying `connection`; closes gracefully when
/// `watcher` is told to.
async fn serve_connection<Io, S, B>(
    io: Io,
    connection: ClientConnection,
    app: S,
    watcher: hyper_util::server::graceful::Watcher,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
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
    let svc = WithConnection {
        inner: app,
        connection,
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A timer, so that hyper's HTTP/1 header read timeout (30 s) applies: a client trickling
    // its request head does not hold the connection forever.
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc));
    if let Err(err) = watcher.watch(conn).await {
        tracing::debug!(error = %err, "connection ended with an error");
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
