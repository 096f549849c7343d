//! One decision per request: a route built with `with_context` authenticates once however many
//! values it takes; `jwt_warp::service` decides before warp's filters run and hands its decision
//! to them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{Counted, SECRET, engine, table, token};
use jwt_core::{
    AuthContext, AuthError, AuthErrorKind, JwtAuth, RequestCheck, RouteTable, StaticKeys, extract,
};
use tower_service::Service as _;
use warp::Filter;

/// Refuses the caller `mallory`; any check makes every decision take the waiting path.
#[derive(Debug)]
struct NotMallory;

#[async_trait::async_trait]
impl RequestCheck for NotMallory {
    async fn check(&self, ctx: &AuthContext, _method: &str, _path: &str) -> Result<(), AuthError> {
        if ctx.user_id() == Some("mallory") {
            return Err(AuthErrorKind::RouteDenied.into());
        }
        Ok(())
    }
}

fn get(path: &str, token: Option<&str>) -> http::Request<String> {
    let mut req = http::Request::get(path);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(String::new()).unwrap()
}

async fn body(res: warp::reply::Response) -> String {
    use http_body_util::BodyExt as _;
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn filters_behind_the_service_take_its_decision() {
    let count = Counted::default();
    let auth = engine(count.clone());
    // Two filters joined with `.and()`: on their own each would authenticate.
    let me = warp::path("me")
        .and(jwt_warp::user_id(&auth))
        .and(jwt_warp::scopes(&auth))
        .map(|user: String, scopes: Vec<String>| format!("{user} {}", scopes.join(",")))
        .recover(jwt_warp::recover);
    let mut svc = jwt_warp::service(&auth, warp::service(me));
    let alice = token("alice");
    for n in 1..=3 {
        let res = svc.call(get("/me", Some(&alice))).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(body(res).await, "alice me:read");
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            n,
            "one decision per request"
        );
    }
}

#[tokio::test]
async fn a_refusal_is_answered_before_routing() {
    let auth = engine(Counted::default());
    let reached = Arc::new(AtomicUsize::new(0));
    let seen = reached.clone();
    // No auth filter at all: only the service stands in front of this handler.
    let app = warp::any().map(move || {
        seen.fetch_add(1, Ordering::SeqCst);
        "handler"
    });
    let mut svc = jwt_warp::service(&auth, warp::service(app));
    let res = svc.call(get("/me", None)).await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let res = svc
        .call(get("/nowhere", Some(&token("alice"))))
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "an unmapped route is denied");
    assert_eq!(reached.load(Ordering::SeqCst), 0);
    // The excluded route goes through without a token.
    let res = svc.call(get("/open", None)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_filter_on_another_engine_decides_for_itself() {
    let outer = engine(Counted::default());
    // The inner engine requires a token on `/open`, which the outer one excludes.
    let inner = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(
            RouteTable::builder()
                .route("GET /open", ["open:read"])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let open = warp::path("open")
        .and(jwt_warp::with_auth(&inner))
        .map(|ctx: Option<AuthContext>| format!("{}", ctx.is_some()))
        .recover(jwt_warp::recover);
    let mut svc = jwt_warp::service(&outer, warp::service(open));
    let res = svc.call(get("/open", None)).await.unwrap();
    assert_eq!(
        res.status(),
        401,
        "the outer engine's anonymous pass is not the inner's"
    );
}

#[tokio::test]
async fn a_decision_that_waits_still_reaches_the_filters() {
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(table())
        .check(NotMallory)
        .build()
        .unwrap();
    let me = warp::path("me")
        .and(jwt_warp::user_id(&auth))
        .recover(jwt_warp::recover);
    let mut svc = jwt_warp::service(&auth, warp::service(me));
    let res = svc.call(get("/me", Some(&token("alice")))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(body(res).await, "alice");
    let res = svc.call(get("/me", Some(&token("mallory")))).await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn with_context_authenticates_once_for_several_values() {
    let count = Counted::default();
    let auth = engine(count.clone());
    let me = warp::path("me")
        .and(jwt_warp::with_context(&auth, |ctx| {
            Ok((
                extract::user_id(ctx)?,
                extract::scopes(ctx)?,
                extract::context(ctx)?,
            ))
        }))
        .map(|(user, scopes, ctx): (String, Vec<String>, AuthContext)| {
            format!("{user} {} {}", scopes.join(","), ctx.is_admin())
        })
        .recover(jwt_warp::recover);
    let alice = token("alice");
    for n in 1..=3 {
        let res = warp::test::request()
            .path("/me")
            .header("authorization", format!("Bearer {alice}"))
            .reply(&me)
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.body(), "alice me:read false");
        assert_eq!(count.count(), n, "one decision per request");
    }
    let refused = warp::test::request().path("/me").reply(&me).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(count.count(), 4);
}

/// `GET /items/{id}` needing `items:{id}:read`, on an engine verifying [`SECRET`].
fn items_engine(dpop: bool) -> JwtAuth {
    let b = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).expect("secret"))
        .scopes(
            RouteTable::builder()
                .route("GET /items/{id}", ["items:{id}:read"])
                .build()
                .expect("table"),
        );
    let b = if dpop {
        b.dpop(jwt_core::Dpop::allowed().origin(jwt_core::HtuOrigin::Fixed(
            "https://api.example.test".into(),
        )))
    } else {
        b
    };
    b.build().expect("engine")
}

fn item_token(id: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 600;
    jwt_core::mint::hs256(
        &SECRET,
        &serde_json::json!({"sub": "alice", "exp": exp, "scopes": [format!("items:{id}:read")]}),
    )
    .expect("token")
}

#[tokio::test]
async fn a_raw_warp_path_segment_never_differs_from_the_authorized_one() {
    let auth = items_engine(false);
    // `warp::path!` hands the handler the raw segment: the one spelling the core could
    // authorize as another value, an escaped unreserved character (`%61` for `a`), is refused
    // before any handler runs, filters alone or behind the service.
    let raw = warp::path!("items" / String)
        .and(jwt_warp::with_auth(&auth))
        .map(|id: String, _: Option<AuthContext>| id)
        .recover(jwt_warp::recover);
    let token_a = item_token("a");
    for behind_service in [false, true] {
        let app = warp::service(raw.clone());
        let mut svc = jwt_warp::service(&auth, app.clone());
        let mut bare = app;
        for (path, status, seen) in [
            ("/items/a", 200, Some("a")),
            ("/items/%61", 400, None),
            ("/items/%41", 400, None),
            ("/items/a%7e", 400, None),
        ] {
            let res = if behind_service {
                svc.call(get(path, Some(&token_a))).await.unwrap()
            } else {
                bare.call(get(path, Some(&token_a))).await.unwrap()
            };
            assert_eq!(res.status(), status, "{path} (service: {behind_service})");
            if let Some(seen) = seen {
                assert_eq!(body(res).await, seen, "{path}");
            }
        }
    }
    // Reserved characters may be escaped: the core binds them decoded, `jwt_warp::param`
    // hands the handler that same value (`warp::path::param` would hand it the raw text).
    let decoded = warp::path("items")
        .and(jwt_warp::param::<String>())
        .and(warp::path::end())
        .and(jwt_warp::with_auth(&auth))
        .map(|id: String, _: Option<AuthContext>| id)
        .recover(jwt_warp::recover);
    let mut svc = jwt_warp::service(&auth, warp::service(decoded));
    let res = svc
        .call(get("/items/a%3Ab", Some(&item_token("a:b"))))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(body(res).await, "a:b");
}

#[tokio::test]
async fn filters_alone_refuse_an_engine_whose_decisions_record_something() {
    let auth = items_engine(true);
    assert!(!auth.decisions_are_repeatable());
    assert!(items_engine(false).decisions_are_repeatable());
    let app = warp::path!("items" / String)
        .and(jwt_warp::with_auth(&auth))
        .map(|id: String, _: Option<AuthContext>| id)
        .recover(jwt_warp::recover);
    // Alone, each `.or()` branch would decide (and record the DPoP proof) again: refused.
    let mut bare = warp::service(app.clone());
    let res = bare
        .call(get("/items/a", Some(&item_token("a"))))
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        body(res).await,
        r#"{"detail":"Authentication is misconfigured"}"#
    );
    // Behind the service the request is decided once: a plain bearer token passes.
    let mut svc = jwt_warp::service(&auth, warp::service(app));
    let res = svc
        .call(get("/items/a", Some(&item_token("a"))))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The service's response future keeps the contract every adapter's future keeps: it completes
/// once, and panics with [`jwt_core::POLLED_AFTER_COMPLETION`] when polled again, whether it held
/// the app's response or the core's answer.
#[test]
fn a_response_future_polled_after_completion_panics() {
    use std::future::Future as _;
    use std::panic::AssertUnwindSafe;
    use std::task::{Context, Poll, Waker};
    let auth = JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .build()
        .unwrap();
    let mut svc = jwt_warp::service(&auth, warp::service(warp::any().map(|| "ok")));
    let mut cx = Context::from_waker(Waker::noop());
    let alice = token("alice");
    // Allowed (the app's future), then refused (the core's answer).
    for (req, status) in [(get("/x", Some(&alice)), 200), (get("/x", None), 401)] {
        let mut fut = Box::pin(svc.call(req));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(res)) => assert_eq!(res.status(), status),
            _ => panic!("not answered at once"),
        }
        let again = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        let panic = again.expect_err("polled after completion");
        assert_eq!(
            panic.downcast_ref::<String>().map(String::as_str),
            Some(jwt_core::POLLED_AFTER_COMPLETION)
        );
    }
}
