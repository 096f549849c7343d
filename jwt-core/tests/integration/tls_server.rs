//! `jwt_core::server::serve_tls` over real TLS (rustls) with a real client (reqwest with a client
//! identity) and certificates generated for the run: the client certificate reaches the engine
//! through the request's `ClientConnection`, and the configuration refuses what it cannot use.

use std::convert::Infallible;
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::time::Duration;

use jwt_core::http::RequestHead;
use jwt_core::server::{ClientCertificates, TlsConfig, TlsConfigError, serve, serve_tls};
use jwt_core::{ClientConnection, JwtAuth, Mtls, StaticKeys, certificate_thumbprint, mint};
use serde_json::json;

use crate::pki::Pki;

const SECRET: &[u8] = b"tls-server-tests-secret-0123456789ab";

fn token(der: &[u8]) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims =
        json!({"sub": "agent-1", "exp": exp, "cnf": {"x5t#S256": certificate_thumbprint(der)}});
    mint::hs256(SECRET, &claims).unwrap()
}

/// Serves an app answering the engine's decision (status, and the challenge or the connection
/// it saw) on 127.0.0.1:0 over TLS.
async fn start(pki: &Pki, mode: ClientCertificates) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .mtls(Mtls::if_bound())
        .build()
        .unwrap();
    let config = TlsConfig::new(
        pki.server.cert_pem.as_bytes(),
        pki.server.key_pem.as_bytes(),
    )
    .client_certificates(mode, pki.ca_pem.as_bytes())
    .build()
    .unwrap();
    let app = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let auth = auth.clone();
        async move {
            let (parts, _) = req.into_parts();
            let conn = parts.extensions.get::<ClientConnection>().cloned();
            let answer = match auth.authenticate(&RequestHead::from_parts(&parts)).await {
                Ok(_) => {
                    let conn = conn.expect("a connection");
                    format!(
                        "200 tls={} cert={}",
                        conn.is_tls(),
                        conn.certificate().is_some()
                    )
                }
                Err(err) => format!("{} {}", err.status(), err.www_authenticate()),
            };
            Ok::<_, Infallible>(http::Response::new(answer))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (
        addr,
        tokio::spawn(serve_tls(listener, config, app).into_future()),
    )
}

async fn get(client: &reqwest::Client, addr: SocketAddr, token: &str) -> reqwest::Result<String> {
    let url = format!("https://localhost:{}/orders", addr.port());
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .text()
        .await
}

fn invalid(description: &str) -> String {
    format!(r#"401 Bearer realm="api", error="invalid_token", error_description="{description}""#)
}

#[tokio::test]
async fn mtls_serve_tls_hands_the_client_certificate_to_the_engine() {
    let pki = Pki::new(&["agent-a", "agent-b"]);
    let (a, b) = (&pki.clients[0], &pki.clients[1]);
    let (addr, server) = start(&pki, ClientCertificates::Optional).await;
    let bound = token(&a.der);

    let with_a = pki.client(Some(a));
    assert_eq!(
        get(&with_a, addr, &bound).await.unwrap(),
        "200 tls=true cert=true"
    );
    // HTTP/2 (ALPN) carries the same connection.
    let h2 = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()])
        .identity(reqwest::Identity::from_pem(a.identity_pem().as_bytes()).unwrap())
        .http2_prior_knowledge()
        .build()
        .unwrap();
    assert_eq!(
        get(&h2, addr, &bound).await.unwrap(),
        "200 tls=true cert=true"
    );
    assert_eq!(
        get(&pki.client(Some(b)), addr, &bound).await.unwrap(),
        invalid("client certificate mismatch")
    );
    assert_eq!(
        get(&pki.client(None), addr, &bound).await.unwrap(),
        invalid("client certificate required")
    );
    // A certificate no configured root signed fails the handshake: no request is served.
    let stranger = Pki::stranger("agent-a");
    assert!(
        get(&pki.client(Some(&stranger)), addr, &bound)
            .await
            .is_err()
    );
    server.abort();
}

#[tokio::test]
async fn mtls_serve_tls_required_turns_clients_without_a_certificate_away() {
    let pki = Pki::new(&["agent-a"]);
    let (addr, server) = start(&pki, ClientCertificates::Required).await;
    let bound = token(&pki.clients[0].der);
    assert!(get(&pki.client(None), addr, &bound).await.is_err());
    assert_eq!(
        get(&pki.client(Some(&pki.clients[0])), addr, &bound)
            .await
            .unwrap(),
        "200 tls=true cert=true"
    );
    server.abort();
}

#[test]
fn mtls_tls_config_refuses_what_it_cannot_use() {
    let pki = Pki::new(&["agent-a"]);
    let (cert, key) = (
        pki.server.cert_pem.as_bytes(),
        pki.server.key_pem.as_bytes(),
    );
    assert!(matches!(
        TlsConfig::new(b"", key).build(),
        Err(TlsConfigError::NoCertificate)
    ));
    assert!(matches!(
        TlsConfig::new(cert, cert).build(),
        Err(TlsConfigError::NoPrivateKey)
    ));
    // Another key than the certificate's.
    let other = pki.clients[0].key_pem.as_bytes();
    assert!(matches!(
        TlsConfig::new(cert, other).build(),
        Err(TlsConfigError::Rustls(_))
    ));
    assert!(matches!(
        TlsConfig::new(cert, key)
            .client_certificates(ClientCertificates::Required, b"no roots here")
            .build(),
        Err(TlsConfigError::NoClientRoots)
    ));
    let config = TlsConfig::new(cert, key).build().unwrap();
    assert_eq!(
        config.alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}

/// A graceful shutdown answers the request in flight, accepts no new connection, and then ends.
#[tokio::test]
async fn mtls_serve_shuts_down_gracefully() {
    let app = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
        let peer = req
            .extensions()
            .get::<ClientConnection>()
            .map(|c| c.peer_addr());
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok::<_, Infallible>(http::Response::new(format!("{peer:?}")))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/");
    let in_flight = tokio::spawn(client.get(url.clone()).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let res = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().starts_with("Some(127.0.0.1:"));
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server ends once its connections are closed")
        .unwrap();
    assert!(reqwest::Client::new().get(url).send().await.is_err());
}
