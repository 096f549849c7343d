//! What the server knows of the connection a request arrived on, handed to the engine by the
//! adapters: the direct peer's address and, over mutual TLS, the client certificate.

use std::net::SocketAddr;
use std::sync::Arc;

/// The connection a request arrived on: the direct peer's address and, when the TLS handshake
/// asked for one, the client certificate (DER of the end-entity certificate). Certificate-bound
/// tokens ([`crate::Mtls`]) are checked against it.
///
/// The server that accepts the connection makes one per connection and puts a clone in every
/// request's extensions: `jwt_core::server::serve` and `serve_tls` do it (features `server`,
/// `tls`); a hand-written accept loop inserts it itself. The axum, poem and warp adapters read it from the request's
/// `http::Extensions`; the actix-web adapter from the connection data (`on_connect`). Cloning is
/// cheap: the certificate is shared.
///
/// ```
/// use jwt_core::ClientConnection;
/// let peer = "203.0.113.7:50100".parse().unwrap();
/// let conn = ClientConnection::new(peer).with_certificate(vec![0x30, 0x82]);
/// assert_eq!(conn.peer_addr(), peer);
/// assert_eq!(conn.certificate(), Some([0x30, 0x82].as_slice()));
/// assert!(conn.is_tls() && !ClientConnection::new(peer).is_tls());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConnection {
    peer: SocketAddr,
    tls: bool,
    certificate: Option<Arc<[u8]>>,
}

impl ClientConnection {
    /// A plain TCP connection from `peer`.
    pub fn new(peer: SocketAddr) -> Self {
        Self {
            peer,
            tls: false,
            certificate: None,
        }
    }

    /// The same connection, over TLS (without a client certificate unless
    /// [`ClientConnection::with_certificate`] adds one).
    pub fn tls(self) -> Self {
        Self { tls: true, ..self }
    }

    /// The same connection over TLS with the client certificate the handshake verified (DER;
    /// with rustls, the first of `ServerConnection::peer_certificates`).
    pub fn with_certificate(self, der: impl Into<Arc<[u8]>>) -> Self {
        Self {
            tls: true,
            certificate: Some(der.into()),
            ..self
        }
    }

    /// Whether the connection is over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The direct peer: the client, or the proxy in front of the service.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The client certificate's DER, when the client presented one.
    pub fn certificate(&self) -> Option<&[u8]> {
        self.certificate.as_deref()
    }
}
