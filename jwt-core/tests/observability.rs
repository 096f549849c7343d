//! The decision's tracing span: one `jwt_auth` span per request whose fields tell an operator what
//! happened and which check failed, and never a token or key material.

use std::io::Write;
use std::sync::{Arc, Mutex};

use jwt_core::{JwtAuth, RouteTable, SimpleRequest, StaticKeys, mint};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

const SECRET: &[u8] = b"observability-test-secret-0123456789abcdef";

/// Everything the subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn auth() -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).expect("secret"))
        .audience("orders-api")
        .scopes(
            RouteTable::builder()
                .route("GET /orders/{id}", ["orders:{id}:read"])
                .build()
                .expect("table"),
        )
        .build()
        .expect("auth")
}

/// The tests of this file one at a time: tracing caches per call site whether anyone listens, so
/// a test without a subscriber running beside one with a subscriber can hide the other's spans.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` with a DEBUG subscriber that prints every span's fields when it closes.
fn capture<F: FnOnce()>(f: F) -> String {
    capture_at(tracing::Level::DEBUG, f)
}

/// Runs `f` with a subscriber at `level` (INFO: what `tracing_subscriber::fmt()` shows by
/// default).
fn capture_at<F: FnOnce()>(level: tracing::Level, f: F) -> String {
    let _one_at_a_time = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_max_level(level)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        f()
    });
    out.text()
}

fn call(auth: &JwtAuth, path: &str, token: &str) {
    let header = format!("Bearer {token}");
    let req = SimpleRequest::new("GET", path).header("Authorization", &header);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _ = rt.block_on(auth.authenticate(&req));
}

#[test]
fn one_span_per_decision_with_reason_and_identity() {
    let auth = auth();
    let good = mint::hs256(
        SECRET,
        &json!({"sub": "alice", "aud": "orders-api", "iss": "https://idp.example",
                "exp": now() + 600, "scopes": ["orders:o1:read"]}),
    )
    .expect("mint");
    let text = capture(|| {
        call(&auth, "/orders/o1", &good);
        // The cache keeps a token from its second verification on: the third call is a hit.
        call(&auth, "/orders/o1", &good);
        call(&auth, "/orders/o1", &good);
        call(&auth, "/orders/o2", &good);
    });
    let spans: Vec<&str> = text.lines().filter(|l| l.contains("jwt_auth")).collect();
    let mut closes: Vec<&&str> = spans.iter().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 4, "one span per decision:\n{text}");
    assert!(closes[1].contains("cache_hit=false"), "{}", closes[1]);
    closes.remove(1);
    let first = closes[0];
    for field in [
        "outcome=\"authenticated\"",
        "route=\"GET /orders/{id}\"",
        "sub=\"alice\"",
        "iss=\"https://idp.example\"",
        "alg=HS256",
        "required=orders:o1:read",
        "cache_hit=false",
        "duration_us=",
    ] {
        assert!(first.contains(field), "{field} missing from {first}");
    }
    assert!(closes[1].contains("cache_hit=true"), "{}", closes[1]);
    let refused = closes[2];
    for field in [
        "outcome=\"refused\"",
        "status=403",
        "reason=\"insufficient_scope\"",
    ] {
        assert!(refused.contains(field), "{field} missing from {refused}");
    }
    assert!(!text.contains(&good), "the token was logged:\n{text}");
}

#[test]
fn refusals_say_which_check_failed_without_leaking_secrets() {
    let auth = auth();
    let wrong_aud = mint::hs256(
        SECRET,
        &json!({"sub": "bob", "aud": "billing-api", "exp": now() + 600}),
    )
    .expect("mint");
    let expired = mint::hs256(
        SECRET,
        &json!({"sub": "bob", "aud": "orders-api", "exp": now() - 3600}),
    )
    .expect("mint");
    let other_key = mint::hs256(
        b"another-secret-nobody-trusts-0123456789abc",
        &json!({"sub": "eve", "aud": "orders-api", "exp": now() + 600}),
    )
    .expect("mint");
    let text = capture(|| {
        call(&auth, "/orders/o1", &wrong_aud);
        call(&auth, "/orders/o1", &expired);
        call(&auth, "/orders/o1", &other_key);
    });
    let closes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("jwt_auth") && l.contains("close"))
        .collect();
    assert_eq!(closes.len(), 3, "{text}");
    assert!(
        closes[0].contains("reason=\"invalid_audience\""),
        "{}",
        closes[0]
    );
    assert!(
        closes[0].contains("expected=") && closes[0].contains("orders-api"),
        "{}",
        closes[0]
    );
    assert!(
        closes[0].contains("received=") && closes[0].contains("billing-api"),
        "{}",
        closes[0]
    );
    assert!(closes[1].contains("reason=\"expired\""), "{}", closes[1]);
    assert!(
        closes[2].contains("reason=\"bad_signature\""),
        "{}",
        closes[2]
    );
    assert!(closes[2].contains("alg=HS256"), "{}", closes[2]);
    for secret in [&wrong_aud, &expired, &other_key] {
        assert!(!text.contains(secret.as_str()), "a token was logged");
    }
    assert!(
        !text.contains("observability-test-secret"),
        "the key was logged"
    );
    assert!(!text.contains("another-secret"), "a key was logged");
}

#[test]
fn attack_signals_are_warnings_at_the_default_level_and_rate_limited() {
    let auth = auth();
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&json!({"sub": "eve", "aud": "orders-api", "exp": now() + 600}).to_string())
    );
    let expired = mint::hs256(
        SECRET,
        &json!({"sub": "bob", "aud": "orders-api", "exp": now() - 3600}),
    )
    .expect("mint");
    let text = capture_at(tracing::Level::INFO, || {
        for _ in 0..10 {
            call(&auth, "/orders/o1", &unsigned);
        }
        call(&auth, "/orders/o1", &expired);
    });
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    let alg_none = warnings
        .iter()
        .filter(|l| l.contains("reason=\"alg_none\""))
        .count();
    // One warning per reason per window: ten unsigned tokens give one (two if a window
    // boundary falls between them), never ten.
    assert!((1..=2).contains(&alg_none), "{alg_none} warnings:\n{text}");
    assert!(
        warnings.iter().all(|l| l.contains("possible attack")),
        "{text}"
    );
    // A client mistake (an expired token) is not an attack signal: nothing at INFO.
    assert!(!text.contains("expired"), "{text}");
    assert!(!text.contains(&unsigned), "the token was logged");
}

#[test]
fn scope_and_extractor_refusals_are_logged_with_what_was_missing() {
    let auth = auth();
    let other = mint::hs256(
        SECRET,
        &json!({"sub": "alice", "aud": "orders-api", "exp": now() + 600, "scopes": ["orders:o2:read"]}),
    )
    .expect("mint");
    let text = capture(|| {
        call(&auth, "/orders/o1", &other);
        let refused = jwt_core::extract::user_id(None).unwrap_err();
        let _ = jwt_core::extractor_refusal(refused, None, Some(&auth.decided_mark()));
    });
    let refusal = text
        .lines()
        .find(|l| l.contains("request refused") && l.contains("insufficient_scope"))
        .unwrap_or_else(|| panic!("no scope refusal event:\n{text}"));
    assert!(refusal.contains("required=orders:o1:read"), "{refusal}");
    let extractor = text
        .lines()
        .find(|l| l.contains("request refused by an extractor"))
        .unwrap_or_else(|| panic!("no extractor refusal event:\n{text}"));
    assert!(
        extractor.contains("reason=\"not_authenticated\"") && extractor.contains("status=401"),
        "{extractor}"
    );
}

/// With the `metrics` feature: one counter increment per decision by outcome and reason, and one
/// latency sample by outcome.
#[cfg(feature = "metrics")]
#[test]
fn metrics_count_decisions_by_outcome_and_reason() {
    use std::collections::BTreeMap;

    use metrics::{
        Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
        SharedString, Unit,
    };

    /// `name{label=value,..}` → total (counters) or sample count (histograms).
    #[derive(Default)]
    struct Tally(Mutex<BTreeMap<String, f64>>);

    struct Handle(Arc<Tally>, String);

    impl CounterFn for Handle {
        fn increment(&self, value: u64) {
            *self
                .0
                .0
                .lock()
                .expect("lock")
                .entry(self.1.clone())
                .or_default() += value as f64;
        }
        fn absolute(&self, value: u64) {
            self.0
                .0
                .lock()
                .expect("lock")
                .insert(self.1.clone(), value as f64);
        }
    }

    impl HistogramFn for Handle {
        fn record(&self, value: f64) {
            assert!((0.0..10.0).contains(&value), "latency {value} s");
            *self
                .0
                .0
                .lock()
                .expect("lock")
                .entry(self.1.clone())
                .or_default() += 1.0;
        }
    }

    struct Rec(Arc<Tally>);

    fn name(key: &Key) -> String {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        format!("{}{{{}}}", key.name(), labels.join(","))
    }

    impl Recorder for Rec {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(Handle(self.0.clone(), name(key))))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(Arc::new(Handle(self.0.clone(), name(key))))
        }
    }

    let _one_at_a_time = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tally = Arc::new(Tally::default());
    let recorder = Rec(tally.clone());
    let auth = auth();
    let good = mint::hs256(
        SECRET,
        &json!({"sub": "alice", "aud": "orders-api", "exp": now() + 600, "scopes": ["orders:o1:read"]}),
    )
    .expect("mint");
    let expired = mint::hs256(
        SECRET,
        &json!({"sub": "bob", "aud": "orders-api", "exp": now() - 3600}),
    )
    .expect("mint");
    metrics::with_local_recorder(&recorder, || {
        call(&auth, "/orders/o1", &good);
        call(&auth, "/orders/o1", &good);
        call(&auth, "/orders/o2", &good);
        call(&auth, "/orders/o1", &expired);
    });
    let seen = tally.0.lock().expect("lock").clone();
    let get = |k: &str| seen.get(k).copied().unwrap_or_default();
    assert_eq!(
        get("jwt_auth_decisions_total{outcome=authenticated,reason=ok}"),
        2.0,
        "{seen:?}"
    );
    assert_eq!(
        get("jwt_auth_decisions_total{outcome=refused,reason=insufficient_scope}"),
        1.0,
        "{seen:?}"
    );
    assert_eq!(
        get("jwt_auth_decisions_total{outcome=refused,reason=expired}"),
        1.0,
        "{seen:?}"
    );
    assert_eq!(
        get("jwt_auth_decision_seconds{outcome=authenticated}"),
        2.0,
        "{seen:?}"
    );
    assert_eq!(
        get("jwt_auth_decision_seconds{outcome=refused}"),
        2.0,
        "{seen:?}"
    );
}
