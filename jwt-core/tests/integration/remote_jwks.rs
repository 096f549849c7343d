//! Remote JWKS behaviour against a small JWKS server of our own (hand-written HTTP/1.1 on a tokio
//! `TcpListener` on 127.0.0.1): caching, rotation, outages and stale keys, slow and hostile
//! endpoints, the unknown-`kid` flood, key selection, discovery and several issuers. Every fetch
//! is counted on the server side.
//!
//! Time is virtual: the key source reads tokio's clock, and these tests run with it paused and
//! held still (`support/paused_clock.rs`), so lifetimes, refresh-ahead, cooldown, backoff and timeouts
//! are the real defaults (10 min, 30 s, 30 s, 1 s → 60 s, 5 s) and pass exactly when the test
//! moves the clock, however fast or slow the machine. Nothing here sleeps; the only waiting is
//! for the loopback server and for spawned tasks.

#![cfg(feature = "remote-jwks")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_core::{
    Algorithm, AuthErrorKind, DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_CACHE_TTL,
    DEFAULT_MAX_KEYS, DEFAULT_MAX_STALE, DEFAULT_REFRESH_AHEAD, DEFAULT_TIMEOUT,
    DEFAULT_UNKNOWN_KID_COOLDOWN, EncodingKey, FetchError, InvalidToken, Issuers, JwtAuth,
    RemoteConfigError, RemoteJwks, SimpleRequest, Verifier, VerifyError, mint,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::paused_clock::{hold_clock, ready_now};

const MS: Duration = Duration::from_millis(1);

// ---------------------------------------------------------------------------------------------
// Time.

/// Moves the paused clock forward; timers that fall due fire at the runtime's next turn.
async fn advance(by: Duration) {
    tokio::time::advance(by).await;
}

/// Lets the runtime work (sockets, spawned fetches, fired timers) until `done` holds. The clock
/// does not move meanwhile; the real-time limit only turns a hang into a failure.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done() {
        assert!(
            std::time::Instant::now() < give_up,
            "never happened: {what}"
        );
        tokio::task::yield_now().await;
    }
}

/// Lets anything already under way (a fetch a timer just started, a request in flight) get as
/// far as the server before the test looks at the hit counters: the runtime turns, a request of
/// our own goes round through the server, and the runtime turns again. The clock does not move.
async fn settle(server: &Server) {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    server.ping().await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// `verifier.verify(token)` answered at once (see [`ready_now`]), claims dropped.
fn verify_now(verifier: &impl Verifier, token: &str) -> Option<Result<(), VerifyError>> {
    ready_now(verifier.verify(token)).map(|r| r.map(|_| ()))
}

/// Tasks alive in this runtime.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

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
    /// Never answers; the connection stays open until the client gives up.
    Hang,
    /// Answers once the gate is opened (`true` sent).
    Held(watch::Receiver<bool>, Box<Reply>),
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
        let listener = socket.listen(1024).unwrap();
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

    /// One request of our own through the server (see [`settle`]); nothing if it is down.
    async fn ping(&self) {
        if let Ok(mut stream) = TcpStream::connect(self.addr).await {
            let _ = stream
                .write_all(b"GET /__ping HTTP/1.1\r\nHost: test\r\n\r\n")
                .await;
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
        }
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
    loop {
        match reply {
            Reply::Hang => {
                // Until the client closes the connection.
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                return;
            }
            Reply::Held(mut gate, inner) => {
                let _ = gate.wait_for(|open| *open).await;
                reply = *inner;
            }
            _ => break,
        }
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
        Reply::Hang | Reply::Held(..) => unreachable!(),
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

fn unknown_key() -> VerifyError {
    VerifyError::Invalid(InvalidToken::UnknownKey)
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn jwks_fetched_once_then_served_from_cache() {
    let _clock = hold_clock();
    let (ed, ec, rsa) = (
        TestKey::ed25519("ed-1"),
        TestKey::p256("ec-1"),
        TestKey::rsa(),
    );
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&ed, &ec, &rsa]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    // The first request waits for the first fetch; every later one is answered from the cache
    // at once.
    let verified = keys.verify(&ed.token()).await.unwrap();
    assert_eq!(verified.claims["sub"], "alice");
    for _ in 0..50 {
        for key in [&ed, &ec, &rsa] {
            let verified = ready_now(keys.verify(&key.token())).expect("answered at once");
            assert_eq!(verified.unwrap().claims["sub"], "alice");
        }
    }
    // No kid: the one key of the token's algorithm (RFC 8725 / jose's rule).
    assert_eq!(
        verify_now(&keys, &ed.token_with(&claims(), None)),
        Some(Ok(()))
    );
    settle(&server).await;
    assert_eq!(server.hits("/jwks"), 1, "152 verifications, one fetch");

    let status = keys.status();
    assert!(status.fresh && status.usable, "{status:?}");
    assert_eq!(
        (status.keys, status.fetches_ok, status.fetches_failed),
        (3, 1, 0)
    );
    assert_eq!(status.ttl, Some(DEFAULT_CACHE_TTL));

    // Through the engine as any verifier.
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(keys)
        .build()
        .unwrap();
    let bearer = format!("Bearer {}", ec.token());
    let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
    assert!(auth.authenticate(&req).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn jwks_never_fetched_is_503_not_401() {
    let _clock = hold_clock();
    let key = TestKey::ed25519("k1");
    let token = key.token();
    // Nothing listens on this port.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let keys = RemoteJwks::new(format!("http://{dead}/jwks")).unwrap();
    assert_eq!(
        keys.verify(&token).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert!(matches!(
        keys.status().last_error,
        Some(FetchError::Connect(_))
    ));
    // A malformed token is still a 401, answered at once: no fetch is needed to refuse it.
    assert_eq!(
        verify_now(&keys, "not-a-jwt"),
        Some(Err(VerifyError::Invalid(InvalidToken::Malformed)))
    );

    // The engine renders it as 503 without WWW-Authenticate.
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(keys.clone())
        .build()
        .unwrap();
    let bearer = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", "/x").header("Authorization", &bearer);
    let err = auth.authenticate(&req).await.unwrap_err();
    assert_eq!(err.kind(), &AuthErrorKind::Unavailable);
    assert_eq!((err.status(), err.www_authenticate_value()), (503, None));
    assert_eq!(
        keys.status().fetches_failed,
        1,
        "backing off: no second try"
    );

    // A server error is no better than no server.
    let server = Server::start().await;
    server.set("/jwks", Reply::Status(500));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    assert_eq!(
        keys.verify(&token).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert_eq!(keys.status().last_error, Some(FetchError::Status(500)));
    assert_eq!(server.hits("/jwks"), 1);
    // While backing off (at least half the 1 s first delay), requests are answered at once,
    // without another fetch.
    advance(DEFAULT_BACKOFF_INITIAL / 2 - MS).await;
    for _ in 0..10 {
        assert_eq!(
            verify_now(&keys, &token),
            Some(Err(VerifyError::Unavailable))
        );
    }
    settle(&server).await;
    assert_eq!(server.hits("/jwks"), 1, "no fetch while backing off");
    // Once the delay (at most 1 s) is over, the provider is asked again.
    advance(DEFAULT_BACKOFF_INITIAL / 2 + MS).await;
    assert_eq!(
        keys.verify(&token).await.unwrap_err(),
        VerifyError::Unavailable
    );
    until("the retry", || keys.status().fetches_failed == 2).await;
    settle(&server).await;
    assert_eq!(
        server.hits("/jwks"),
        2,
        "one retry, shared by the refresh and the request"
    );
}

#[tokio::test(start_paused = true)]
async fn jwks_failed_fetches_back_off_exponentially_with_jitter() {
    let _clock = hold_clock();
    let server = Server::start().await;
    server.set("/jwks", Reply::Status(503));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    // Built inside a runtime: the background task fetches at once, and retries on its own.
    until("the first fetch", || keys.status().fetches_failed == 1).await;
    // Retry n waits initial · 2^(n-1), capped at 60 s, times a random factor in [0.5, 1].
    let mut delays = Vec::new();
    for failures in 1..=9u32 {
        let base = (DEFAULT_BACKOFF_INITIAL * 2u32.pow(failures - 1)).min(DEFAULT_BACKOFF_MAX);
        let failed_at = Instant::now();
        advance(base / 2 - MS).await;
        settle(&server).await;
        assert_eq!(
            keys.status().fetches_failed,
            u64::from(failures),
            "retry {failures} came before half its delay ({base:?} / 2)"
        );
        // Walk through [base/2, base] in 20 steps to see when the retry comes.
        let step = base / 40;
        let mut waited = base / 2 - MS;
        while server.hits("/jwks") == failures as usize {
            assert!(waited <= base, "retry {failures} not made within {base:?}");
            advance(step).await;
            waited += step;
            settle(&server).await;
        }
        until("the retry", || {
            keys.status().fetches_failed == u64::from(failures) + 1
        })
        .await;
        assert_eq!(server.hits("/jwks"), failures as usize + 1);
        assert_eq!(keys.status().consecutive_failures, failures + 1);
        delays.push((waited.as_secs_f64() / base.as_secs_f64() * 40.0).round());
        assert!(failed_at.elapsed() >= base / 2);
    }
    // Jitter: the delays, as a share of their base, are not all the same.
    delays.dedup();
    assert!(delays.len() > 1, "no jitter: {delays:?}");
    // A provider that comes back is picked up at the next retry, and the count starts over.
    server.set("/jwks", jwks(&[&TestKey::ed25519("k1")]));
    advance(DEFAULT_BACKOFF_MAX).await;
    until("the recovery", || keys.status().usable).await;
    assert_eq!(keys.status().consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn jwks_garbage_oversized_and_hostile_documents_are_refused() {
    let _clock = hold_clock();
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    let padded = |size: usize| {
        let mut doc = json!({"keys": [key.jwk.clone()], "pad": ""});
        doc["pad"] = Value::String("x".repeat(size));
        doc.to_string().into_bytes()
    };
    let numbered = |n: usize| -> Vec<u8> {
        let keys: Vec<Value> = (0..n)
            .map(|i| {
                let mut jwk = key.jwk.clone();
                jwk["kid"] = json!(format!("k{i}"));
                jwk
            })
            .collect();
        json!({ "keys": keys }).to_string().into_bytes()
    };
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
        ("/many", Reply::Json(numbered(101), vec![]), |e| {
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
        let keys = RemoteJwks::new(server.url(path)).unwrap();
        let err = keys.refresh().await.unwrap_err();
        assert!(expected(&err), "{path}: {err:?}");
        assert_eq!(
            keys.verify(&key.token()).await.unwrap_err(),
            VerifyError::Unavailable,
            "{path}"
        );
    }
    // Just under the limits is fine: 60 KiB, and exactly 100 keys (the one JWK Set limit, the
    // same as for a configured JWKS).
    assert_eq!(DEFAULT_MAX_KEYS, 100);
    server.set("/fits", Reply::Json(padded(60 * 1024), vec![]));
    server.set("/hundred", Reply::Json(numbered(100), vec![]));
    for path in ["/fits", "/hundred"] {
        let keys = RemoteJwks::new(server.url(path)).unwrap();
        assert!(keys.refresh().await.is_ok(), "{path}");
    }

    // With a good set cached, garbage later on changes nothing: the last good keys are served.
    server.set("/jwks", jwks(&[&key]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    assert!(keys.verify(&key.token()).await.is_ok());
    server.set("/jwks", Reply::Json(b"garbage".to_vec(), vec![]));
    // Past the 10 min lifetime: the refresh 30 s before it got garbage.
    advance(DEFAULT_CACHE_TTL).await;
    until("the refresh", || keys.status().fetches_failed >= 1).await;
    assert_eq!(verify_now(&keys, &key.token()), Some(Ok(())));
    let status = keys.status();
    assert!(
        !status.fresh && status.usable && status.consecutive_failures >= 1,
        "{status:?}"
    );
    assert_eq!(status.kids, ["k1"]);
}

#[tokio::test(start_paused = true)]
async fn jwks_rotation_new_kid_picked_up_without_restart() {
    let _clock = hold_clock();
    let (old, new) = (TestKey::ed25519("2026-01"), TestKey::p256("2026-02"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&old]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    assert!(keys.verify(&old.token()).await.is_ok());
    assert_eq!(server.hits("/jwks"), 1);

    // The provider publishes a new key and starts signing with it. The new key is also a new
    // algorithm (EdDSA -> ES256). Within 30 s of the last fetch such tokens are refused at once,
    // without a fetch.
    server.set("/jwks", jwks(&[&old, &new]));
    let token = new.token();
    let refused = Some(Err(VerifyError::Invalid(InvalidToken::AlgorithmNotAllowed)));
    assert_eq!(verify_now(&keys, &token), refused);
    advance(DEFAULT_UNKNOWN_KID_COOLDOWN - MS).await;
    assert_eq!(verify_now(&keys, &token), refused);
    settle(&server).await;
    assert_eq!(server.hits("/jwks"), 1, "no refetch within the cooldown");
    // From 30 s on, the first such token waits for one refetch and is accepted.
    advance(MS).await;
    assert!(keys.verify(&token).await.is_ok());
    assert_eq!(server.hits("/jwks"), 2, "one refetch for the new kid");
    assert_eq!(verify_now(&keys, &token), Some(Ok(())));

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
    advance(DEFAULT_UNKNOWN_KID_COOLDOWN).await;
    assert!(keys.verify(&next.token()).await.is_ok());
    assert_eq!(server.hits("/jwks"), 4);
}

#[tokio::test(start_paused = true)]
async fn jwks_background_refresh_ahead_and_stop_on_drop() {
    let _clock = hold_clock();
    let (k1, k2) = (TestKey::ed25519("k1"), TestKey::ed25519("k2"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&k1]));
    settle(&server).await;
    let tasks_without_verifier = alive_tasks();
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    // Built inside a runtime: the first fetch starts without waiting for a request.
    until("the first fetch", || keys.status().fetches_ok == 1).await;
    assert_eq!(server.hits("/jwks"), 1);
    assert!(keys.status().fresh);

    // Refresh-ahead: 30 s before the 10 min lifetime ends, the new set is fetched with no
    // request at all; not a moment earlier.
    server.set("/jwks", jwks(&[&k2]));
    let ahead = DEFAULT_CACHE_TTL - DEFAULT_REFRESH_AHEAD;
    advance(ahead - MS).await;
    settle(&server).await;
    assert_eq!(server.hits("/jwks"), 1, "refreshed before ttl - 30 s");
    advance(MS).await;
    until("the refresh ahead of expiry", || {
        keys.status().kids == ["k2"]
    })
    .await;
    assert_eq!(server.hits("/jwks"), 2);
    let status = keys.status();
    assert!(
        status.fresh && status.age == Some(Duration::ZERO),
        "{status:?}"
    );
    // Nobody waited: the new key verifies at once, the withdrawn one is refused at once (a
    // fetch just ran, so the unknown-kid cooldown holds).
    assert_eq!(verify_now(&keys, &k2.token()), Some(Ok(())));
    assert_eq!(verify_now(&keys, &k1.token()), Some(Err(unknown_key())));
    settle(&server).await;
    assert_eq!(server.hits("/jwks"), 2);

    // Still refreshing while a clone lives: the next refresh 9 min 30 s after this one.
    let clone = keys.clone();
    drop(keys);
    advance(ahead).await;
    until("the refresh while a clone lives", || {
        clone.status().fetches_ok == 3
    })
    .await;
    assert_eq!(server.hits("/jwks"), 3);

    // Dropping the last clone stops the background task: it ends, and never fetches again.
    drop(clone);
    until("the background task ends", || {
        alive_tasks() <= tasks_without_verifier
    })
    .await;
    advance(Duration::from_secs(24 * 3600)).await;
    settle(&server).await;
    assert_eq!(server.hits("/jwks"), 3, "no fetch after drop");
}

#[tokio::test(start_paused = true)]
async fn jwks_provider_down_stale_keys_work_then_expire() {
    let _clock = hold_clock();
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&key]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    let token = key.token();
    assert!(keys.verify(&token).await.is_ok());
    let fetched = Instant::now();

    server.stop().await;
    // Expired (10 min) but within max_stale (1 h): still served, and nobody waits on the dead
    // provider.
    advance(DEFAULT_CACHE_TTL + Duration::from_secs(1)).await;
    until("the refresh failed", || keys.status().fetches_failed >= 1).await;
    assert_eq!(verify_now(&keys, &token), Some(Ok(())));
    let status = keys.status();
    assert!(
        !status.fresh && status.usable && status.fetches_failed >= 1,
        "{status:?}"
    );

    // Served up to the last moment of ttl + max_stale ...
    let served_until = fetched + DEFAULT_CACHE_TTL + DEFAULT_MAX_STALE;
    advance(served_until - MS - Instant::now()).await;
    assert_eq!(verify_now(&keys, &token), Some(Ok(())));
    assert!(keys.status().usable);
    // ... then no keys any more, so 503 (not 401, not a pass).
    advance(MS).await;
    assert_eq!(
        keys.verify(&token).await.unwrap_err(),
        VerifyError::Unavailable
    );
    assert!(!keys.status().usable);

    // The provider comes back: recovered at the next retry (at most 60 s away) without
    // restarting anything.
    let _server = server.restart().await;
    advance(DEFAULT_BACKOFF_MAX).await;
    until("the recovery", || keys.status().usable).await;
    assert_eq!(verify_now(&keys, &token), Some(Ok(())));
    assert_eq!(keys.status().consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn jwks_slow_endpoint_times_out_and_requests_are_not_blocked() {
    let _clock = hold_clock();
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&key]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    let token = key.token();
    assert!(keys.verify(&token).await.is_ok());

    // The endpoint stops answering; the refresh ahead of expiry hangs on it, requests carry on.
    server.set("/jwks", Reply::Hang);
    advance(DEFAULT_CACHE_TTL - DEFAULT_REFRESH_AHEAD).await;
    until("the refresh reached the server", || {
        server.hits("/jwks") == 2
    })
    .await;
    for _ in 0..100 {
        assert_eq!(verify_now(&keys, &token), Some(Ok(())));
    }
    advance(DEFAULT_TIMEOUT / 2).await;
    settle(&server).await;
    assert_eq!(
        keys.status().fetches_failed,
        0,
        "still waiting for the answer"
    );
    assert_eq!(verify_now(&keys, &token), Some(Ok(())));
    // The 5 s total timeout ends the fetch.
    advance(DEFAULT_TIMEOUT / 2).await;
    until("the timeout", || keys.status().fetches_failed == 1).await;
    let status = keys.status();
    assert_eq!(status.last_error, Some(FetchError::Timeout), "{status:?}");
    assert_eq!(verify_now(&keys, &token), Some(Ok(())));

    // With nothing cached, the first request waits for one bounded fetch, then gets 503.
    server.set("/cold", Reply::Hang);
    let cold = RemoteJwks::new(server.url("/cold")).unwrap();
    let started = Instant::now();
    let waiting = tokio::spawn({
        let (cold, token) = (cold.clone(), token.clone());
        async move { cold.verify(&token).await }
    });
    until("the cold fetch reached the server", || {
        server.hits("/cold") == 1
    })
    .await;
    settle(&server).await;
    assert!(!waiting.is_finished(), "the request waits for the fetch");
    advance(DEFAULT_TIMEOUT).await;
    assert_eq!(
        waiting.await.unwrap().unwrap_err(),
        VerifyError::Unavailable
    );
    assert_eq!(
        started.elapsed(),
        DEFAULT_TIMEOUT,
        "bounded by the fetch timeout"
    );
    assert_eq!(cold.status().last_error, Some(FetchError::Timeout));
    assert_eq!(server.hits("/cold"), 1);
}

#[tokio::test(start_paused = true)]
async fn jwks_unknown_kid_flood_causes_at_most_one_fetch_per_cooldown() {
    let _clock = hold_clock();
    let (known, attacker) = (TestKey::ed25519("known"), TestKey::ed25519("attacker"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&known]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    assert!(keys.verify(&known.token()).await.is_ok());
    let flood: Arc<Vec<String>> = Arc::new(
        (0..1000)
            .map(|i| attacker.token_with(&claims(), Some(&format!("flood-{i}"))))
            .collect(),
    );
    // The whole flood at once, as concurrent tasks.
    let run = |keys: RemoteJwks, flood: Arc<Vec<String>>| async move {
        let tasks: Vec<_> = (0..flood.len())
            .map(|i| {
                let (keys, flood) = (keys.clone(), Arc::clone(&flood));
                tokio::spawn(async move { keys.verify(&flood[i]).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap_err(), unknown_key());
        }
    };
    // Every token refused at once: no fetch started, none joined.
    let refused_at_once = |keys: &RemoteJwks, flood: &[String]| {
        for token in flood {
            assert_eq!(verify_now(keys, token), Some(Err(unknown_key())));
        }
    };

    // Outside the cooldown: one single-flight refetch for the whole flood, and every request
    // waits for it (the server holds it open until the flood has piled up).
    advance(DEFAULT_UNKNOWN_KID_COOLDOWN).await;
    let (gate, held) = watch::channel(false);
    server.set("/jwks", Reply::Held(held, Box::new(jwks(&[&known]))));
    let waiting: Vec<_> = flood
        .iter()
        .map(|token| {
            let (keys, token) = (keys.clone(), token.clone());
            tokio::spawn(async move { keys.verify(&token).await })
        })
        .collect();
    until("the refetch reached the server", || {
        server.hits("/jwks") == 2
    })
    .await;
    settle(&server).await;
    assert!(
        waiting.iter().all(|t| !t.is_finished()),
        "every request waits for the one refetch"
    );
    gate.send(true).unwrap();
    for task in waiting {
        assert_eq!(task.await.unwrap().unwrap_err(), unknown_key());
    }
    assert_eq!(server.hits("/jwks"), 2, "one refetch for 1000 unknown kids");
    server.set("/jwks", jwks(&[&known]));
    // Within the next 30 s: no refetch, nobody waits.
    refused_at_once(&keys, &flood);
    advance(DEFAULT_UNKNOWN_KID_COOLDOWN - MS).await;
    refused_at_once(&keys, &flood);
    settle(&server).await;
    assert_eq!(server.hits("/jwks"), 2, "cooldown: no refetch");

    // Next cooldown window: again exactly one.
    advance(MS).await;
    run(keys.clone(), flood).await;
    assert_eq!(server.hits("/jwks"), 3);
    // The real key works throughout.
    assert_eq!(verify_now(&keys, &known.token()), Some(Ok(())));
}

/// The same flood on two worker threads (real parallelism, real time): every request that finds
/// a fetch in flight joins it. The one fetch is held open at the server until the flood has
/// piled up on it; the cooldown and timeout (1 h) outlast the test, so nothing depends on time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_unknown_kid_flood_joins_one_fetch_across_threads() {
    let (known, attacker) = (TestKey::ed25519("known"), TestKey::ed25519("attacker"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&known]));
    let hour = Duration::from_secs(3600);
    let keys = RemoteJwks::builder(server.url("/jwks"))
        .unknown_kid_cooldown(hour)
        .timeout(hour)
        .build()
        .unwrap();
    assert!(keys.verify(&known.token()).await.is_ok());
    assert_eq!(server.hits("/jwks"), 1);

    // A refresh that the server holds open.
    let (gate, held) = watch::channel(false);
    server.set("/jwks", Reply::Held(held, Box::new(jwks(&[&known]))));
    let refresh = tokio::spawn({
        let keys = keys.clone();
        async move { keys.refresh().await }
    });
    until("the refresh reached the server", || {
        server.hits("/jwks") == 2
    })
    .await;
    let flood: Vec<_> = (0..1000)
        .map(|i| {
            let keys = keys.clone();
            let token = attacker.token_with(&claims(), Some(&format!("flood-{i}")));
            tokio::spawn(async move { keys.verify(&token).await })
        })
        .collect();
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
    assert!(
        flood.iter().all(|t| !t.is_finished()),
        "every request waits for the fetch in flight"
    );
    gate.send(true).unwrap();
    refresh.await.unwrap().unwrap();
    for task in flood {
        assert_eq!(task.await.unwrap().unwrap_err(), unknown_key());
    }
    assert_eq!(server.hits("/jwks"), 2, "the flood joined the one fetch");
    // Again: within the cooldown, no fetch at all.
    for i in 0..1000 {
        let token = attacker.token_with(&claims(), Some(&format!("again-{i}")));
        assert_eq!(keys.verify(&token).await.unwrap_err(), unknown_key());
    }
    assert_eq!(server.hits("/jwks"), 2);
    assert!(keys.verify(&known.token()).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn jwks_redirects_not_followed_and_no_cookies_sent() {
    let _clock = hold_clock();
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    server.set("/moved", Reply::Redirect(server.url("/real")));
    server.set("/real", jwks(&[&key]));
    let keys = RemoteJwks::new(server.url("/moved")).unwrap();
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
    let keys = RemoteJwks::new(server.url("/cookie")).unwrap();
    until("the first fetch", || keys.status().fetches_ok == 1).await;
    for _ in 0..3 {
        keys.refresh().await.unwrap();
    }
    assert_eq!(server.hits("/cookie"), 4);
    assert_eq!(server.state.lock().unwrap().requests_with_cookie, 0);
}

#[tokio::test(start_paused = true)]
async fn jwks_key_selection_respects_alg_use_key_ops_and_duplicate_kids() {
    let _clock = hold_clock();
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
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
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

#[tokio::test(start_paused = true)]
async fn jwks_cache_control_max_age_is_honoured_within_bounds() {
    let _clock = hold_clock();
    let key = TestKey::ed25519("k1");
    let server = Server::start().await;
    let Reply::Json(body, _) = jwks(&[&key]) else {
        unreachable!()
    };
    let day = 24 * 3600;
    let cases = [
        ("/plain", None, 600),
        ("/short", Some("public, max-age=1"), 60),
        ("/five-min", Some("max-age=300, must-revalidate"), 300),
        ("/year", Some("max-age=31536000"), day),
        ("/no-store", Some("no-store"), 60),
    ];
    // Each lifetime is the real one: the set is refreshed exactly `min(30 s, ttl / 2)` before it
    // ends (refresh-ahead), and stops being fresh when it ends.
    let lifetime = async |keys: RemoteJwks, path: &str, ttl: Duration| {
        until("the first fetch", || keys.status().fetches_ok == 1).await;
        assert_eq!(keys.status().ttl, Some(ttl), "{path}");
        let refresh_at = ttl - DEFAULT_REFRESH_AHEAD.min(ttl / 2);
        advance(refresh_at - MS).await;
        settle(&server).await;
        assert_eq!(
            server.hits(path),
            1,
            "{path}: refreshed before {refresh_at:?}"
        );
        assert!(keys.status().fresh, "{path}");
        // Without a refresh the set would be stale at `ttl` (the refresh is held off here).
        assert_eq!(keys.status().age, Some(refresh_at - MS), "{path}");
        advance(MS).await;
        until("the refresh ahead of expiry", || server.hits(path) == 2).await;
        until("the refreshed set", || keys.status().fetches_ok == 2).await;
        assert_eq!(keys.status().age, Some(Duration::ZERO), "{path}");
    };
    for (path, header, expected) in cases {
        let extra = header
            .map(|h| vec![("Cache-Control", h.to_owned())])
            .unwrap_or_default();
        server.set(path, Reply::Json(body.clone(), extra));
        let keys = RemoteJwks::new(server.url(path)).unwrap();
        lifetime(keys, path, Duration::from_secs(expected)).await;
    }
    server.set(
        "/ignored",
        Reply::Json(body.clone(), vec![("Cache-Control", "max-age=300".into())]),
    );
    let ignoring = RemoteJwks::builder(server.url("/ignored"))
        .honor_cache_control(false)
        .cache_ttl(Duration::from_secs(42))
        .build()
        .unwrap();
    lifetime(ignoring, "/ignored", Duration::from_secs(42)).await;
    // Freshness ends exactly at the lifetime.
    server.set("/fresh", jwks(&[&key]));
    let keys = RemoteJwks::new(server.url("/fresh")).unwrap();
    until("the first fetch", || keys.status().fetches_ok == 1).await;
    server.stop().await;
    advance(DEFAULT_CACHE_TTL - MS).await;
    assert!(keys.status().fresh);
    advance(MS).await;
    assert!(!keys.status().fresh && keys.status().usable);
}

#[tokio::test(start_paused = true)]
async fn jwks_discovery_rfc8414_fallback_and_issuer_checks() {
    let _clock = hold_clock();
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
    let keys = RemoteJwks::discover(&issuer).unwrap();
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

#[tokio::test(start_paused = true)]
async fn jwks_several_issuers_each_with_its_own_keys() {
    let _clock = hold_clock();
    let (a_key, b_key) = (TestKey::ed25519("a-1"), TestKey::ed25519("b-1"));
    let server = Server::start().await;
    server.set("/a/jwks", jwks(&[&a_key]));
    server.set("/b/jwks", jwks(&[&b_key]));
    let (a, b) = ("https://a.example", "https://b.example");
    let issuers = Issuers::new()
        .with(a, RemoteJwks::new(server.url("/a/jwks")).unwrap())
        .unwrap()
        .with(
            b,
            RemoteJwks::builder(server.url("/b/jwks"))
                .issuer(b)
                .build()
                .unwrap(),
        )
        .unwrap();
    let token = |key: &TestKey, iss: &str, kid: &str| {
        key.token_with(
            &json!({"iss": iss, "sub": "s", "exp": now() + 60}),
            Some(kid),
        )
    };
    assert!(issuers.verify(&token(&a_key, a, "a-1")).await.is_ok());
    assert!(issuers.verify(&token(&b_key, b, "b-1")).await.is_ok());

    // Claims A, signed with B's key: A's keys do not know it (and A's cooldown holds: refused
    // at once, no refetch).
    assert_eq!(
        verify_now(&issuers, &token(&b_key, a, "b-1")),
        Some(Err(unknown_key()))
    );
    // Claims A, signed with B's key under A's kid: A's key does not verify it.
    assert_eq!(
        issuers.verify(&token(&b_key, a, "a-1")).await.unwrap_err(),
        VerifyError::Invalid(InvalidToken::BadSignature)
    );
    // Unknown or missing issuer: refused without touching anyone's keys.
    settle(&server).await;
    let before = (server.hits("/a/jwks"), server.hits("/b/jwks"));
    assert_eq!(before, (1, 1));
    assert_eq!(
        verify_now(&issuers, &token(&a_key, "https://c.example", "a-1")),
        Some(Err(VerifyError::Invalid(InvalidToken::InvalidIssuer)))
    );
    let no_iss = a_key.token_with(&json!({"sub": "s", "exp": now() + 60}), Some("a-1"));
    assert_eq!(
        verify_now(&issuers, &no_iss),
        Some(Err(VerifyError::Invalid(InvalidToken::MissingClaim(
            "iss".into()
        ))))
    );
    settle(&server).await;
    assert_eq!((server.hits("/a/jwks"), server.hits("/b/jwks")), before);

    assert!(matches!(
        Issuers::new()
            .with(a, RemoteJwks::new(server.url("/a/jwks")).unwrap())
            .unwrap()
            .with(a, RemoteJwks::new(server.url("/b/jwks")).unwrap()),
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

#[tokio::test(start_paused = true)]
async fn jwks_engine_follows_key_set_changes_and_expiry() {
    let _clock = hold_clock();
    let (a, b) = (TestKey::ed25519("a"), TestKey::ed25519("b"));
    let server = Server::start().await;
    server.set("/jwks", jwks(&[&a, &b]));
    let keys = RemoteJwks::new(server.url("/jwks")).unwrap();
    // The engine's defaults, whatever they cache between requests.
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(keys.clone())
        .build()
        .unwrap();
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
    // The provider goes away: served until ttl + max_stale, then 503, however often the token
    // was accepted before.
    server.stop().await;
    advance(DEFAULT_CACHE_TTL + DEFAULT_MAX_STALE - MS).await;
    assert_eq!(call(token_b.clone()).await, Ok(()));
    advance(MS).await;
    assert_eq!(call(token_b).await, Err(503));
}
