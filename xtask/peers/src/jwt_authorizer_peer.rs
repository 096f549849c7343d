//! jwt-authorizer 0.15 on axum 0.7: its layer on `GET /hello` with a claims check for the scope
//! (401 / 403 from the crate), the claims injected with its `JwtClaims` extractor.

use axum07::routing::get;
use jwt_authorizer::{IntoLayer as _, JwtAuthorizer, JwtClaims, Validation};

use crate::{AUDIENCE, HEALTHY, HELLO, ISSUER, Key, LEEWAY_SECS, PeerClaims};

async fn hello(JwtClaims(_claims): JwtClaims<PeerClaims>) -> &'static str {
    HELLO
}

pub(crate) async fn serve(
    key: Option<Key>,
    port: u16,
    token: Option<String>,
) -> Result<(), String> {
    let health = axum07::Router::new().route("/health", get(|| async { HEALTHY }));
    let app = match key {
        None => axum07::Router::new()
            .route("/hello", get(|| async { HELLO }))
            .merge(health),
        Some(key) => {
            let builder = match key {
                Key::Secret(secret) => JwtAuthorizer::<PeerClaims>::from_secret(&secret),
                Key::Rsa(jwk) => {
                    JwtAuthorizer::from_jwks_text(&serde_json::json!({ "keys": [jwk] }).to_string())
                }
            };
            let validation = Validation::new()
                .aud(&[AUDIENCE])
                .iss(&[ISSUER])
                .leeway(LEEWAY_SECS);
            let authorizer = builder
                .validation(validation)
                .check(PeerClaims::allowed)
                .build()
                .await
                .map_err(|e| e.to_string())?;
            axum07::Router::new()
                .route("/hello", get(hello))
                .layer(authorizer.into_layer())
                .merge(health)
        }
    };
    let listener = crate::listen(port, token.as_deref()).await?;
    axum07::serve(listener, app)
        .await
        .map_err(|e| e.to_string())
}
