//! actix-web-httpauth 0.8 on actix-web 4: its `HttpAuthentication::bearer` middleware on
//! `GET /hello`, whose validator a user writes around `jsonwebtoken::decode` (401 on a bad token,
//! 403 without the scope) and which puts the claims in the request for `web::ReqData`.

use std::sync::Arc;

use actix_web::dev::ServiceRequest;
use actix_web::{App, HttpMessage as _, HttpServer, web};
use actix_web_httpauth::extractors::bearer::BearerAuth;
use actix_web_httpauth::middleware::HttpAuthentication;
use jsonwebtoken::{DecodingKey, Validation};

use crate::{HEALTHY, HELLO, Key, PeerClaims};

struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

fn verifier(key: Key) -> Result<Verifier, String> {
    let (key, validation) = decoding!(jsonwebtoken, key);
    Ok(Verifier { key, validation })
}

async fn validate(
    req: ServiceRequest,
    credentials: BearerAuth,
) -> Result<ServiceRequest, (actix_web::Error, ServiceRequest)> {
    let Some(verifier) = req.app_data::<web::Data<Verifier>>() else {
        return Err((
            actix_web::error::ErrorInternalServerError("no verifier"),
            req,
        ));
    };
    let claims = match jsonwebtoken::decode::<PeerClaims>(
        credentials.token(),
        &verifier.key,
        &verifier.validation,
    ) {
        Ok(data) => data.claims,
        Err(_) => return Err((actix_web::error::ErrorUnauthorized("invalid token"), req)),
    };
    if !claims.allowed() {
        return Err((actix_web::error::ErrorForbidden("insufficient scope"), req));
    }
    req.extensions_mut().insert(claims);
    Ok(req)
}

async fn hello(_claims: web::ReqData<PeerClaims>) -> &'static str {
    HELLO
}

pub(crate) fn serve(key: Option<Key>, port: u16, token: Option<String>) -> Result<(), String> {
    let verifier = key.map(verifier).transpose()?.map(Arc::new);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    crate::ready(
        listener.local_addr().map_err(|e| e.to_string())?.port(),
        token.as_deref(),
    );
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let app = App::new().route("/health", web::get().to(|| async { HEALTHY }));
            match &verifier {
                None => app.route("/hello", web::get().to(|| async { HELLO })),
                Some(verifier) => app.app_data(web::Data::from(Arc::clone(verifier))).service(
                    web::resource("/hello")
                        .wrap(HttpAuthentication::bearer(validate))
                        .route(web::get().to(hello)),
                ),
            }
        })
        .workers(2)
        .listen(listener)
        .map_err(|e| e.to_string())?
        .run()
        .await
        .map_err(|e| e.to_string())
    })
}
