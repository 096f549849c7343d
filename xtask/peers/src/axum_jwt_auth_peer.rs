//! axum-jwt-auth 0.7 on axum 0.8: a `LocalDecoder` in the router's state, its `Claims`
//! extractor on `GET /hello` (401 from the crate), the scope checked in the handler (403).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum_jwt_auth::{Claims, Decoder, LocalDecoder};
use jsonwebtoken10::{Algorithm, DecodingKey, Validation};

use crate::{AUDIENCE, HEALTHY, HELLO, ISSUER, Key, LEEWAY_SECS, PeerClaims};

async fn hello(user: Claims<PeerClaims>) -> Result<&'static str, StatusCode> {
    if user.claims.allowed() {
        Ok(HELLO)
    } else {
        Err(StatusCode::FORBIDDEN)
    }
}

fn decoder(key: Key) -> Result<Decoder<PeerClaims>, String> {
    let (key, alg) = match key {
        Key::Secret(secret) => (
            DecodingKey::from_secret(secret.as_bytes()),
            Algorithm::HS256,
        ),
        Key::Rsa(jwk) => {
            let jwk = serde_json::from_value(jwk).map_err(|e| e.to_string())?;
            (
                DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?,
                Algorithm::RS256,
            )
        }
    };
    let mut validation = Validation::new(alg);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    validation.leeway = LEEWAY_SECS;
    let decoder = LocalDecoder::builder()
        .keys(vec![key])
        .validation(validation)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(decoder))
}

pub(crate) async fn serve(
    key: Option<Key>,
    port: u16,
    token: Option<String>,
) -> Result<(), String> {
    let health = axum::Router::new().route("/health", get(|| async { HEALTHY }));
    let app = match key {
        None => axum::Router::new()
            .route("/hello", get(|| async { HELLO }))
            .merge(health),
        Some(key) => axum::Router::new()
            .route("/hello", get(hello))
            .with_state(decoder(key)?)
            .merge(health),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    crate::ready(
        listener.local_addr().map_err(|e| e.to_string())?.port(),
        token.as_deref(),
    );
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
