//! Certificate-bound tokens (RFC 8705) over real mutual TLS on all four frameworks: certificates
//! generated for the run (rcgen), a real client presenting them (reqwest with a client
//! identity), and each framework's own way of handing the connection to the engine: axum,
//! poem (`jwt_poem::service`) and warp (`jwt_warp::service`) served by
//! `jwt_core::server::serve_tls`, actix-web by its rustls 0.23 server with
//! `jwt_actix::on_connect`. Every answer (status, challenge, body) must be the same on all four.
//! The last test takes its tokens from the real OpenID provider's mutual TLS endpoint.

use std::future::IntoFuture as _;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use jwt_axum::JwtAuthExt as _;
use jwt_core::server::{ClientCertificates, TlsConfig, serve_tls};
use jwt_core::{CertHeader, JwtAuth, Mtls, StaticKeys, certificate_thumbprint, mint};
use serde_json::{Value, json};
use warp::Filter as _;

use crate::differential::app::{Running, Stop};
use crate::pki::{Leaf, Pki};

const SECRET: &[u8] = b"conformance-mtls-secret-0123456789abc";

/// An answer as the client saw it.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    challenge: Option<String>,
    body: String,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(cnf: Option<Value>) -> String {
    let mut claims = json!({"sub": "agent-1", "exp": now() + 600});
    if let Some(cnf) = cnf {
        claims["cnf"] = cnf;
    }
    mint::hs256(SECRET, &claims).unwrap()
}

fn bound_to(leaf: &Leaf) -> String {
    token(Some(json!({"x5t#S256": certificate_thumbprint(&leaf.der)})))
}

fn engine(mtls: Mtls) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .mtls(mtls)
        .build()
        .unwrap()
}

fn tls(pki: &Pki) -> Arc<rustls::ServerConfig> {
    TlsConfig::new(
        pki.server.cert_pem.as_bytes(),
        pki.server.key_pem.as_bytes(),
    )
    .client_certificates(ClientCertificates::Optional, pki.ca_pem.as_bytes())
    .build()
    .expect("TLS configuration")
}

/// A server on this runtime, shut down gracefully through its signal.
async fn task<S, B>(name: &'static str, config: &Arc<rustls::ServerConfig>, app: S) -> Running
where
    S: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = serve_tls(listener, config.clone(), app).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    Running {
        name,
        addr,
        stop: Stop::Task(stop, tokio::spawn(server.into_future())),
    }
}

/// `GET /me` answering the caller's user id, behind each framework's middleware, over TLS.
async fn start_all(auth: &JwtAuth, config: &Arc<rustls::ServerConfig>) -> Vec<Running> {
    let axum_app = axum::Router::new()
        .route(
            "/me",
            axum::routing::get(|user: jwt_axum::UserId| async move { user.0 }),
        )
        .layer(auth.layer());
    #[poem::handler]
    fn poem_me(user: jwt_poem::UserId) -> String {
        user.0
    }
    let poem_app = poem::EndpointExt::with(
        poem::Route::new().at("/me", poem::get(poem_me)),
        jwt_poem::JwtAuthExt::middleware(auth),
    );
    let warp_me = warp::path!("me")
        .and(jwt_warp::user_id(auth))
        .map(|user: String| user);
    let warp_app = jwt_warp::service(auth, warp::service(warp_me.recover(jwt_warp::recover)));

    let axum = task("axum", config, axum_app).await;
    let poem = task("poem", config, jwt_poem::service(poem_app)).await;
    let warp = task("warp", config, warp_app).await;
    vec![axum, start_actix(auth, config), poem, warp]
}

/// actix-web on its own thread and system, with its rustls 0.23 server.
fn start_actix(auth: &JwtAuth, config: &Arc<rustls::ServerConfig>) -> Running {
    let auth = auth.clone();
    let config = rustls::ServerConfig::clone(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(jwt_actix::JwtAuthExt::middleware(&auth))
                    .route(
                        "/me",
                        web::get().to(|user: jwt_actix::UserId| async move { user.0 }),
                    )
            })
            .workers(1)
            .on_connect(jwt_actix::on_connect)
            .listen_rustls_0_23(listener, config)
            .expect("listen")
            .disable_signals()
            .run();
            handle_tx.send(server.handle()).expect("handle");
            server.await.expect("actix server");
        });
    });
    let handle = handle_rx.recv().expect("actix handle");
    Running {
        name: "actix-web",
        addr,
        stop: Stop::Actix(handle, thread),
    }
}

/// One request to each server: the same answer everywhere, which is returned.
async fn everywhere(
    servers: &[Running],
    client: &reqwest::Client,
    token: &str,
    headers: &[(&str, &str)],
) -> Seen {
    let mut seen: Vec<(&str, Seen)> = Vec::new();
    for server in servers {
        let mut req = client
            .get(format!("https://localhost:{}/me", server.addr.port()))
            .bearer_auth(token);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", server.name));
        let status = res.status().as_u16();
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.text().await.unwrap();
        seen.push((
            server.name,
            Seen {
                status,
                challenge,
                body,
            },
        ));
    }
    let (first, answer) = seen.remove(0);
    for (name, other) in &seen {
        assert_eq!(other, &answer, "{name} differs from {first}");
    }
    answer
}

fn refused(description: &str) -> Option<String> {
    Some(format!(
        r#"Bearer realm="api", error="invalid_token", error_description="{description}""#
    ))
}

fn allowed(seen: &Seen, user: &str) {
    assert_eq!((seen.status, seen.body.as_str()), (200, user), "{seen:?}");
}

async fn stop(servers: Vec<Running>) {
    for server in servers {
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_bound_tokens_over_real_tls_on_every_adapter() {
    let pki = Pki::new(&["agent-a", "agent-b"]);
    let (a, b) = (&pki.clients[0], &pki.clients[1]);
    let servers = start_all(&engine(Mtls::if_bound()), &tls(&pki)).await;
    let (with_a, with_b, none) = (pki.client(Some(a)), pki.client(Some(b)), pki.client(None));
    let bound = bound_to(a);

    allowed(&everywhere(&servers, &with_a, &bound, &[]).await, "agent-1");
    let mismatch = everywhere(&servers, &with_b, &bound, &[]).await;
    assert_eq!(mismatch.status, 401);
    assert_eq!(mismatch.challenge, refused("client certificate mismatch"));
    let missing = everywhere(&servers, &none, &bound, &[]).await;
    assert_eq!(missing.challenge, refused("client certificate required"));
    // if-bound: an unbound token needs no certificate.
    allowed(
        &everywhere(&servers, &none, &token(None), &[]).await,
        "agent-1",
    );
    // Bound to a DPoP key as well, with no DPoP configured: refused whatever is presented.
    let both = token(Some(json!({
        "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        "x5t#S256": certificate_thumbprint(&a.der),
    })));
    let double = everywhere(&servers, &with_a, &both, &[]).await;
    assert_eq!(double.status, 401);
    assert_eq!(
        double.challenge,
        refused("sender-constrained token sent as bearer")
    );
    for (binding, description) in [
        ("not-a-thumbprint", "invalid claim"),
        ("", "sender-constrained token sent as bearer"),
    ] {
        let malformed = token(Some(json!({"x5t#S256": binding})));
        let seen = everywhere(&servers, &with_a, &malformed, &[]).await;
        assert_eq!(seen.status, 401, "{binding:?}: {seen:?}");
        assert_eq!(seen.challenge, refused(description), "{binding:?}");
    }
    stop(servers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_required_mode_on_every_adapter() {
    let pki = Pki::new(&["agent-a"]);
    let a = &pki.clients[0];
    let servers = start_all(&engine(Mtls::required()), &tls(&pki)).await;
    let with_a = pki.client(Some(a));
    allowed(
        &everywhere(&servers, &with_a, &bound_to(a), &[]).await,
        "agent-1",
    );
    let unbound = everywhere(&servers, &with_a, &token(None), &[]).await;
    assert_eq!(unbound.status, 401);
    assert_eq!(
        unbound.challenge,
        refused("certificate-bound token required")
    );
    stop(servers).await;
}

fn hex_sha256(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The peer address reaches the engine through every adapter: a proxy header counts from a
/// listed peer (127.0.0.1 here), is ignored from any other, and is refused when sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_proxy_header_only_from_a_listed_peer_on_every_adapter() {
    let pki = Pki::new(&["agent-a"]);
    let a = &pki.clients[0];
    let bound = bound_to(a);
    let xfcc = format!("By=spiffe://api;Hash={}", hex_sha256(&a.der));
    // The proxy itself connects without a client certificate.
    let proxy = pki.client(None);

    let trusted = Mtls::if_bound()
        .trusted_proxy(CertHeader::EnvoyXfcc, ["127.0.0.1"])
        .unwrap();
    let servers = start_all(&engine(trusted), &tls(&pki)).await;
    let header = [("x-forwarded-client-cert", xfcc.as_str())];
    allowed(
        &everywhere(&servers, &proxy, &bound, &header).await,
        "agent-1",
    );
    let other = format!("Hash={}", hex_sha256(b"another certificate"));
    let mismatch = [("x-forwarded-client-cert", other.as_str())];
    let seen = everywhere(&servers, &proxy, &bound, &mismatch).await;
    assert_eq!(seen.challenge, refused("client certificate mismatch"));
    let twice = [header[0], header[0]];
    let seen = everywhere(&servers, &proxy, &bound, &twice).await;
    assert_eq!(seen.status, 400, "{seen:?}");
    assert!(
        seen.challenge
            .as_deref()
            .is_some_and(|c| c.contains(r#"error="invalid_request""#)),
        "{seen:?}"
    );
    stop(servers).await;

    let elsewhere = Mtls::if_bound()
        .trusted_proxy(CertHeader::EnvoyXfcc, ["10.0.0.0/8"])
        .unwrap();
    let servers = start_all(&engine(elsewhere), &tls(&pki)).await;
    let seen = everywhere(&servers, &proxy, &bound, &header).await;
    assert_eq!(seen.challenge, refused("client certificate required"));
    stop(servers).await;
}

/// The real OpenID provider binds a token to the certificate its client authenticated with on
/// its mutual TLS endpoint (`tls_client_auth`); that client calls every adapter over mutual TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_oidc_provider_bound_tokens_through_every_adapter() {
    use crate::oidc_provider::{AUDIENCE, Provider, free_port};
    let pki = Pki::new(&["mtls-agent", "someone-else"]);
    let dir = std::env::temp_dir().join(format!("jwt-rbac-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (cert, key, ca) = (
        file("server.pem", &pki.server.cert_pem),
        file("server.key", &pki.server.key_pem),
        file("ca.pem", &pki.ca_pem),
    );
    let mtls_port = free_port().to_string();
    let env = [
        ("MTLS_PORT", mtls_port.as_str()),
        ("MTLS_CERT", cert.as_str()),
        ("MTLS_KEY", key.as_str()),
        ("MTLS_CA", ca.as_str()),
    ];
    let Some(idp) = tokio::task::block_in_place(|| Provider::start_with("ES256", &env)) else {
        return;
    };
    let agent = pki.client(Some(&pki.clients[0]));
    let text = agent
        .post(format!("https://localhost:{mtls_port}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=mtls-agent&scope=agents%3Aread")
        .send()
        .await
        .expect("token request")
        .text()
        .await
        .expect("token response");
    let answer: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    let token = answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(answer["token_type"], "Bearer", "{answer}");
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .expect("base64url"),
    )
    .expect("claims");
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        certificate_thumbprint(&pki.clients[0].der),
        "bound to the certificate the client authenticated with"
    );

    let auth = JwtAuth::builder()
        .verifier(
            jwt_core::RemoteJwks::discovery_builder(&idp.issuer)
                .build()
                .expect("discovery"),
        )
        .issuer(&idp.issuer)
        .audience(AUDIENCE)
        .mtls(Mtls::if_bound())
        .claims(jwt_core::StandardClaims::default().user_id_claim("client_id"))
        .build()
        .expect("auth");
    let servers = start_all(&auth, &tls(&pki)).await;
    allowed(
        &everywhere(&servers, &agent, token, &[]).await,
        "mtls-agent",
    );
    let other = pki.client(Some(&pki.clients[1]));
    let seen = everywhere(&servers, &other, token, &[]).await;
    assert_eq!(seen.challenge, refused("client certificate mismatch"));
    let seen = everywhere(&servers, &pki.client(None), token, &[]).await;
    assert_eq!(seen.challenge, refused("client certificate required"));
    stop(servers).await;
    let _ = std::fs::remove_dir_all(&dir);
}
