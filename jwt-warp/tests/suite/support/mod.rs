//! What the jwt-warp tests share: a counting token source and tokens.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jwt_core::{
    AuthError, BearerHeader, EncodingKey, JwtAuth, RequestParts, RouteTable, StaticKeys,
    TokenSource, mint,
};

/// The HS256 secret every test engine verifies with.
pub(crate) const SECRET: [u8; 32] = [9u8; 32];

/// The bearer header, counting how often the engine looks for a token.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counted(pub(crate) Arc<AtomicUsize>);

impl Counted {
    /// Token lookups so far.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

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

/// A token for `sub` with the scope `me:read`, valid for ten minutes, signed with [`SECRET`].
pub(crate) fn token(sub: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        + 600;
    let claims = serde_json::json!({"sub": sub, "exp": exp, "scopes": ["me:read"]});
    mint::sign(
        jwt_core::Algorithm::HS256,
        &EncodingKey::from_secret(&SECRET),
        None,
        None,
        &claims,
    )
    .expect("signed")
}

/// The routes of the tests: `GET /me` needs `me:read`, `GET /open` needs nothing.
pub(crate) fn table() -> RouteTable {
    RouteTable::builder()
        .route("GET /me", ["me:read"])
        .exclude("GET /open")
        .build()
        .expect("route table")
}

/// An engine on [`table`] verifying [`SECRET`], reading the token through `source`.
pub(crate) fn engine(source: Counted) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).expect("secret"))
        .scopes(table())
        .token_source(source)
        .build()
        .expect("engine")
}
