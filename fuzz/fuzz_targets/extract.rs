//! Header and cookie extraction: fuzzed `Authorization` and `Cookie` bytes through
//! `BearerHeader`, `CookieToken` and `AnyOf` (first-match and strict), and through the engine.

#![no_main]

use std::sync::OnceLock;

use jwt_core::{
    AnyOf, BearerHeader, CookieToken, JwtAuth, RequestParts, SimpleRequest, StaticKeys,
    TokenLocation, TokenSource,
};
use jwt_core_fuzz::{block_on, fields};
use libfuzzer_sys::fuzz_target;

fn auth() -> &'static JwtAuth {
    static A: OnceLock<JwtAuth> = OnceLock::new();
    A.get_or_init(|| {
        JwtAuth::builder()
            .verifier(StaticKeys::hs256(b"fuzz-hs256-secret-0123456789abcdef").expect("key"))
            .token_location(TokenLocation::BothStrict("access_token".into()))
            .build()
            .expect("auth")
    })
}

/// Whether `token` lies inside one of `values` (extraction only ever borrows from the request).
fn borrowed_from(token: &str, values: &[&[u8]]) -> bool {
    let t = token.as_bytes();
    values.iter().any(|v| {
        let start = v.as_ptr() as usize;
        let at = t.as_ptr() as usize;
        at >= start && at + t.len() <= start + v.len()
    })
}

fuzz_target!(|data: &[u8]| {
    // Line 0: selector; then header values; the selector's bits say which are Authorization and
    // which are Cookie.
    let parts = fields(data, 6);
    let selector = parts[0].first().copied().unwrap_or(0);
    let mut req = SimpleRequest::new("GET", "/x");
    for (i, value) in parts.iter().skip(1).enumerate() {
        let name = if selector & (1 << i) == 0 {
            "Authorization"
        } else {
            "Cookie"
        };
        req = req.header_bytes(name, value);
    }
    let values: Vec<&[u8]> = parts.iter().skip(1).copied().collect();

    let sources: Vec<Box<dyn TokenSource>> = vec![
        Box::new(BearerHeader::new()),
        Box::new(BearerHeader::new().dangerous_allow_raw_token()),
        Box::new(CookieToken::default()),
        Box::new(AnyOf::header_then_cookie("access_token")),
        Box::new(AnyOf::header_then_cookie("access_token").into_strict()),
    ];
    for source in &sources {
        match source.extract(&req as &dyn RequestParts) {
            Ok(Some(token)) => {
                assert!(!token.is_empty(), "{source:?} returned an empty token");
                assert!(
                    borrowed_from(token, &values),
                    "{source:?} invented {token:?}"
                );
            }
            Ok(None) => {}
            Err(e) => assert!(matches!(e.status(), 400 | 401), "{e:?}"),
        }
        let _ = source.describe();
    }
    // Bearer tokens keep RFC 6750's b64token grammar.
    if let Ok(Some(token)) = BearerHeader::new().extract(&req as &dyn RequestParts) {
        let body = token.trim_end_matches('=');
        assert!(
            !body.is_empty()
                && body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)),
            "{token:?}"
        );
    }
    match block_on(auth().authenticate(&req)) {
        Ok(_) => {}
        Err(e) => assert!(matches!(e.status(), 400 | 401), "{e:?}"),
    }
});
