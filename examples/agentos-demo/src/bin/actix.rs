//! The AgentOS demo on actix-web: routes, the `jwt-actix` middleware and extractors; the service
//! itself lives in the framework-free `agentos_demo` library.

use std::io::Write as _;
use std::process::ExitCode;

use actix_cors::Cors;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, SET_COOKIE};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, guard, web};
use agentos_demo::{
    CORS_EXPOSE, CORS_HEADERS, CORS_MAX_AGE_SECS, CORS_METHODS, Demo, DemoArgs, Kind, Reply,
    RequestHeaders,
};
use clap::Parser as _;
use jwt_actix::{Auth, JwtAuthExt as _};

fn reply(r: Reply) -> HttpResponse {
    let mut res = HttpResponse::build(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    res.insert_header((CONTENT_TYPE, "application/json"));
    if let Some(cookie) = &r.set_cookie {
        res.insert_header((SET_COOKIE, cookie.as_str()));
    }
    res.body(r.body_bytes())
}

type D = web::Data<Demo>;

fn request_headers(req: &HttpRequest) -> RequestHeaders {
    RequestHeaders::from_pairs(
        req.headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    )
}

/// A GET route that also answers HEAD (actix-web's `web::get()` does not; axum, poem and warp do,
/// and the core authorizes HEAD with the GET entry).
fn get() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", get().to(|d: D| async move { reply(d.root()) }))
        .route("/health", get().to(|d: D| async move { reply(d.health()) }))
        .route("/info", get().to(|d: D| async move { reply(d.info()) }))
        .route("/config", get().to(|d: D| async move { reply(d.config()) }))
        .route(
            "/memories",
            get().to(|d: D| async move { reply(d.memories()) }),
        )
        .route(
            "/sessions",
            get().to(|d: D, Auth(ctx): Auth| async move { reply(d.sessions(&ctx).await) }),
        )
        .route(
            "/sessions/{id}",
            get().to(|d: D, Auth(ctx): Auth, id: web::Path<String>| async move {
                reply(d.session(&id, &ctx).await)
            }),
        )
        .route(
            "/sessions/{id}",
            web::delete().to(
                |d: D, Auth(ctx): Auth, id: web::Path<String>, req: HttpRequest| async move {
                    reply(d.delete_session(&id, &ctx, &request_headers(&req)).await)
                },
            ),
        )
        .route(
            "/sessions/{id}/revoke",
            web::post().to(
                |d: D, Auth(ctx): Auth, id: web::Path<String>, req: HttpRequest| async move {
                    reply(d.revoke_session(&id, &ctx, &request_headers(&req)).await)
                },
            ),
        )
        .route(
            "/users/{id}/revoke",
            web::post().to(
                |d: D, Auth(ctx): Auth, id: web::Path<String>, req: HttpRequest| async move {
                    reply(d.revoke_user(&id, &ctx, &request_headers(&req)).await)
                },
            ),
        )
        .route(
            "/set-auth-cookie",
            web::post().to(|d: D, Auth(ctx): Auth, req: HttpRequest| async move {
                reply(d.set_auth_cookie(&ctx, &request_headers(&req)))
            }),
        )
        .route(
            "/mcp",
            web::post().to(
                |d: D, Auth(ctx): Auth, req: HttpRequest, body: web::Bytes| async move {
                    reply(d.mcp(&ctx, &request_headers(&req), &body).await)
                },
            ),
        )
        .route(
            "/clear-auth-cookie",
            web::post().to(|d: D, req: HttpRequest| async move {
                reply(d.clear_auth_cookie(&request_headers(&req)))
            }),
        );
    for kind in Kind::ALL {
        let p = kind.plural();
        cfg.route(
            &format!("/{p}"),
            get().to(move |d: D, Auth(ctx): Auth| async move { reply(d.list(kind, &ctx)) }),
        )
        .route(
            &format!("/{p}/{{id}}"),
            get().to(move |d: D, id: web::Path<String>| async move { reply(d.get(kind, &id)) }),
        )
        .route(
            &format!("/{p}/{{id}}/runs"),
            web::post().to(
                move |d: D,
                      Auth(ctx): Auth,
                      id: web::Path<String>,
                      req: HttpRequest,
                      body: web::Bytes| async move {
                    reply(d.run(kind, &id, &ctx, &request_headers(&req), &body).await)
                },
            ),
        )
        .route(
            &format!("/{p}/{{id}}/runs"),
            get().to(
                move |d: D, Auth(ctx): Auth, id: web::Path<String>| async move {
                    reply(d.list_runs(kind, &id, &ctx).await)
                },
            ),
        )
        .route(
            &format!("/{p}/{{id}}/runs/{{run_id}}/cancel"),
            web::post().to(
                move |d: D,
                      Auth(ctx): Auth,
                      path: web::Path<(String, String)>,
                      req: HttpRequest| async move {
                    let (id, run_id) = path.into_inner();
                    reply(
                        d.cancel(kind, &id, &run_id, &ctx, &request_headers(&req))
                            .await,
                    )
                },
            ),
        );
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let (demo, tls) = match Demo::start(DemoArgs::parse()).and_then(|d| Ok((d.tls()?, d))) {
        Ok((tls, d)) => (d, tls),
        Err(e) => {
            eprintln!("demo-actix: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match std::net::TcpListener::bind(("127.0.0.1", demo.args().port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "demo-actix: cannot listen on port {}: {e}",
                demo.args().port
            );
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    demo.listening_on(port);
    let data = web::Data::new(demo.clone());
    let auth = demo.auth().clone();
    let origins = demo.allowed_origins();
    let server = HttpServer::new(move || {
        // CORS outside auth (actix runs the last `wrap` first).
        let mut cors = Cors::default()
            .allowed_methods(CORS_METHODS)
            .allowed_headers(CORS_HEADERS)
            .expose_headers(CORS_EXPOSE)
            .max_age(Some(CORS_MAX_AGE_SECS as usize))
            .supports_credentials();
        for origin in &origins {
            cors = cors.allowed_origin(origin);
        }
        App::new()
            .app_data(data.clone())
            .wrap(auth.middleware())
            .wrap(cors)
            .configure(configure)
    })
    .workers(2)
    // The connection (its client certificate, over mutual TLS) for certificate-bound tokens.
    .on_connect(jwt_actix::on_connect);
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, rustls::ServerConfig::clone(&tls)),
        None => server.listen(listener),
    };
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo-actix: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", demo.banner(port));
    let _ = std::io::stdout().flush();
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-actix: {e}");
            ExitCode::FAILURE
        }
    }
}
