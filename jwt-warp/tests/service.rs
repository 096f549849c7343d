//! One decision per request: a route built with `with_context` authenticates once however many
//! values it takes; `jwt_warp::service` decides before warp's filters run and hands its decision
//! to them.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jwt_core::{
    AuthContext, AuthError, AuthErrorKind, JwtAuth, RequestCheck, RouteTable, StaticKeys, extract,
};
use support::{Counted, SECRET, engine, table, token};
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
