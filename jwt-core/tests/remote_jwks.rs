//! Remote JWKS behaviour against a small JWKS server of our own (hand-written HTTP/1.1 on a tokio
//! `TcpListener` on 127.0.0.1): caching, rotation, outages and stale keys, slow and hostile
//! endpoints, the unknown-`kid` flood, key selection, discovery and several issuers. Every fetch
//! is counted on the server side.

#![cfg(feature = "remote-jwks")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_core::{
    Algorithm, AuthErrorKind, EncodingKey, FetchError, InvalidToken, Issuers, JwtAuth,
    RemoteConfigError, RemoteJwks, RemoteJwksBuilder, SimpleRequest, Verifier, VerifyError, mint,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------------
// A JWKS / discovery server we control.

#[derive(Clone)]
enum Reply {
    /// 200 with `Content-Length` and extra headers.
    Json(Vec<u8>, Vec<(&'static str, String)>),
    /// 200 without `Content-Length`: the body ends when the connection closes.
    Unsized(Vec<u8>),
    Status(u16),
    Redirect(String),
    Slow(Duration, Box<Reply>),
}

#[derive(Default)]
struct ServerState {
    routes: HashMap<String, Reply>,
    hits: HashMap<String, usize>,
    requests_with_cookie: usize,
}

struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), Arc::default()).await
    }

    async fn start_on(addr: SocketAddr, state: Arc<Mutex<ServerState>>) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(addr).unwrap();
        let listener = socket.listen(128).unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Self {
            addr,
            state,
            accept: Mutex::new(Some(accept)),
        }
    }

    /// Closes the listener: connections are refused from now on (the provider is down).
    async fn stop(&self) {
        let task = self.accept.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same address with the same routes and counters.
    async fn restart(&self) -> Self {
        self.stop().await;
        Self::start_on(self.addr, Arc::clone(&self.state)).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn set(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), reply);
    }

    fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<ServerState>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve(stream, Arc::clone(&state)));
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<ServerState>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let cookie = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("cookie:"));
    let mut reply = {
        let mut st = state.lock().unwrap();
        *st.hits.entry(path.clone()).or_default() += 1;
        if cookie {
            st.requests_with_cookie += 1;
        }
        st.routes.get(&path).cloned().unwrap_or(Reply::Status(404))
    };
    while let Reply::Slow(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    let (head, body) = match reply {
        Reply::Json(body, extra) => {
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in extra {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            (head, body)
        }
        Reply::Unsized(body) => (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n".into(),
            body,
        ),
        Reply::Status(code) => (
            format!("HTTP/1.1 {code} Status\r\nContent-Length: 0\r\nConnection: close\r\n"),
            Vec::new(),
        ),
        Reply::Redirect(to) => (
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n"
            ),
            Vec::new(),
        ),
        Reply::Slow(..) => unreachable!(),
    };
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(b"\r\n").await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens.

struct TestKey {
    kid: String,
    alg: Algorithm,
    signing: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            signing: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": x, "alg": "EdDSA", "use": "sig"}),
        }
    }

    fn p256(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    /// The fixture RSA key whose public JWK (kid `rsa-2`, RS256) is committed.
    fn rsa() -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let pem = std::fs::read(dir.join("rsa2048b.key")).unwrap();
        let jwk: Value =
            serde_json::from_slice(&std::fs::read(dir.join("rsa2048b.jwk.json")).unwrap()).unwrap();
        Self {
            kid: "rsa-2".into(),
            alg: Algorithm::RS256,
            signing: EncodingKey::from_rsa_pem(&pem).unwrap(),
            jwk,
        }
    }

    fn with_jwk(mut self, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Self {
        edit(self.jwk.as_object_mut().unwrap());
        self
    }

    fn token(&self) -> String {
        self.token_with(&claims(), Some(&self.kid))
    }

    fn token_with(&self, claims: &Value, kid: Option<&str>) -> String {
        mint::sign(self.alg, &self.signing, kid, Some("JWT"), claims).unwrap()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Value {
    json!({"sub": "alice", "exp": now() + 600, "scopes": ["agents:read"]})
}

fn jwks(keys: &[&TestKey]) -> Reply {
    let keys: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
    Reply::Json(json!({ "keys": keys }).to_string().into_bytes(), Vec::new())
}

/// Test-sized settings: short backoff and cooldown, no waiting minutes.
fn quick(url: String) -> RemoteJwksBuilder {
    RemoteJwks::builder(url)
        .backoff(Duration::from_millis(50), Duration::from_millis(200))
        .unknown_kid_cooldown(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(1))
}

fn unknown_key() -> VerifyError {
    VerifyError::Invalid(InvalidToken::UnknownKey)
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn jwks_fetched_once_then_served_from_cache() {
    let (ed, ec, rsa) = (
        TestKey::ed25519("ed-1"),
        TestKey::p256("ec-1"),
        TestKey::rsa(),
    );
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&ed, &ec, &rsa]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    for _ in 0..50 {
        for key in [&ed, &ec, &rsa] {
            let verified = keys.verify(&key.token()).await.unwrap();
            assert_eq!(verified.claims["sub"], "alice");
        }
    }
    // No kid: the one key of the token's algorithm (RFC 8725 / jose's rule).
    assert!(keys.verify(&ed.token_with(&claims(), None)).await.is_ok());
    assert_eq!(server.hits("/jwks"), 1, "151 verifications, one fetch");

    let status = keys.status();
    assert!(status.fresh && status.usable, "{status:?}");
    assert_eq!(
        (status.keys, status.fetches_ok, status.fetches_failed),
        (3, 1, 0)
    );
    assert_eq!(status.ttl, Some(jwt_core::DEFAULT_CACHE_TTL));

    // Through the engine as any verifier.
    let auth = JwtAuth::builder().verifier(keys).build().unwrap();
    let bearer = format!("Bearer {}", ec.token());
    let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
    assert!(auth.authenticate(&req).await.is_ok());
}

#[tokio::test]
async fn jwks_never_fetched_is_503_not_401() {
    let key = TestKey::ed25519("k1");
    // Nothing listens on this port.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let keys = quick(format!("http://{dead}/jwks")).build().unwrap();
    assert_eq!(
        keys.verify(&key.token()).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert!(matches!(
        keys.status().last_error,
        Some(FetchError::Connect(_))
    ));
    // A malformed token is still a 401: no fetch is needed to refuse it.
    assert_eq!(
        keys.verify("not-a-jwt").await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::Malformed)
    );

    // The engine renders it as 503 without WWW-Authenticate.
    let auth = JwtAuth::builder().verifier(keys.clone()).build().unwrap();
    let bearer = format!("Bearer {}", key.token());
    let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
    let err = auth.authenticate(&req).await.unwrap_err();
    assert_eq!(err.kind(), &AuthErrorKind::Unavailable);
    assert_eq!((err.status(), err.www_authenticate_value()), (503, None));

    // A server error is no better than no server.
    let server = Server::start().await;
    server.set("/jwks", Reply::Status(500));
    let keys = quick(server.url("/jwks")).build().unwrap();
    assert_eq!(
        keys.verify(&key.token()).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert_eq!(keys.status().last_error, Some(FetchError::Status(500)));
    // While backing off, requests are answered at once, without another fetch.
    let before = server.hits("/jwks");
    let started = Instant::now();
    let _ = keys.verify(&key.token()).await;
    assert!(started.elapsed() < Duration::from_millis(40) || server.hits("/jwks") > before);
}

#[tokio::test]
async fn jwks_garbage_oversized_and_hostile_documents_are_refused() {
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    let padded = |size: usize| {
        let mut doc = json!({"keys": [key.jwk.clone()], "pad": ""});
        doc["pad"] = Value::String("x".repeat(size));
        doc.to_string().into_bytes()
    };
    let many: Vec<Value> = (0..101)
        .map(|i| {
            let mut jwk = key.jwk.clone();
            jwk["kid"] = json!(format!("k{i}"));
            jwk
        })
        .collect();
    let private = key
        .jwk
        .clone()
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .chain([(
            "d".to_owned(),
            json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"),
        )])
        .collect::<serde_json::Map<_, _>>();
    type Expect = fn(&FetchError) -> bool;
    let cases: Vec<(&str, Reply, Expect)> = vec![
        ("/html", Reply::Json(b"<html>hello</html>".to_vec(), vec![]), |e| {
            matches!(e, FetchError::InvalidDocument(_))
        }),
        ("/no-keys", Reply::Json(br#"{"keys":"none"}"#.to_vec(), vec![]), |e| {
            matches!(e, FetchError::InvalidDocument(_))
        }),
        ("/dup-member", Reply::Json(br#"{"keys":[],"keys":[]}"#.to_vec(), vec![]), |e| {
            matches!(e, FetchError::InvalidDocument(_))
        }),
        ("/big", Reply::Json(padded(70 * 1024), vec![]), |e| {
            matches!(e, FetchError::TooLarge { limit: 65536 })
        }),
        ("/big-unsized", Reply::Unsized(padded(70 * 1024)), |e| {
            matches!(e, FetchError::TooLarge { limit: 65536 })
        }),
        ("/many", Reply::Json(json!({ "keys": many }).to_string().into_bytes(), vec![]), |e| {
            matches!(e, FetchError::TooManyKeys { count: 101, limit: 100 })
        }),
        ("/private", Reply::Json(json!({ "keys": [private] }).to_string().into_bytes(), vec![]), |e| {
            matches!(e, FetchError::InvalidDocument(_))
        }),
        ("/oct", Reply::Json(br#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}"#.to_vec(), vec![]), |e| {
            *e == FetchError::NoUsableKeys
        }),
    ];
    for (path, reply, expected) in cases {
        server.set(path, reply);
        let keys = quick(server.url(path)).build().unwrap();
        let err = keys.refresh().await.unwrap_err();
        assert!(expected(&err), "{path}: {err:?}");
        assert_eq!(
            keys.verify(&key.token()).await.unwrap_err(),
            VerifyError::Unavailable,
            "{path}"
        );
    }
    // Just under the limit is fine.
    server.set("/fits", Reply::Json(padded(60 * 1024), vec![]));
    assert!(
        quick(server.url("/fits"))
            .build()
            .unwrap()
            .refresh()
            .await
            .is_ok()
    );

    // With a good set cached, garbage later on changes nothing: the last good keys are served.
    server.set("/jwks", jwks(&[&key]));
    let keys = quick(server.url("/jwks"))
        .cache_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    assert!(keys.verify(&key.token()).await.is_ok());
    server.set("/jwks", Reply::Json(b"garbage".to_vec(), vec![]));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(keys.verify(&key.token()).await.is_ok());
    let status = keys.status();
    assert!(
        !status.fresh && status.usable && status.consecutive_failures >= 1,
        "{status:?}"
    );
    assert_eq!(status.kids, ["k1"]);
}

#[tokio::test]
async fn jwks_rotation_new_kid_picked_up_without_restart() {
    let (old, new) = (TestKey::ed25519("2026-01"), TestKey::p256("2026-02"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&old]));
    let cooldown = Duration::from_millis(500);
    let keys = quick(server.url("/jwks"))
        .unknown_kid_cooldown(cooldown)
        .build()
        .unwrap();
    assert!(keys.verify(&old.token()).await.is_ok());
    assert_eq!(server.hits("/jwks"), 1);

    // The provider publishes a new key and starts signing with it.
    server.set("/jwks", jwks(&[&old, &new]));
    let rotated = Instant::now();
    let token = new.token();
    let mut refused = 0;
    loop {
        match keys.verify(&token).await {
            Ok(_) => break,
            Err(e) => {
                // The new key is also a new algorithm (EdDSA -> ES256): refused either way until
                // the refetch.
                assert!(
                    e == unknown_key()
                        || e == VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed),
                    "{e:?}"
                );
                refused += 1;
                assert!(rotated.elapsed() < cooldown * 6, "rotation not picked up");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let took = rotated.elapsed();
    eprintln!(
        "jwks rotation: new kid accepted {took:?} after it was published ({refused} refusals, cooldown {cooldown:?})"
    );
    assert!(took <= cooldown + Duration::from_millis(400), "{took:?}");
    assert_eq!(server.hits("/jwks"), 2, "one refetch for the new kid");

    // The old key is withdrawn: once refetched, its tokens are refused and the new ones pass.
    server.set("/jwks", jwks(&[&new]));
    keys.refresh().await.unwrap();
    assert_eq!(
        keys.verify(&old.token()).await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed),
        "no EdDSA key any more"
    );
    assert!(keys.verify(&token).await.is_ok());
    assert_eq!(keys.status().kids, ["2026-02"]);

    // Outside the cooldown, the very first token signed by a newly published key is accepted:
    // its request waits for the one refetch.
    let next = TestKey::ed25519("2026-03");
    server.set("/jwks", jwks(&[&new, &next]));
    tokio::time::sleep(cooldown).await;
    let started = Instant::now();
    assert!(keys.verify(&next.token()).await.is_ok());
    eprintln!(
        "jwks rotation outside the cooldown: first token with the new kid accepted in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn jwks_background_refresh_ahead_and_stop_on_drop() {
    let (k1, k2) = (TestKey::ed25519("k1"), TestKey::ed25519("k2"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&k1]));
    let keys = quick(server.url("/jwks"))
        .cache_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    // Built inside a runtime: the first fetch starts without waiting for a request.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.hits("/jwks"), 1);
    assert!(keys.status().fresh);

    // Refresh-ahead (half the 1 s lifetime here) picks up the new set with no request at all.
    server.set("/jwks", jwks(&[&k2]));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(server.hits("/jwks") >= 2);
    assert_eq!(keys.status().kids, ["k2"]);
    let before = server.hits("/jwks");
    assert!(keys.verify(&k2.token()).await.is_ok());
    assert_eq!(keys.verify(&k1.token()).await.unwrap_err(), unknown_key());
    assert!(server.hits("/jwks") <= before + 1);

    // Dropping the verifier (every clone) stops the background task.
    let clone = keys.clone();
    drop(keys);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        server.hits("/jwks") > before,
        "still refreshing while a clone lives"
    );
    drop(clone);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let at_drop = server.hits("/jwks");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.hits("/jwks"), at_drop, "no fetch after drop");
}

#[tokio::test]
async fn jwks_provider_down_stale_keys_work_then_expire() {
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&key]));
    let keys = quick(server.url("/jwks"))
        .cache_ttl(Duration::from_secs(1))
        .max_stale(Duration::from_secs(2))
        .build()
        .unwrap();
    let token = key.token();
    assert!(keys.verify(&token).await.is_ok());
    let fetched = Instant::now();

    server.stop().await;
    // Expired but within max_stale: still served, and nobody waits on the dead provider.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    assert!(keys.verify(&token).await.is_ok());
    assert!(started.elapsed() < Duration::from_millis(200));
    let status = keys.status();
    assert!(
        !status.fresh && status.usable && status.fetches_failed >= 1,
        "{status:?}"
    );

    // Past ttl + max_stale: no keys any more, so 503 (not 401, not a pass).
    tokio::time::sleep(
        (fetched + Duration::from_millis(3300)).saturating_duration_since(Instant::now()),
    )
    .await;
    assert_eq!(
        keys.verify(&token).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert!(!keys.status().usable);

    // The provider comes back: recovered without restarting anything.
    let _server = server.restart().await;
    let back = Instant::now();
    while keys.verify(&token).await.is_err() {
        assert!(back.elapsed() < Duration::from_secs(3), "did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn jwks_slow_endpoint_times_out_and_requests_are_not_blocked() {
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&key]));
    let timeout = Duration::from_millis(800);
    let keys = quick(server.url("/jwks"))
        .timeout(timeout)
        .cache_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    let token = key.token();
    assert!(keys.verify(&token).await.is_ok());

    // The endpoint hangs for 5 s; the background refresh times out, requests carry on.
    server.set(
        "/jwks",
        Reply::Slow(Duration::from_secs(5), Box::new(jwks(&[&key]))),
    );
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_millis(2500) {
        let t = Instant::now();
        assert!(keys.verify(&token).await.is_ok());
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("jwks slow endpoint: slowest request {slowest:?} while fetches hang");
    assert!(slowest < Duration::from_millis(300), "{slowest:?}");
    let status = keys.status();
    assert_eq!(status.last_error, Some(FetchError::Timeout), "{status:?}");
    assert!(status.fetches_failed >= 1);

    // With nothing cached, the first request waits for one bounded fetch, then gets 503.
    let cold = quick(server.url("/jwks")).timeout(timeout).build().unwrap();
    let t = Instant::now();
    assert_eq!(
        cold.verify(&token).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert!(
        t.elapsed() < timeout * 2 + Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_unknown_kid_flood_causes_at_most_one_fetch_per_cooldown() {
    let (known, attacker) = (TestKey::ed25519("known"), TestKey::ed25519("attacker"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&known]));
    let cooldown = Duration::from_secs(1);
    let keys = quick(server.url("/jwks"))
        .unknown_kid_cooldown(cooldown)
        .build()
        .unwrap();
    assert!(keys.verify(&known.token()).await.is_ok());
    let flood: Arc<Vec<String>> = Arc::new(
        (0..1000)
            .map(|i| attacker.token_with(&claims(), Some(&format!("flood-{i}"))))
            .collect(),
    );
    let run = |keys: RemoteJwks, flood: Arc<Vec<String>>| async move {
        let started = Instant::now();
        let tasks: Vec<_> = (0..flood.len())
            .map(|i| {
                let (keys, flood) = (keys.clone(), Arc::clone(&flood));
                tokio::spawn(async move { keys.verify(&flood[i]).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap_err(), unknown_key());
        }
        started.elapsed()
    };

    tokio::time::sleep(cooldown + Duration::from_millis(100)).await;
    let before = server.hits("/jwks");
    let took = run(keys.clone(), Arc::clone(&flood)).await;
    let first = server.hits("/jwks") - before;
    let took_again = run(keys.clone(), Arc::clone(&flood)).await;
    let second = server.hits("/jwks") - before - first;
    eprintln!(
        "jwks unknown-kid flood: 1000 tokens -> {first} fetch(es) in {took:?}; again at once -> {second} fetch(es) in {took_again:?}"
    );
    assert_eq!(first, 1, "one single-flight refetch for the whole flood");
    assert_eq!(second, 0, "cooldown: no refetch");

    // Next cooldown window: again exactly one.
    tokio::time::sleep(cooldown + Duration::from_millis(100)).await;
    let before = server.hits("/jwks");
    run(keys.clone(), flood).await;
    assert_eq!(server.hits("/jwks") - before, 1);
    // The real key still works throughout.
    assert!(keys.verify(&known.token()).await.is_ok());
}

#[tokio::test]
async fn jwks_redirects_not_followed_and_no_cookies_sent() {
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    server.set("/moved", Reply::Redirect(server.url("/real")));
    server.set("/real", jwks(&[&key]));
    let keys = quick(server.url("/moved")).build().unwrap();
    assert_eq!(
        keys.verify(&key.token()).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert_eq!(keys.status().last_error, Some(FetchError::Redirect(302)));
    assert_eq!(server.hits("/real"), 0);

    let Reply::Json(body, _) = jwks(&[&key]) else {
        unreachable!()
    };
    server.set(
        "/cookie",
        Reply::Json(body, vec![("Set-Cookie", "session=abc; Path=/".into())]),
    );
    let keys = quick(server.url("/cookie")).build().unwrap();
    for _ in 0..3 {
        keys.refresh().await.unwrap();
    }
    assert_eq!(server.hits("/cookie"), 3);
    assert_eq!(server.state.lock().unwrap().requests_with_cookie, 0);
}

#[tokio::test]
async fn jwks_key_selection_respects_alg_use_key_ops_and_duplicate_kids() {
    let sig = TestKey::ed25519("sig");
    let enc = TestKey::ed25519("enc").with_jwk(|j| {
        j.insert("use".into(), json!("enc"));
    });
    let sign_only = TestKey::ed25519("sign-only").with_jwk(|j| {
        j.remove("use");
        j.insert("key_ops".into(), json!(["sign"]));
    });
    let verify_op = TestKey::ed25519("verify-op").with_jwk(|j| {
        j.remove("use");
        j.insert("key_ops".into(), json!(["verify"]));
    });
    let wrong_alg = TestKey::p256("wrong-alg").with_jwk(|j| {
        j.insert("alg".into(), json!("ES384"));
    });
    let dup_a = TestKey::ed25519("dup");
    let dup_b = TestKey::ed25519("dup");
    let rsa = TestKey::rsa();
    let server = Server::start().await;
    server.set(
        "/jwks",
        jwks(&[
            &sig, &enc, &sign_only, &verify_op, &wrong_alg, &dup_a, &dup_b, &rsa,
        ]),
    );
    let keys = quick(server.url("/jwks")).build().unwrap();
    keys.refresh().await.unwrap();
    let mut kids = keys.status().kids;
    kids.sort();
    assert_eq!(
        kids,
        ["dup", "dup", "rsa-2", "sig", "verify-op"],
        "unusable keys skipped"
    );

    assert!(keys.verify(&sig.token()).await.is_ok());
    assert!(keys.verify(&verify_op.token()).await.is_ok());
    assert!(keys.verify(&rsa.token()).await.is_ok());
    for skipped in [&enc, &sign_only] {
        assert_eq!(
            keys.verify(&skipped.token()).await.unwrap_err(),
            unknown_key()
        );
    }
    // ES256 is nobody's algorithm here (the P-256 key claimed ES384 and was skipped).
    assert_eq!(
        keys.verify(&wrong_alg.token()).await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed)
    );
    // A kid two keys share is ambiguous: neither key is used.
    assert_eq!(
        keys.verify(&dup_a.token()).await.unwrap_err(),
        unknown_key()
    );
    // The RSA key is bound to its `alg` (RS256): a PS256 token under its kid is refused.
    let pss = mint::sign(
        Algorithm::PS256,
        &rsa.signing,
        Some("rsa-2"),
        None,
        &claims(),
    )
    .unwrap();
    assert_eq!(
        keys.verify(&pss).await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed)
    );
    // Without kid, several EdDSA keys: no guessing.
    assert_eq!(
        keys.verify(&sig.token_with(&claims(), None))
            .await
            .unwrap_err(),
        unknown_key()
    );
}

#[tokio::test]
async fn jwks_cache_control_max_age_is_honoured_within_bounds() {
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    let Reply::Json(body, _) = jwks(&[&key]) else {
        unreachable!()
    };
    let cases = [
        ("/plain", None, 600),
        ("/short", Some("public, max-age=1"), 60),
        ("/five-min", Some("max-age=300, must-revalidate"), 300),
        ("/year", Some("max-age=31536000"), 24 * 3600),
        ("/no-store", Some("no-store"), 60),
    ];
    for (path, header, expected) in cases {
        let extra = header
            .map(|h| vec![("Cache-Control", h.to_owned())])
            .unwrap_or_default();
        server.set(path, Reply::Json(body.clone(), extra));
        let keys = quick(server.url(path)).build().unwrap();
        keys.refresh().await.unwrap();
        assert_eq!(
            keys.status().ttl,
            Some(Duration::from_secs(expected)),
            "{path}"
        );
    }
    let ignoring = quick(server.url("/short"))
        .honor_cache_control(false)
        .cache_ttl(Duration::from_secs(42))
        .build()
        .unwrap();
    ignoring.refresh().await.unwrap();
    assert_eq!(ignoring.status().ttl, Some(Duration::from_secs(42)));
}

#[tokio::test]
async fn jwks_discovery_rfc8414_fallback_and_issuer_checks() {
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    let issuer = server.url("/tenant");
    let doc = |issuer: &str, jwks_uri: &str| {
        Reply::Json(
            json!({"issuer": issuer, "jwks_uri": jwks_uri, "token_endpoint": format!("{issuer}/token")})
                .to_string()
                .into_bytes(),
            vec![],
        )
    };
    // Only RFC 8414's path-inserted form exists; the OIDC form answers 404.
    server.set(
        "/.well-known/oauth-authorization-server/tenant",
        doc(&issuer, &server.url("/tenant/keys")),
    );
    server.set("/tenant/keys", jwks(&[&key]));
    let keys = RemoteJwks::discovery_builder(&issuer)
        .backoff(Duration::from_millis(50), Duration::from_millis(200))
        .build()
        .unwrap();
    let mine = key.token_with(&json!({"iss": issuer, "exp": now() + 60}), Some("k1"));
    let verified = keys.verify(&mine).await.unwrap();
    assert_eq!(verified.claims["iss"], issuer.as_str());
    assert_eq!(server.hits("/tenant/.well-known/openid-configuration"), 1);
    assert_eq!(
        server.hits("/.well-known/oauth-authorization-server/tenant"),
        1
    );
    assert_eq!(keys.status().jwks_url, Some(server.url("/tenant/keys")));

    // The keys verify, but `iss` names someone else (or nobody): refused.
    for claims in [
        json!({"iss": "https://other.example", "exp": now() + 60}),
        json!({"exp": now() + 60}),
    ] {
        assert_eq!(
            keys.verify(&key.token_with(&claims, Some("k1")))
                .await
                .unwrap_err(),
            VerifyError::Invalid(InvalidToken::InvalidIssuer)
        );
    }

    // A document for another issuer, or pointing at a plain-http non-loopback JWKS: never used.
    server.set(
        "/t2/.well-known/openid-configuration",
        doc("https://other.example", &server.url("/tenant/keys")),
    );
    let wrong = RemoteJwks::discover(server.url("/t2")).unwrap();
    assert!(matches!(
        wrong.refresh().await,
        Err(FetchError::IssuerMismatch { .. })
    ));
    server.set(
        "/t3/.well-known/openid-configuration",
        doc(&server.url("/t3"), "http://keys.example.com/jwks"),
    );
    let insecure = RemoteJwks::discover(server.url("/t3")).unwrap();
    assert!(matches!(
        insecure.refresh().await,
        Err(FetchError::BadJwksUri(_))
    ));
    assert_eq!(
        insecure.verify(&mine).await.unwrap_err(),
        VerifyError::Unavailable
    );
}

#[tokio::test]
async fn jwks_several_issuers_each_with_its_own_keys() {
    let (a_key, b_key) = (TestKey::ed25519("a-1"), TestKey::ed25519("b-1"));
    let server = Server::start().await;
    server.set("/a/jwks", jwks(&[&a_key]));
    server.set("/b/jwks", jwks(&[&b_key]));
    let (a, b) = ("https://a.example", "https://b.example");
    let issuers = Issuers::new()
        .with(a, quick(server.url("/a/jwks")).build().unwrap())
        .unwrap()
        .with(b, quick(server.url("/b/jwks")).issuer(b).build().unwrap())
        .unwrap();
    let token = |key: &TestKey, iss: &str, kid: &str| {
        key.token_with(
            &json!({"iss": iss, "sub": "s", "exp": now() + 60}),
            Some(kid),
        )
    };
    assert!(issuers.verify(&token(&a_key, a, "a-1")).await.is_ok());
    assert!(issuers.verify(&token(&b_key, b, "b-1")).await.is_ok());

    // Claims A, signed with B's key: A's keys do not know it (one bounded refetch at most).
    assert_eq!(
        issuers.verify(&token(&b_key, a, "b-1")).await.unwrap_err(),
        unknown_key()
    );
    // Claims A, signed with B's key under A's kid: A's key does not verify it.
    assert_eq!(
        issuers.verify(&token(&b_key, a, "a-1")).await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::BadSignature)
    );
    // Unknown or missing issuer: refused without touching anyone's keys.
    let before = (server.hits("/a/jwks"), server.hits("/b/jwks"));
    assert_eq!(
        issuers
            .verify(&token(&a_key, "https://c.example", "a-1"))
            .await
            .unwrap_err(),
        VerifyError::Invalid(InvalidToken::InvalidIssuer)
    );
    let no_iss = a_key.token_with(&json!({"sub": "s", "exp": now() + 60}), Some("a-1"));
    assert_eq!(
        issuers.verify(&no_iss).await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::MissingClaim("iss".into()))
    );
    assert_eq!((server.hits("/a/jwks"), server.hits("/b/jwks")), before);

    assert!(matches!(
        Issuers::new()
            .with(a, quick(server.url("/a/jwks")).build().unwrap())
            .unwrap()
            .with(a, quick(server.url("/b/jwks")).build().unwrap()),
        Err(RemoteConfigError::DuplicateIssuer(_))
    ));
}

#[test]
fn jwks_configuration_errors_are_typed() {
    assert!(matches!(
        RemoteJwks::new("http://idp.example.com/jwks"),
        Err(RemoteConfigError::InsecureUrl { .. })
    ));
    assert!(matches!(
        RemoteJwks::discover("http://192.168.1.10"),
        Err(RemoteConfigError::InsecureUrl { .. })
    ));
    assert!(matches!(
        RemoteJwks::new("https://user:secret@idp.example.com/jwks"),
        Err(RemoteConfigError::CredentialsInUrl { .. })
    ));
    assert!(matches!(
        RemoteJwks::new("::not a url::"),
        Err(RemoteConfigError::InvalidUrl { .. })
    ));
    assert!(matches!(
        RemoteJwks::builder("https://idp.example.com/jwks")
            .cache_ttl(Duration::ZERO)
            .build(),
        Err(RemoteConfigError::InvalidSetting {
            setting: "cache_ttl",
            ..
        })
    ));
    assert!(matches!(
        RemoteJwks::builder("https://idp.example.com/jwks")
            .backoff(Duration::from_secs(10), Duration::from_secs(1))
            .build(),
        Err(RemoteConfigError::InvalidSetting {
            setting: "backoff",
            ..
        })
    ));
    // Loopback may be plain http (tests, sidecars); building needs no runtime and no network.
    for ok in [
        "http://127.0.0.1:1/jwks",
        "http://[::1]:1/jwks",
        "http://localhost:1/jwks",
    ] {
        let keys = RemoteJwks::new(ok).unwrap();
        assert!(!keys.status().usable);
    }
}

#[tokio::test]
async fn jwks_engine_follows_key_set_changes_and_expiry() {
    let (a, b) = (TestKey::ed25519("a"), TestKey::ed25519("b"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&a, &b]));
    let keys = quick(server.url("/jwks"))
        .cache_ttl(Duration::from_secs(1))
        .max_stale(Duration::from_secs(1))
        .build()
        .unwrap();
    // The engine's defaults, whatever they cache between requests.
    let auth = JwtAuth::builder().verifier(keys.clone()).build().unwrap();
    let call = |token: String| {
        let auth = auth.clone();
        async move {
            let bearer = format!("Bearer {token}");
            let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
            auth.authenticate(&req)
                .await
                .map(|_| ())
                .map_err(|e| e.status())
        }
    };
    let (token_a, token_b) = (a.token(), b.token());
    for _ in 0..3 {
        assert_eq!(call(token_a.clone()).await, Ok(()));
        assert_eq!(call(token_b.clone()).await, Ok(()));
    }
    // Key `a` is withdrawn: once the new set is fetched, its tokens are refused.
    server.set("/jwks", jwks(&[&b]));
    keys.refresh().await.unwrap();
    assert_eq!(call(token_a.clone()).await, Err(401));
    assert_eq!(call(token_b.clone()).await, Ok(()));
    // The provider goes away for longer than ttl + max_stale: 503, however often the token
    // was accepted before.
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(call(token_b).await, Err(503));
}
