//! Token parsing and verification. Mode byte 0: the input is a token, verified by an HS256
//! `StaticKeys`, a mixed asymmetric `Jwks` and a full `JwtAuth` (AgentOS preset). Mode byte 1:
//! the input is `header JSON \n payload JSON`, signed with the HS256 secret, so claim decoding,
//! claim validation, identity mapping and scope checks see arbitrary (validly signed) input.

#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_core::{
    Algorithm, EncodingKey, Jwks, JwtAuth, SimpleRequest, StaticKeys, TokenLocation, Verifier, mint,
};
use jwt_core_fuzz::{block_on, fields, text};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-hs256-secret-0123456789abcdef";

/// Public halves of the jwt-core test fixtures (P-256, Ed25519), plus an RSA key.
const JWKS: &str = r#"{"keys":[
 {"kty":"OKP","crv":"Ed25519","kid":"ed","x":"U-dfIV3ufHqCZIQkTAVd0zrSZfpCvVXeZFNRbukA1xQ"},
 {"kty":"OKP","crv":"Ed25519","kid":"dup","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
 {"kty":"OKP","crv":"Ed25519","kid":"dup","x":"U-dfIV3ufHqCZIQkTAVd0zrSZfpCvVXeZFNRbukA1xQ"}
]}"#;

struct Fixture {
    hs: StaticKeys,
    jwks: Jwks,
    auth: JwtAuth,
    strict: JwtAuth,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        hs: StaticKeys::hs256(SECRET).expect("HS256 key"),
        jwks: Jwks::from_json(JWKS).expect("JWKS"),
        auth: JwtAuth::builder()
            .verifier(StaticKeys::hs256(SECRET).expect("HS256 key"))
            .agent_os()
            .token_location(TokenLocation::Both("access_token".into()))
            .build()
            .expect("auth"),
        strict: JwtAuth::builder()
            .verifier(StaticKeys::hs256(SECRET).expect("HS256 key"))
            .audience("fuzz-api")
            .issuer("https://issuer.example")
            .validation(jwt_core::Validation::default().rfc9068(true))
            .build()
            .expect("strict auth"),
    })
}

const PATHS: [(&str, &str); 6] = [
    ("GET", "/agents"),
    ("GET", "/agents/a1"),
    ("POST", "/agents/a1/runs"),
    ("GET", "/sessions"),
    ("DELETE", "/teams/t1"),
    ("GET", "/config"),
];

fn check(auth: &JwtAuth, method: &str, path: &str, token: &str) {
    let header = format!("Bearer {token}");
    let cookie = format!("access_token={token}");
    for req in [
        SimpleRequest::new(method, path).header("Authorization", &header),
        SimpleRequest::new(method, path).header("Cookie", &cookie),
    ] {
        match block_on(auth.authenticate(&req)) {
            Ok(outcome) => {
                if let Some(ctx) = outcome.context() {
                    // Redaction holds for whatever got through.
                    let debug = format!("{ctx:?}");
                    assert!(token.len() < 16 || !debug.contains(token));
                    let _ = ctx.to_json();
                    let _ = ctx.listing_ids("agents");
                }
            }
            Err(e) => {
                assert!(matches!(e.status(), 400 | 401 | 403 | 503), "{e:?}");
                // Every header value stays within RFC 6750's character set.
                let www = e.www_authenticate();
                assert!(www.bytes().all(|b| (0x20..0x7f).contains(&b)), "{www}");
                let _ = e.body();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (method, path) = PATHS[usize::from(mode >> 1) % PATHS.len()];
    if mode & 1 == 0 {
        let token = text(rest);
        let hs = block_on(f.hs.verify(&token));
        let jwks = block_on(f.jwks.verify(&token));
        // Nobody holds the private keys behind the JWKS here: nothing verifies.
        assert!(jwks.is_err(), "forged token accepted by the JWKS");
        let _ = hs;
        check(&f.auth, method, path, &token);
    } else {
        let parts = fields(rest, 2);
        let header = parts[0];
        let payload = parts.get(1).copied().unwrap_or_default();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let key = EncodingKey::from_secret(SECRET);
        let Ok(token) = mint::sign_input(Algorithm::HS256, &key, &input) else {
            return;
        };
        let verified = block_on(f.hs.verify(&token));
        if let Ok(v) = &verified {
            // A verified token's claims are a JSON object that round-trips.
            let again = serde_json::to_string(&v.claims).expect("claims serialize");
            let _: serde_json::Value = serde_json::from_str(&again).expect("claims reparse");
        }
        check(&f.auth, method, path, &token);
        check(&f.strict, method, path, &token);
    }
});
