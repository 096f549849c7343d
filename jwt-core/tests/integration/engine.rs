//! The decision engine end to end: token sources and their messages, error bodies and
//! `WWW-Authenticate`, OPTIONS, excluded / optional / public routes, claim injection and the
//! builder's configuration errors.

use std::time::{SystemTime, UNIX_EPOCH};

use jwt_core::{
    AnyOf, AudiencePolicy, AuthError, BearerHeader, ConfigError, JwtAuth, OptionsPolicy,
    RouteTable, SimpleRequest, StandardClaims, StaticKeys, TokenLocation, Unmapped, Validation,
    mint,
};
use serde_json::{Value, json};

const SECRET: &[u8] = b"engine-tests-secret-0123456789abcdef";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn tok(claims: Value) -> String {
    mint::hs256(SECRET, &claims).unwrap()
}

fn good() -> String {
    tok(json!({"sub": "alice", "exp": now() + 600, "scopes": ["items:read"]}))
}

fn builder() -> jwt_core::JwtAuthBuilder {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(SECRET).unwrap())
}

fn table() -> RouteTable {
    RouteTable::builder()
        .route("GET /items", ["items:read"])
        .route("DELETE /items/{id}", ["items:{id}:delete"])
        .authenticated("GET /me")
        .optional("GET /feed")
        .exclude("/health")
        .exclude("/public/*")
        .build()
        .unwrap()
}

async fn call(auth: &JwtAuth, req: SimpleRequest<'_>) -> Result<Value, AuthError> {
    auth.authenticate(&req)
        .await
        .map(|o| o.into_context().map_or(Value::Null, |c| c.to_json()))
}

#[tokio::test]
async fn missing_token_messages_per_source() {
    let cases = [
        (TokenLocation::Header, "Authorization header missing"),
        (
            TokenLocation::Cookie("access_token".into()),
            "JWT cookie 'access_token' missing",
        ),
        (
            TokenLocation::Both("session".into()),
            "JWT token missing from both Authorization header and 'session' cookie",
        ),
    ];
    for (location, detail) in cases {
        let auth = builder().token_location(location).build().unwrap();
        let err = call(&auth, SimpleRequest::new("GET", "/x"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), 401);
        assert_eq!(err.detail(), detail);
        assert_eq!(err.body(), json!({ "detail": detail }).to_string());
        assert_eq!(err.www_authenticate(), r#"Bearer realm="api""#);
        assert_eq!(err.error_code(), None);
    }
}

#[tokio::test]
async fn cookie_and_both_sources_read_the_cookie() {
    let cookie = format!("access_token={}", good());
    for location in [
        TokenLocation::Cookie("access_token".into()),
        TokenLocation::Both("access_token".into()),
        TokenLocation::BothStrict("access_token".into()),
    ] {
        let auth = builder().token_location(location).build().unwrap();
        let ctx = call(
            &auth,
            SimpleRequest::new("GET", "/x").header("Cookie", &cookie),
        )
        .await
        .unwrap();
        assert_eq!(ctx["user_id"], "alice");
    }
    // The header-only source ignores cookies.
    let auth = builder().build().unwrap();
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/x").header("Cookie", &cookie),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), 401);
}

#[tokio::test]
async fn header_wins_over_cookie_unless_strict() {
    let other = tok(json!({"sub": "bob", "exp": now() + 600}));
    let bearer = format!("Bearer {}", good());
    let cookie = format!("access_token={other}");
    let both = builder()
        .token_location(TokenLocation::Both("access_token".into()))
        .build()
        .unwrap();
    let req = || {
        SimpleRequest::new("GET", "/x")
            .header("Authorization", &bearer)
            .header("Cookie", &cookie)
    };
    assert_eq!(call(&both, req()).await.unwrap()["user_id"], "alice");
    let strict = builder()
        .token_location(TokenLocation::BothStrict("access_token".into()))
        .build()
        .unwrap();
    let err = call(&strict, req()).await.unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.error_code(), Some("invalid_request"));
    assert!(
        err.www_authenticate()
            .contains(r#"error="invalid_request""#)
    );
}

#[tokio::test]
async fn an_invalid_header_token_is_not_retried_from_the_cookie() {
    let cookie = format!("access_token={}", good());
    let both = builder()
        .token_location(TokenLocation::Both("access_token".into()))
        .build()
        .unwrap();
    let req = SimpleRequest::new("GET", "/x")
        .header("Authorization", "Bearer not.a.jwt")
        .header("Cookie", &cookie);
    assert_eq!(call(&both, req).await.unwrap_err().status(), 401);
}

#[tokio::test]
async fn custom_header_source() {
    let auth = builder()
        .token_source(BearerHeader::new().header_name("X-Api-Token"))
        .build()
        .unwrap();
    let value = format!("Bearer {}", good());
    let ok = SimpleRequest::new("GET", "/x").header("x-api-token", &value);
    assert!(call(&auth, ok).await.is_ok());
    let wrong_header = SimpleRequest::new("GET", "/x").header("Authorization", &value);
    assert_eq!(call(&auth, wrong_header).await.unwrap_err().status(), 401);
}

#[tokio::test]
async fn raw_token_without_scheme_needs_opt_in() {
    let raw = good();
    let strict = builder().build().unwrap();
    let req = || SimpleRequest::new("GET", "/x").header("Authorization", &raw);
    let err = call(&strict, req()).await.unwrap_err();
    assert_eq!((err.status(), err.error_code()), (401, None));
    let compat = builder()
        .token_source(BearerHeader::new().dangerous_allow_raw_token())
        .build()
        .unwrap();
    assert!(call(&compat, req()).await.is_ok());
}

#[tokio::test]
async fn error_statuses_bodies_and_challenges() {
    let auth = builder().scopes(table()).realm("agno").build().unwrap();
    let bearer = |t: &str| format!("Bearer {t}");

    let expired = bearer(&tok(json!({"sub": "a", "exp": now() - 100})));
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/items").header("Authorization", &expired),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), 401);
    assert_eq!(err.body(), r#"{"detail":"Token has expired"}"#);
    assert_eq!(
        err.www_authenticate(),
        r#"Bearer realm="agno", error="invalid_token", error_description="token expired""#
    );

    let bad_sig = bearer(&mint::hs256(&[0u8; 32], &json!({"exp": now() + 60})).unwrap());
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/items").header("Authorization", &bad_sig),
    )
    .await
    .unwrap_err();
    assert_eq!(err.detail(), "Invalid token: signature verification failed");

    let no_scope = bearer(&tok(
        json!({"sub": "a", "exp": now() + 60, "scopes": ["items:x:delete"]}),
    ));
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/items").header("Authorization", &no_scope),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(
        err.detail(),
        "Insufficient permissions. Required scope(s): items:read"
    );
    assert_eq!(
        err.www_authenticate(),
        r#"Bearer realm="agno", error="insufficient_scope", scope="items:read""#
    );

    let err = call(
        &auth,
        SimpleRequest::new("DELETE", "/items/y").header("Authorization", &no_scope),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.detail(),
        "Insufficient permissions. Required scope(s): items:y:delete"
    );
    assert!(
        call(
            &auth,
            SimpleRequest::new("DELETE", "/items/x").header("Authorization", &no_scope)
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn excluded_public_optional_and_unmapped_routes() {
    let auth = builder().scopes(table()).build().unwrap();
    // Excluded: no token needed and a bad one is ignored.
    for path in ["/health", "/health/", "/public/a"] {
        let v = call(
            &auth,
            SimpleRequest::new("POST", path).header("Authorization", "Bearer x.y.z"),
        )
        .await
        .unwrap();
        assert_eq!(v, Value::Null, "{path}");
    }
    assert_eq!(
        call(&auth, SimpleRequest::new("GET", "/public"))
            .await
            .unwrap_err()
            .status(),
        401
    );
    assert_eq!(
        call(&auth, SimpleRequest::new("GET", "/public/a/b"))
            .await
            .unwrap_err()
            .status(),
        401
    );
    // Public: any valid token, no scope.
    let no_scopes = format!("Bearer {}", tok(json!({"sub": "n", "exp": now() + 60})));
    let v = call(
        &auth,
        SimpleRequest::new("GET", "/me").header("Authorization", &no_scopes),
    )
    .await
    .unwrap();
    assert_eq!(v["user_id"], "n");
    assert_eq!(
        call(&auth, SimpleRequest::new("GET", "/me"))
            .await
            .unwrap_err()
            .status(),
        401
    );
    // Optional: absent is fine, present must be valid and is injected.
    assert_eq!(
        call(&auth, SimpleRequest::new("GET", "/feed"))
            .await
            .unwrap(),
        Value::Null
    );
    let v = call(
        &auth,
        SimpleRequest::new("GET", "/feed").header("Authorization", &no_scopes),
    )
    .await
    .unwrap();
    assert_eq!(v["user_id"], "n");
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/feed").header("Authorization", "Bearer a.b.c"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), 401);
    // Unlisted: denied by default (fail closed), admins included; any valid token only when
    // the table opts in.
    let admin = format!(
        "Bearer {}",
        tok(json!({"sub": "root", "exp": now() + 60, "scopes": ["agent_os:admin"]}))
    );
    for token in [&no_scopes, &admin] {
        let err = call(
            &auth,
            SimpleRequest::new("PUT", "/other").header("Authorization", token),
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), 403);
        assert_eq!(err.error_code(), Some("insufficient_scope"));
        assert_eq!(err.detail(), "Access denied: route not permitted");
    }
    assert_eq!(
        call(&auth, SimpleRequest::new("PUT", "/other"))
            .await
            .unwrap_err()
            .status(),
        401
    );
    let open = builder()
        .scopes(
            RouteTable::builder()
                .unmapped(Unmapped::Authenticated)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(
        call(
            &open,
            SimpleRequest::new("PUT", "/other").header("Authorization", &no_scopes)
        )
        .await
        .is_ok()
    );
    // No table at all: authentication only.
    let plain = builder().build().unwrap();
    assert!(
        call(
            &plain,
            SimpleRequest::new("PUT", "/other").header("Authorization", &no_scopes)
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn options_policies() {
    let default = builder().build().unwrap();
    let preflight = || {
        SimpleRequest::new("OPTIONS", "/items")
            .header("Origin", "http://localhost:3000")
            .header("Access-Control-Request-Method", "POST")
    };
    assert!(call(&default, preflight()).await.is_ok());
    assert_eq!(
        call(&default, SimpleRequest::new("OPTIONS", "/items"))
            .await
            .unwrap_err()
            .status(),
        401
    );
    let all = builder()
        .options_policy(OptionsPolicy::DangerousBypassAll)
        .build()
        .unwrap();
    assert!(
        call(&all, SimpleRequest::new("OPTIONS", "/items"))
            .await
            .is_ok()
    );
    let none = builder()
        .options_policy(OptionsPolicy::Authenticate)
        .build()
        .unwrap();
    assert_eq!(call(&none, preflight()).await.unwrap_err().status(), 401);
}

#[tokio::test]
async fn claim_injection() {
    let auth = builder()
        .claims(
            StandardClaims::default()
                .scope_claims(["scopes", "scope"])
                .dependencies_claims(["name", "email"])
                .session_state_claims(["org"]),
        )
        .keep_token(true)
        .build()
        .unwrap();
    let t = tok(json!({
        "sub": "u1", "session_id": "s1", "exp": now() + 60,
        "scope": "a:read b:read", "scopes": ["c:read"],
        "name": "Ann", "email": "ann@example.test", "org": "acme", "custom": {"n": 1}
    }));
    let bearer = format!("Bearer {t}");
    let ctx = auth
        .authenticate(&SimpleRequest::new("GET", "/x").header("Authorization", &bearer))
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert_eq!(ctx.user_id(), Some("u1"));
    assert_eq!(ctx.session_id(), Some("s1"));
    assert_eq!(ctx.scopes(), ["c:read", "a:read", "b:read"]);
    assert_eq!(
        json!(ctx.dependencies()),
        json!({"name": "Ann", "email": "ann@example.test"})
    );
    assert_eq!(json!(ctx.session_state()), json!({"org": "acme"}));
    assert_eq!(ctx.claim("custom"), Some(&json!({"n": 1})));
    assert_eq!(ctx.token(), Some(t.as_str()));
    assert!(!format!("{ctx:?}").contains(&t));
    #[derive(serde::Deserialize)]
    struct Mine {
        name: String,
        custom: Value,
    }
    let mine: Mine = ctx.claims_as().unwrap();
    assert_eq!(
        (mine.name.as_str(), &mine.custom),
        ("Ann", &json!({"n": 1}))
    );
}

#[tokio::test]
async fn authorization_off_only_authenticates() {
    let auth = builder()
        .scopes(table())
        .dangerous_authenticate_only()
        .build()
        .unwrap();
    let bearer = format!("Bearer {}", tok(json!({"sub": "a", "exp": now() + 60})));
    assert!(
        call(
            &auth,
            SimpleRequest::new("DELETE", "/items/1").header("Authorization", &bearer)
        )
        .await
        .is_ok()
    );
    assert_eq!(
        call(&auth, SimpleRequest::new("DELETE", "/items/1"))
            .await
            .unwrap_err()
            .status(),
        401
    );
}

#[tokio::test]
async fn audience_issuer_and_leeway_through_the_builder() {
    let auth = builder()
        .audience("os-1")
        .audience("os-2")
        .issuer("https://idp.test")
        .leeway(0)
        .build()
        .unwrap();
    let ok = tok(json!({"aud": ["x", "os-2"], "iss": "https://idp.test", "exp": now() + 60}));
    let bearer = |t: &str| format!("Bearer {t}");
    assert!(
        call(
            &auth,
            SimpleRequest::new("GET", "/").header("Authorization", &bearer(&ok))
        )
        .await
        .is_ok()
    );
    let wrong = tok(json!({"aud": "os-3", "iss": "https://idp.test", "exp": now() + 60}));
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/").header("Authorization", &bearer(&wrong)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.detail(), "Invalid token audience");
    let no_iss = tok(json!({"aud": "os-1", "exp": now() + 60}));
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/").header("Authorization", &bearer(&no_iss)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.detail(), "Invalid token issuer");
    // `aud` present while none configured is refused unless ignored explicitly.
    let plain = builder().build().unwrap();
    let with_aud = tok(json!({"aud": "x", "exp": now() + 60}));
    assert_eq!(
        call(
            &plain,
            SimpleRequest::new("GET", "/").header("Authorization", &bearer(&with_aud))
        )
        .await
        .unwrap_err()
        .status(),
        401
    );
    let lax = builder()
        .validation(Validation::default().audience_policy(AudiencePolicy::DangerousIgnore))
        .build()
        .unwrap();
    assert!(
        call(
            &lax,
            SimpleRequest::new("GET", "/").header("Authorization", &bearer(&with_aud))
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn max_token_length_is_checked_before_decoding() {
    let auth = builder().max_token_len(64).build().unwrap();
    let bearer = format!("Bearer {}", good());
    let err = call(
        &auth,
        SimpleRequest::new("GET", "/").header("Authorization", &bearer),
    )
    .await
    .unwrap_err();
    assert_eq!(err.detail(), "Invalid token: token is too long");
}

#[test]
fn builder_configuration_errors() {
    assert!(matches!(
        JwtAuth::builder().dangerous_any_issuer().build(),
        Err(ConfigError::NoKeySource)
    ));
    assert!(matches!(
        builder().leeway(301).build(),
        Err(ConfigError::LeewayOutOfRange(301))
    ));
    assert!(builder().leeway(300).build().is_ok());
    assert!(matches!(
        builder().max_token_len(0).build(),
        Err(ConfigError::MaxTokenLengthOutOfRange(0))
    ));
    assert!(matches!(
        builder().realm("").build(),
        Err(ConfigError::Empty("realm"))
    ));
    let bad_route = RouteTable::builder()
        .route("GET /a/{id}", ["x:{other}:read"])
        .build();
    assert!(matches!(
        bad_route,
        Err(ConfigError::InvalidScopeTemplate { .. })
    ));
    // Every ConfigError renders a readable message.
    let msg = ConfigError::WeakHmacSecret {
        alg: "HS256",
        len: 6,
        min: 32,
    }
    .to_string();
    assert_eq!(
        msg,
        "HMAC secret for HS256 is 6 bytes; at least 32 are required"
    );
}

#[tokio::test]
async fn strict_source_list_of_several_headers() {
    let auth = builder()
        .token_source(AnyOf::strict(vec![
            Box::new(BearerHeader::new()),
            Box::new(BearerHeader::new().header_name("X-Token")),
        ]))
        .build()
        .unwrap();
    let a = format!("Bearer {}", good());
    let b = format!("Bearer {}", tok(json!({"sub": "b", "exp": now() + 60})));
    let same = SimpleRequest::new("GET", "/")
        .header("Authorization", &a)
        .header("X-Token", &a);
    assert!(call(&auth, same).await.is_ok());
    let differ = SimpleRequest::new("GET", "/")
        .header("Authorization", &a)
        .header("X-Token", &b);
    assert_eq!(call(&auth, differ).await.unwrap_err().status(), 400);
}

#[tokio::test]
async fn per_route_scope_errors_use_the_middlewares_realm() {
    let auth = builder().realm("agno").build().unwrap();
    let bearer = format!("Bearer {}", good());
    let ctx = auth
        .authenticate(&SimpleRequest::new("GET", "/x").header("Authorization", &bearer))
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert_eq!(ctx.realm(), Some("agno"));
    let err = ctx.require_scopes(&["admin:write"]).unwrap_err();
    assert_eq!(
        err.www_authenticate(),
        r#"Bearer realm="agno", error="insufficient_scope", scope="admin:write""#
    );
}

#[test]
fn claim_configuration_is_checked_at_build() {
    for claims in [
        StandardClaims::default().user_id_claim(""),
        StandardClaims::keycloak(""),
    ] {
        let err = builder().claims(claims.clone()).build().unwrap_err();
        assert!(matches!(err, ConfigError::Empty(_)), "{claims:?}: {err:?}");
    }
    assert!(
        builder()
            .claims(StandardClaims::keycloak("orders-api"))
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn builder_calls_do_not_depend_on_their_order() {
    let token = |aud: &str, iss: &str| {
        format!(
            "Bearer {}",
            tok(json!({"sub": "u", "exp": now() + 60, "aud": aud, "iss": iss}))
        )
    };
    // `.validation(v)` after `.audience(..)` / `.issuer(..)` keeps them; issuers add up like
    // audiences.
    let auth = builder()
        .audience("a1")
        .issuer("https://one.example")
        .validation(Validation::default())
        .audience("a2")
        .issuer("https://two.example")
        .build()
        .unwrap();
    for (aud, iss, ok) in [
        ("a1", "https://one.example", true),
        ("a2", "https://two.example", true),
        ("a3", "https://one.example", false),
        ("a1", "https://three.example", false),
    ] {
        let header = token(aud, iss);
        let r = call(
            &auth,
            SimpleRequest::new("GET", "/me").header("Authorization", &header),
        )
        .await;
        assert_eq!(r.is_ok(), ok, "{aud} {iss}");
    }
    // The last cache call wins.
    let on = builder()
        .cache_tokens(false)
        .token_cache(jwt_core::TokenCacheConfig::default())
        .build()
        .unwrap();
    assert!(on.cache_usage().is_some());
    let off = builder()
        .token_cache(jwt_core::TokenCacheConfig::default())
        .cache_tokens(false)
        .build()
        .unwrap();
    assert!(off.cache_usage().is_none());
}

#[tokio::test]
async fn logout_revokes_the_current_token_in_one_call() {
    use jwt_core::{JtiDenylist, Revocation, RevokeError};
    let req_for = |token: &str| format!("Bearer {token}");
    // Through a shared revocation check (any RevocationStore; here the in-memory one).
    let auth = builder()
        .scopes(table())
        .check(Revocation::new(JtiDenylist::new()))
        .build()
        .unwrap();
    let t = tok(json!({"sub": "alice", "jti": "t-1", "exp": now() + 600}));
    let other = tok(json!({"sub": "alice", "jti": "t-2", "exp": now() + 600}));
    let header = req_for(&t);
    let req = || SimpleRequest::new("GET", "/me").header("Authorization", &header);
    let ctx = auth
        .authenticate(&req())
        .await
        .unwrap()
        .into_context()
        .unwrap();
    ctx.revoke().await.unwrap();
    let err = auth.authenticate(&req()).await.unwrap_err();
    assert_eq!((err.status(), err.reason()), (401, "revoked"));
    // Only that token: another of the same user still passes.
    let other_header = req_for(&other);
    let other_req = SimpleRequest::new("GET", "/me").header("Authorization", &other_header);
    assert!(auth.authenticate(&other_req).await.is_ok());
    // A token without `jti` cannot be revoked by itself.
    let no_jti = req_for(&tok(json!({"sub": "alice", "exp": now() + 600})));
    let ctx = auth
        .authenticate(&SimpleRequest::new("GET", "/me").header("Authorization", &no_jti))
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert!(matches!(ctx.revoke().await, Err(RevokeError::NoTokenId)));
    // Without a revocation check nothing would refuse it later: an error, not a silent no-op.
    let plain = builder().scopes(table()).build().unwrap();
    let ctx = plain
        .authenticate(&req())
        .await
        .unwrap()
        .into_context()
        .unwrap();
    assert!(matches!(
        ctx.revoke().await,
        Err(RevokeError::NotConfigured)
    ));
}

#[tokio::test]
async fn configuration_that_cannot_be_meant_is_refused_with_a_hint() {
    let keys = || StaticKeys::hs256(SECRET).unwrap();
    // No issuer check at all: an explicit choice, not a default.
    let err = JwtAuth::builder().verifier(keys()).build().unwrap_err();
    assert!(matches!(err, ConfigError::NoIssuerCheck));
    assert!(err.to_string().contains(".issuer("), "{err}");
    assert!(
        JwtAuth::builder()
            .verifier(keys())
            .issuer("https://idp.example")
            .build()
            .is_ok()
    );
    // Empty audience or issuer: they match no token.
    for b in [
        builder().audience(""),
        builder().validation(Validation::default().audience(Vec::<String>::new())),
        builder().issuer(""),
    ] {
        assert!(matches!(b.build(), Err(ConfigError::Empty(_))));
    }
}
