//! Core benchmarks, each comparing in the same run: bare `jsonwebtoken::decode` against our full
//! verify + claims + authorize (cache off, and a cache hit), and aws-lc's check of the signature
//! alone (the floor under both), for HS256, RS256, ES256 and EdDSA;
//! route matching on the AgentOS preset; scope checks. `cargo xtask bench` reads the results.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use jwt_core::{
    Algorithm, EncodingKey, JwtAuth, RouteTable, ScopeRules, ScopeSet, SimpleRequest, StaticKeys,
    VerificationKey, mint,
};
use serde_json::{Value, json};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))
    };
}

/// Our futures complete on the first poll with static keys: poll once, no runtime.
fn run_now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("static-key verification never waits"),
    }
}

fn claims() -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "iss": "https://idp.example.test", "sub": "alice", "aud": "agentos",
        "exp": now + 3600, "iat": now,
        "scopes": ["agents:read", "agents:agent-1:run", "teams:read", "sessions:read", "config:read"],
        "name": "Alice Example", "email": "alice@example.test", "roles": ["user", "admin"],
    })
}

struct Case {
    name: &'static str,
    alg: Algorithm,
    sign: EncodingKey,
    decode: DecodingKey,
    verify: VerificationKey,
}

/// The HS256 secret of every HS256 case.
const HS_SECRET: [u8; 32] = [0x42; 32];

fn cases() -> Vec<Case> {
    let secret = HS_SECRET;
    vec![
        Case {
            name: "hs256",
            alg: Algorithm::HS256,
            sign: EncodingKey::from_secret(&secret),
            decode: DecodingKey::from_secret(&secret),
            verify: VerificationKey::hmac(Algorithm::HS256, &secret).unwrap(),
        },
        Case {
            name: "rs256",
            alg: Algorithm::RS256,
            sign: EncodingKey::from_rsa_pem(fixture!("rsa2048.key")).unwrap(),
            decode: DecodingKey::from_rsa_pem(fixture!("rsa2048.pub.pem")).unwrap(),
            verify: VerificationKey::from_pem(Algorithm::RS256, fixture!("rsa2048.pub.pem"))
                .unwrap(),
        },
        Case {
            name: "es256",
            alg: Algorithm::ES256,
            sign: EncodingKey::from_ec_pem(fixture!("p256.key")).unwrap(),
            decode: DecodingKey::from_ec_pem(fixture!("p256.pub.pem")).unwrap(),
            verify: VerificationKey::from_pem(Algorithm::ES256, fixture!("p256.pub.pem")).unwrap(),
        },
        Case {
            name: "eddsa",
            alg: Algorithm::EdDSA,
            sign: EncodingKey::from_ed_pem(fixture!("ed25519.key")).unwrap(),
            decode: DecodingKey::from_ed_pem(fixture!("ed25519.pub.pem")).unwrap(),
            verify: VerificationKey::from_pem(Algorithm::EdDSA, fixture!("ed25519.pub.pem"))
                .unwrap(),
        },
    ]
}

fn auth(key: &VerificationKey, cache: bool) -> JwtAuth {
    JwtAuth::builder()
        .verifier(StaticKeys::new(vec![key.clone()]).unwrap())
        .audience("agentos")
        .issuer("https://idp.example.test")
        .scopes(RouteTable::agent_os().build().unwrap())
        .cache_tokens(cache)
        .build()
        .unwrap()
}

/// The floor of a decision: aws-lc's verification of the token's signature alone, with the
/// key parsed beforehand (as our keys are) and the signature already decoded.
struct SignatureFloor {
    key: FloorKey,
    message: Vec<u8>,
    signature: Vec<u8>,
}

enum FloorKey {
    Hmac(Box<aws_lc_rs::hmac::Key>),
    Public(aws_lc_rs::signature::ParsedPublicKey),
}

impl SignatureFloor {
    fn new(case: &Case, token: &str) -> Self {
        use aws_lc_rs::signature as sig;
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let (message, signature) = token.rsplit_once('.').unwrap();
        // The public key's SubjectPublicKeyInfo, from its PEM fixture's body.
        let spki = |pem: &[u8]| {
            let body: String = std::str::from_utf8(pem)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            STANDARD.decode(body).unwrap()
        };
        let public =
            |params, pem| FloorKey::Public(sig::ParsedPublicKey::new(params, spki(pem)).unwrap());
        let key = match case.alg {
            Algorithm::HS256 => FloorKey::Hmac(Box::new(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                &HS_SECRET,
            ))),
            Algorithm::RS256 => public(
                &sig::RSA_PKCS1_2048_8192_SHA256,
                fixture!("rsa2048.pub.pem").as_slice(),
            ),
            Algorithm::ES256 => public(
                &sig::ECDSA_P256_SHA256_FIXED,
                fixture!("p256.pub.pem").as_slice(),
            ),
            Algorithm::EdDSA => public(&sig::ED25519, fixture!("ed25519.pub.pem").as_slice()),
            other => panic!("no signature floor for {other:?}"),
        };
        Self {
            key,
            message: message.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD.decode(signature).unwrap(),
        }
    }

    fn verify(&self) -> bool {
        match &self.key {
            FloorKey::Hmac(key) => {
                aws_lc_rs::hmac::verify(key, black_box(&self.message), &self.signature).is_ok()
            }
            FloorKey::Public(key) => key
                .verify_sig(black_box(&self.message), &self.signature)
                .is_ok(),
        }
    }
}

fn bench_verify(c: &mut Criterion) {
    for case in cases() {
        let token = mint::sign(case.alg, &case.sign, None, Some("JWT"), &claims()).unwrap();
        let bearer = format!("Bearer {token}");
        let req = SimpleRequest::new("GET", "/agents/agent-1").header("Authorization", &bearer);
        let mut validation = Validation::new(case.alg);
        validation.set_audience(&["agentos"]);
        validation.set_issuer(&["https://idp.example.test"]);
        validation.leeway = 10;
        let no_cache = auth(&case.verify, false);
        let cached = auth(&case.verify, true);
        assert!(run_now(no_cache.authenticate(&req)).is_ok());
        assert!(run_now(cached.authenticate(&req)).is_ok());

        let floor = SignatureFloor::new(&case, &token);
        assert!(
            floor.verify(),
            "{}: the signature alone verifies",
            case.name
        );

        let mut group = c.benchmark_group(case.name);
        group.bench_function("signature_only", |b| b.iter(|| floor.verify()));
        group.bench_function("jsonwebtoken_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(&token), &case.decode, &validation).unwrap()
            })
        });
        group.bench_function("ours_no_cache", |b| {
            b.iter(|| run_now(no_cache.authenticate(black_box(&req))).unwrap())
        });
        group.bench_function("ours_cache_hit", |b| {
            b.iter(|| run_now(cached.authenticate(black_box(&req))).unwrap())
        });
        group.finish();
    }
}

fn bench_routes_and_scopes(c: &mut Criterion) {
    let table = RouteTable::agent_os().build().unwrap();
    let paths = [
        ("GET", "/agents"),
        ("POST", "/agents/agent-1/runs"),
        ("GET", "/components/c1/configs/current"),
        ("DELETE", "/sessions/s1"),
        ("GET", "/not/mapped/at/all"),
    ];
    c.bench_function("route_match_agent_os", |b| {
        b.iter(|| {
            for (m, p) in paths {
                let _ = black_box(table.lookup(black_box(m), black_box(p)));
            }
        })
    });
    let rules = ScopeRules::agent_os();
    let set = ScopeSet::parse(
        [
            "agents:read",
            "agents:agent-1:run",
            "teams:*:read",
            "sessions:read",
            "config:read",
        ],
        &rules,
    );
    c.bench_function("scope_checks", |b| {
        b.iter(|| {
            black_box(set.can(black_box("agents:agent-1:run")))
                && black_box(set.can(black_box("teams:t1:read")))
                && !black_box(set.can(black_box("agents:agent-2:run")))
        })
    });
}

/// Cost against the token's size: HS256, one route (`POST /agents/agent-1/runs`) needing one
/// per-id scope, the token carrying `n` scopes with the granting one last. Rows `scopes_{n}`.
fn bench_scope_counts(c: &mut Criterion) {
    let secret = [0x42u8; 32];
    let sign = EncodingKey::from_secret(&secret);
    let decode = DecodingKey::from_secret(&secret);
    let verify = VerificationKey::hmac(Algorithm::HS256, &secret).unwrap();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&["agentos"]);
    validation.set_issuer(&["https://idp.example.test"]);
    validation.leeway = 10;
    for n in [1usize, 25, 100] {
        let mut scopes: Vec<String> = (2..=n).map(|i| format!("agents:agent-{i}:read")).collect();
        scopes.push("agents:agent-1:run".into());
        let mut claims = claims();
        claims["scopes"] = json!(scopes);
        let token = mint::sign(Algorithm::HS256, &sign, None, Some("JWT"), &claims).unwrap();
        let bearer = format!("Bearer {token}");
        let req =
            SimpleRequest::new("POST", "/agents/agent-1/runs").header("Authorization", &bearer);
        let no_cache = auth(&verify, false);
        let cached = auth(&verify, true);
        assert!(run_now(no_cache.authenticate(&req)).is_ok());
        assert!(run_now(cached.authenticate(&req)).is_ok());
        let mut group = c.benchmark_group(format!("scopes_{n}"));
        group.bench_function("jsonwebtoken_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(&token), &decode, &validation).unwrap()
            })
        });
        group.bench_function("ours_no_cache", |b| {
            b.iter(|| run_now(no_cache.authenticate(black_box(&req))).unwrap())
        });
        group.bench_function("ours_cache_hit", |b| {
            b.iter(|| run_now(cached.authenticate(black_box(&req))).unwrap())
        });
        group.finish();
    }
}

criterion_group!(
    benches,
    bench_verify,
    bench_scope_counts,
    bench_routes_and_scopes
);
criterion_main!(benches);
