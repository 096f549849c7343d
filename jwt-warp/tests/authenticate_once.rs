//! A route built with `with_context` authenticates its request once, however many values it
//! takes from the caller's context.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jwt_core::{
    Algorithm, AuthContext, AuthError, BearerHeader, EncodingKey, JwtAuth, RequestParts,
    RouteTable, StaticKeys, TokenSource, extract, mint,
};
use warp::Filter;

const SECRET: [u8; 32] = [9u8; 32];

/// The bearer header, counting how often the engine looks for a token.
#[derive(Debug, Default, Clone)]
struct Counted(Arc<AtomicUsize>);

impl TokenSource for Counted {
    fn extract<'r>(&self, req: &'r dyn RequestParts) -> Result<Option<&'r str>, AuthError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        BearerHeader::new().extract(req)
    }

    fn missing_detail(&self) -> Cow<'static, str> {
        BearerHeader::new().missing_detail()
    }

    fn describe(&self) -> String {
        BearerHeader::new().describe()
    }
}

#[tokio::test]
async fn with_context_authenticates_once_for_several_values() {
    let count = Counted::default();
    let auth = JwtAuth::builder()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
        .scopes(
            RouteTable::builder()
                .route("GET /me", ["me:read"])
                .build()
                .unwrap(),
        )
        .token_source(count.clone())
        .build()
        .unwrap();
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = Claims {
        sub: "alice",
        exp,
        scopes: ["me:read"],
    };
    let token = mint::sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&SECRET),
        None,
        None,
        &claims,
    )
    .unwrap();
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
    for n in 1..=3 {
        let res = warp::test::request()
            .path("/me")
            .header("authorization", format!("Bearer {token}"))
            .reply(&me)
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.body(), "alice me:read false");
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            n,
            "one decision per request"
        );
    }
    let refused = warp::test::request().path("/me").reply(&me).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(count.0.load(Ordering::SeqCst), 4);
}

#[derive(serde::Serialize)]
struct Claims {
    sub: &'static str,
    exp: u64,
    scopes: [&'static str; 1],
}
