//! The connection a request arrived on, recorded by actix-web's `on_connect` for the engine:
//! the peer's address and, over mutual TLS, the client certificate.

use std::any::Any;

use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use jwt_core::ClientConnection;

/// Records the connection a request arrives on as a [`ClientConnection`] in the connection
/// data, where [`crate::JwtMiddleware`] reads it for certificate-bound tokens
/// ([`jwt_core::Mtls`]): pass it to `HttpServer::on_connect`. Over actix-web's rustls 0.23
/// server (`bind_rustls_0_23`, feature `rustls`) it also records the client certificate the
/// handshake verified. Without it the middleware still knows the peer's address (the request
/// head's), but never a certificate.
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use jwt_actix::JwtAuthExt as _;
/// # fn tls_config() -> rustls::ServerConfig { unimplemented!() }
/// # #[cfg(feature = "rustls")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = jwt_core::JwtAuth::builder()
///     .verifier(jwt_core::StaticKeys::pem_file(jwt_core::Algorithm::ES256, "idp.pub.pem")?)
///     .issuer("https://idp.example.com")
///     .mtls(jwt_core::Mtls::if_bound())
///     .build()?;
/// // A rustls 0.23 `ServerConfig` asking for client certificates, e.g. from
/// // `jwt_core::server::TlsConfig` (feature `tls`) or built by hand.
/// let tls = tls_config();
/// HttpServer::new(move || {
///     App::new()
///         .wrap(auth.middleware())
///         .route("/me", web::get().to(|user: jwt_actix::UserId| async move { user.0 }))
/// })
/// .on_connect(jwt_actix::on_connect)
/// .bind_rustls_0_23(("127.0.0.1", 8443), tls)?
/// .run()
/// .await?;
/// # Ok(()) }
/// ```
pub fn on_connect(conn: &dyn Any, data: &mut Extensions) {
    #[cfg(feature = "rustls")]
    if let Some(tls) = conn.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>() {
        let (io, session) = tls.get_ref();
        if let Ok(peer) = io.peer_addr() {
            let mut connection = ClientConnection::new(peer).tls();
            if let Some(cert) = session.peer_certificates().and_then(<[_]>::first) {
                connection = connection.with_certificate(cert.as_ref());
            }
            data.insert(connection);
        }
        return;
    }
    if let Some(tcp) = conn.downcast_ref::<TcpStream>()
        && let Ok(peer) = tcp.peer_addr()
    {
        data.insert(ClientConnection::new(peer));
    }
}
