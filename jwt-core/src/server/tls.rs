//! TLS for [`super::serve`]'s accept loop: the rustls configuration from PEM, the handshake,
//! and the client certificate into the [`ClientConnection`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::ClientConnection;

/// How long a client has to finish the TLS handshake before its connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS handshake of an accepted connection, bounded by [`HANDSHAKE_TIMEOUT`], and the
/// [`ClientConnection`] it yields; `None` (the connection dropped) when it fails.
pub(super) async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<(TlsStream<TcpStream>, ClientConnection)> {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            tracing::debug!(error = %err, %peer, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return None;
        }
    };
    let mut connection = ClientConnection::new(peer).tls();
    if let Some(cert) = tls.get_ref().1.peer_certificates().and_then(<[_]>::first) {
        connection = connection.with_certificate(cert.as_ref());
    }
    Some((tls, connection))
}

/// Whether the server asks TLS clients for a certificate ([`TlsConfig::client_certificates`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCertificates {
    /// Asked for, and verified against the roots when presented; a client without one still
    /// connects (the engine decides: [`crate::Mtls::if_bound`] lets its unbound tokens through).
    Optional,
    /// Required: the handshake fails without a certificate the roots verify.
    Required,
}

/// A rustls server configuration from PEM: the server's certificate chain and private key, and,
/// for mutual TLS, the roots client certificates must chain to. The crypto provider is
/// aws-lc-rs, the same backend as the token signatures; ALPN offers `h2` and `http/1.1`.
///
/// ```
/// use jwt_core::server::{TlsConfig, TlsConfigError};
/// let err = TlsConfig::new(b"not PEM", b"").build().unwrap_err();
/// assert!(matches!(err, TlsConfigError::NoCertificate));
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct TlsConfig<'a> {
    cert_chain_pem: &'a [u8],
    key_pem: &'a [u8],
    clients: Option<(ClientCertificates, &'a [u8])>,
}

/// Why [`TlsConfig::build`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// The certificate chain holds no PEM certificate.
    #[error("the certificate chain holds no PEM certificate")]
    NoCertificate,
    /// The key holds no PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[error("the key file holds no PEM private key")]
    NoPrivateKey,
    /// The client roots hold no PEM certificate, or one rustls cannot use as a root.
    #[error("the client certificate roots hold no usable PEM certificate")]
    NoClientRoots,
    /// rustls refused the configuration (e.g. the key does not match the certificate).
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
    /// rustls refused the client certificate verifier.
    #[error("client certificate verifier refused: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
}

impl<'a> TlsConfig<'a> {
    /// A configuration serving `cert_chain_pem` (the server's certificate first) with `key_pem`,
    /// asking clients for no certificate.
    pub fn new(cert_chain_pem: &'a [u8], key_pem: &'a [u8]) -> Self {
        Self {
            cert_chain_pem,
            key_pem,
            clients: None,
        }
    }

    /// Asks clients for a certificate chaining to one of the certificates in `roots_pem`.
    pub fn client_certificates(self, mode: ClientCertificates, roots_pem: &'a [u8]) -> Self {
        Self {
            clients: Some((mode, roots_pem)),
            ..self
        }
    }

    /// The rustls configuration, for [`super::serve_tls`] (or any rustls acceptor).
    pub fn build(self) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_chain_pem)
                .collect::<Result<_, _>>()
                .map_err(|_| TlsConfigError::NoCertificate)?;
        if chain.is_empty() {
            return Err(TlsConfigError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem)
            .map_err(|_| TlsConfigError::NoPrivateKey)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match self.clients {
            None => builder.with_no_client_auth(),
            Some((mode, roots)) => {
                builder.with_client_cert_verifier(client_verifier(mode, roots, provider)?)
            }
        };
        let mut config = builder.with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn client_verifier(
    mode: ClientCertificates,
    roots_pem: &[u8],
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem) {
        let cert = cert.map_err(|_| TlsConfigError::NoClientRoots)?;
        roots.add(cert).map_err(|_| TlsConfigError::NoClientRoots)?;
    }
    if roots.is_empty() {
        return Err(TlsConfigError::NoClientRoots);
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = match mode {
        ClientCertificates::Optional => builder.allow_unauthenticated(),
        ClientCertificates::Required => builder,
    };
    Ok(builder.build()?)
}
