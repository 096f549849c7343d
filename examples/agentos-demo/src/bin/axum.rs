//! The AgentOS demo on axum: routes, the `jwt-axum` layer and extractors; the service itself
//! lives in the framework-free `agentos_demo` library.

use std::io::Write as _;
use std::process::ExitCode;

use agentos_demo::{
    CORS_EXPOSE, CORS_HEADERS, CORS_MAX_AGE_SECS, CORS_METHODS, Demo, DemoArgs, Kind, Reply,
    RequestHeaders,
};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use bytes::Bytes;
use clap::Parser as _;
use jwt_axum::{Auth, JwtAuthExt as _};
use tower_http::cors::{AllowOrigin, CorsLayer};

fn reply(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, r.body_bytes()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(cookie) = r.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    res
}

fn request_headers(headers: &HeaderMap) -> RequestHeaders {
    RequestHeaders::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
}

fn routes(demo: &Demo) -> Router<Demo> {
    let mut app =
        Router::new()
            .route(
                "/",
                get(|State(d): State<Demo>| async move { reply(d.root()) }),
            )
            .route(
                "/health",
                get(|State(d): State<Demo>| async move { reply(d.health()) }),
            )
            .route(
                "/info",
                get(|State(d): State<Demo>| async move { reply(d.info()) }),
            )
            .route(
                "/config",
                get(|State(d): State<Demo>| async move { reply(d.config()) }),
            )
            .route(
                "/memories",
                get(|State(d): State<Demo>| async move { reply(d.memories()) }),
            )
            .route(
                "/sessions",
                get(|State(d): State<Demo>, Auth(ctx): Auth| async move {
                    reply(d.sessions(&ctx).await)
                }),
            )
            .route(
                "/sessions/{id}",
                get(
                    |State(d): State<Demo>, Auth(ctx): Auth, Path(id): Path<String>| async move {
                        reply(d.session(&id, &ctx).await)
                    },
                )
                .merge(delete(
                    |State(d): State<Demo>,
                     Auth(ctx): Auth,
                     Path(id): Path<String>,
                     headers: HeaderMap| async move {
                        reply(
                            d.delete_session(&id, &ctx, &request_headers(&headers))
                                .await,
                        )
                    },
                )),
            )
            .route(
                "/sessions/{id}/revoke",
                post(
                    |State(d): State<Demo>,
                     Auth(ctx): Auth,
                     Path(id): Path<String>,
                     headers: HeaderMap| async move {
                        reply(
                            d.revoke_session(&id, &ctx, &request_headers(&headers))
                                .await,
                        )
                    },
                ),
            )
            .route(
                "/users/{id}/revoke",
                post(
                    |State(d): State<Demo>,
                     Auth(ctx): Auth,
                     Path(id): Path<String>,
                     headers: HeaderMap| async move {
                        reply(d.revoke_user(&id, &ctx, &request_headers(&headers)).await)
                    },
                ),
            )
            .route(
                "/set-auth-cookie",
                post(
                    |State(d): State<Demo>, Auth(ctx): Auth, headers: HeaderMap| async move {
                        reply(d.set_auth_cookie(&ctx, &request_headers(&headers)))
                    },
                ),
            )
            .route(
                "/clear-auth-cookie",
                post(|State(d): State<Demo>, headers: HeaderMap| async move {
                    reply(d.clear_auth_cookie(&request_headers(&headers)))
                }),
            )
            .route(
                "/mcp",
                post(
                    |State(d): State<Demo>, Auth(ctx): Auth, headers: HeaderMap, body: Bytes| async move {
                        reply(d.mcp(&ctx, &request_headers(&headers), &body).await)
                    },
                ),
            );
    for kind in Kind::ALL {
        let p = kind.plural();
        app = app
            .route(
                &format!("/{p}"),
                get(move |State(d): State<Demo>, Auth(ctx): Auth| async move {
                    reply(d.list(kind, &ctx))
                }),
            )
            .route(
                &format!("/{p}/{{id}}"),
                get(move |State(d): State<Demo>, Path(id): Path<String>| async move {
                    reply(d.get(kind, &id))
                }),
            )
            .route(
                &format!("/{p}/{{id}}/runs"),
                post(
                    move |State(d): State<Demo>,
                          Auth(ctx): Auth,
                          Path(id): Path<String>,
                          headers: HeaderMap,
                          body: Bytes| async move {
                        reply(
                            d.run(kind, &id, &ctx, &request_headers(&headers), &body)
                                .await,
                        )
                    },
                )
                .get(
                    move |State(d): State<Demo>, Auth(ctx): Auth, Path(id): Path<String>| async move {
                        reply(d.list_runs(kind, &id, &ctx).await)
                    },
                ),
            )
            .route(
                &format!("/{p}/{{id}}/runs/{{run_id}}/cancel"),
                post(
                    move |State(d): State<Demo>,
                          Auth(ctx): Auth,
                          Path((id, run_id)): Path<(String, String)>,
                          headers: HeaderMap| async move {
                        reply(
                            d.cancel(kind, &id, &run_id, &ctx, &request_headers(&headers))
                                .await,
                        )
                    },
                ),
            );
    }
    // CORS outside auth: preflights are answered before authentication, and error responses
    // carry the CORS headers for allowed origins.
    let origins: Vec<HeaderValue> = demo
        .allowed_origins()
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(CORS_METHODS.map(|m| m.parse().unwrap_or(axum::http::Method::GET)))
        .allow_headers(CORS_HEADERS.map(header::HeaderName::from_static))
        .expose_headers(CORS_EXPOSE.map(header::HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(CORS_MAX_AGE_SECS))
        .allow_credentials(true);
    app.layer(demo.auth().layer()).layer(cors)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (demo, tls) = match Demo::start(DemoArgs::parse()).and_then(|d| Ok((d.tls()?, d))) {
        Ok((tls, d)) => (d, tls),
        Err(e) => {
            eprintln!("demo-axum: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", demo.args().port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-axum: cannot listen on port {}: {e}", demo.args().port);
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    demo.listening_on(port);
    let app = routes(&demo).with_state(demo.clone());
    print!("{}", demo.banner(port));
    let _ = std::io::stdout().flush();
    // Over TLS, each request carries its connection (the client certificate, with --mtls).
    if let Some(tls) = tls {
        jwt_core::server::serve_tls(listener, tls, app).await;
        return ExitCode::SUCCESS;
    }
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-axum: {e}");
            ExitCode::FAILURE
        }
    }
}
