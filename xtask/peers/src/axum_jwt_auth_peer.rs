//! axum-jwt-auth 0.7 on axum 0.8: a `LocalDecoder` in the router's state, its `Claims`
//! extractor on `GET /hello` (401 from the crate), the scope checked in the handler (403).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum_jwt_auth::{Claims, Decoder, LocalDecoder};

use crate::{HEALTHY, HELLO, Key, PeerClaims};

async fn hello(user: Claims<PeerClaims>) -> Result<&'static str, StatusCode> {
    if user.claims.allowed() {
        Ok(HELLO)
    } else {
        Err(StatusCode::FORBIDDEN)
    }
}

fn decoder(key: Key) -> Result<Decoder<PeerClaims>, String> {
    let (key, validation) = decoding!(jsonwebtoken10, key);
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
    let listener = crate::listen(port, token.as_deref()).await?;
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
