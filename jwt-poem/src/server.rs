//! A poem endpoint as a tower service over hyper's requests (feature `server`), so that
//! [`jwt_core::server::serve_tls`] can serve it with each request's [`ClientConnection`]: poem's
//! own listeners have no place for the client certificate of a mutual TLS connection.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use jwt_core::ClientConnection;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Request};

/// `ep` as a tower service for [`jwt_core::server::serve`] and [`jwt_core::server::serve_tls`]:
/// each request reaches poem with its [`ClientConnection`] in the extensions (what
/// [`crate::JwtMiddleware`] checks certificate-bound tokens against), the peer as poem's remote
/// address and `https` as its scheme over TLS. The local address is unknown to poem
/// (`LocalAddr::default()`).
///
/// ```no_run
/// use jwt_core::server::{ClientCertificates, TlsConfig};
/// use jwt_poem::JwtAuthExt as _;
/// use poem::{EndpointExt as _, Route, get, handler};
///
/// #[handler]
/// fn me(user: jwt_poem::UserId) -> String {
///     user.0
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = jwt_core::JwtAuth::builder()
///     .verifier(jwt_core::StaticKeys::pem_file(jwt_core::Algorithm::ES256, "idp.pub.pem")?)
///     .issuer("https://idp.example.com")
///     .mtls(jwt_core::Mtls::if_bound())
///     .build()?;
/// let app = Route::new().at("/me", get(me)).with(auth.middleware());
/// let tls = TlsConfig::new(&std::fs::read("server.pem")?, &std::fs::read("server.key")?)
///     .client_certificates(ClientCertificates::Optional, &std::fs::read("clients-ca.pem")?)
///     .build()?;
/// let listener = tokio::net::TcpListener::bind(("127.0.0.1", 8443)).await?;
/// jwt_core::server::serve_tls(listener, tls, jwt_poem::service(app)).await;
/// # Ok(()) }
/// ```
pub fn service<E: Endpoint + 'static>(ep: E) -> PoemService<E> {
    PoemService(Arc::new(ep))
}

/// A poem endpoint as a tower service: see [`service`].
#[derive(Debug)]
pub struct PoemService<E>(Arc<E>);

impl<E> Clone for PoemService<E> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

/// The response future of [`PoemService`].
type Responding = Pin<
    Box<
        dyn Future<Output = Result<http::Response<BoxBody<Bytes, std::io::Error>>, Infallible>>
            + Send,
    >,
>;

impl<E: Endpoint + 'static> tower_service::Service<http::Request<Incoming>> for PoemService<E> {
    type Response = http::Response<BoxBody<Bytes, std::io::Error>>;
    type Error = Infallible;
    type Future = Responding;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Incoming>) -> Self::Future {
        let conn = req.extensions().get::<ClientConnection>();
        let remote = conn.map_or_else(RemoteAddr::default, |c| {
            RemoteAddr(Addr::SocketAddr(c.peer_addr()))
        });
        let scheme = if conn.is_some_and(ClientConnection::is_tls) {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        };
        let req = Request::from((req, LocalAddr::default(), remote, scheme));
        let ep = Arc::clone(&self.0);
        Box::pin(async move { Ok(ep.get_response(req).await.into()) })
    }
}
