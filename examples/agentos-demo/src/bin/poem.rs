//! The AgentOS demo on poem: routes, the `jwt-poem` middleware and extractors; the service
//! itself lives in the framework-free `agentos_demo` library.

use std::io::Write as _;
use std::process::ExitCode;

use agentos_demo::{
    CORS_EXPOSE, CORS_HEADERS, CORS_MAX_AGE_SECS, CORS_METHODS, Demo, DemoArgs, Kind, Reply,
    RequestHeaders,
};
use clap::Parser as _;
use jwt_poem::{Auth, JwtAuthExt as _};
use poem::http::{StatusCode, header};
use poem::listener::TcpAcceptor;
use poem::middleware::Cors;
use poem::web::{Data, Path};
use poem::{EndpointExt, Request, Response, Route, Server, get, handler, post};

fn reply(r: Reply) -> Response {
    let mut res = Response::builder()
        .status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = &r.set_cookie {
        res = res.header(header::SET_COOKIE, cookie.as_str());
    }
    res.body(r.body_bytes())
}

fn request_headers(req: &Request) -> RequestHeaders {
    RequestHeaders::from_pairs(
        req.headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    )
}

#[handler]
fn root(Data(d): Data<&Demo>) -> Response {
    reply(d.root())
}

#[handler]
fn health(Data(d): Data<&Demo>) -> Response {
    reply(d.health())
}

#[handler]
fn info(Data(d): Data<&Demo>) -> Response {
    reply(d.info())
}

#[handler]
fn config(Data(d): Data<&Demo>) -> Response {
    reply(d.config())
}

#[handler]
fn memories(Data(d): Data<&Demo>) -> Response {
    reply(d.memories())
}

#[handler]
async fn sessions(Data(d): Data<&Demo>, Auth(ctx): Auth) -> Response {
    reply(d.sessions(&ctx).await)
}

#[handler]
async fn session(Data(d): Data<&Demo>, Auth(ctx): Auth, Path(id): Path<String>) -> Response {
    reply(d.session(&id, &ctx).await)
}

#[handler]
async fn delete_session(
    Data(d): Data<&Demo>,
    Auth(ctx): Auth,
    Path(id): Path<String>,
    req: &Request,
) -> Response {
    reply(d.delete_session(&id, &ctx, &request_headers(req)).await)
}

#[handler]
async fn revoke_session(
    Data(d): Data<&Demo>,
    Auth(ctx): Auth,
    Path(id): Path<String>,
    req: &Request,
) -> Response {
    reply(d.revoke_session(&id, &ctx, &request_headers(req)).await)
}

#[handler]
async fn revoke_user(
    Data(d): Data<&Demo>,
    Auth(ctx): Auth,
    Path(id): Path<String>,
    req: &Request,
) -> Response {
    reply(d.revoke_user(&id, &ctx, &request_headers(req)).await)
}

#[handler]
fn set_cookie(Data(d): Data<&Demo>, Auth(ctx): Auth, req: &Request) -> Response {
    reply(d.set_auth_cookie(&ctx, &request_headers(req)))
}

#[handler]
async fn mcp(Data(d): Data<&Demo>, Auth(ctx): Auth, req: &Request, body: Vec<u8>) -> Response {
    reply(d.mcp(&ctx, &request_headers(req), &body).await)
}

#[handler]
fn clear_cookie(Data(d): Data<&Demo>, req: &Request) -> Response {
    reply(d.clear_auth_cookie(&request_headers(req)))
}

#[handler]
fn list(Data(d): Data<&Demo>, Data(kind): Data<&Kind>, Auth(ctx): Auth) -> Response {
    reply(d.list(*kind, &ctx))
}

#[handler]
fn get_one(Data(d): Data<&Demo>, Data(kind): Data<&Kind>, Path(id): Path<String>) -> Response {
    reply(d.get(*kind, &id))
}

#[handler]
async fn run(
    Data(d): Data<&Demo>,
    Data(kind): Data<&Kind>,
    Auth(ctx): Auth,
    Path(id): Path<String>,
    req: &Request,
    body: Vec<u8>,
) -> Response {
    reply(d.run(*kind, &id, &ctx, &request_headers(req), &body).await)
}

#[handler]
async fn list_runs(
    Data(d): Data<&Demo>,
    Data(kind): Data<&Kind>,
    Auth(ctx): Auth,
    Path(id): Path<String>,
) -> Response {
    reply(d.list_runs(*kind, &id, &ctx).await)
}

#[handler]
async fn cancel(
    Data(d): Data<&Demo>,
    Data(kind): Data<&Kind>,
    Auth(ctx): Auth,
    Path((id, run_id)): Path<(String, String)>,
    req: &Request,
) -> Response {
    reply(
        d.cancel(*kind, &id, &run_id, &ctx, &request_headers(req))
            .await,
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let (demo, tls) = match Demo::start(DemoArgs::parse()).and_then(|d| Ok((d.tls()?, d))) {
        Ok((tls, d)) => (d, tls),
        Err(e) => {
            eprintln!("demo-poem: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match std::net::TcpListener::bind(("127.0.0.1", demo.args().port))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-poem: cannot listen on port {}: {e}", demo.args().port);
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    demo.listening_on(port);
    let mut app = Route::new()
        .at("/", get(root))
        .at("/health", get(health))
        .at("/info", get(info))
        .at("/config", get(config))
        .at("/memories", get(memories))
        .at("/sessions", get(sessions))
        .at("/sessions/:id", get(session).delete(delete_session))
        .at("/sessions/:id/revoke", post(revoke_session))
        .at("/users/:id/revoke", post(revoke_user))
        .at("/set-auth-cookie", post(set_cookie))
        .at("/clear-auth-cookie", post(clear_cookie))
        .at("/mcp", post(mcp));
    for kind in Kind::ALL {
        let p = kind.plural();
        app = app
            .at(format!("/{p}"), get(list).data(kind))
            .at(format!("/{p}/:id"), get(get_one).data(kind))
            .at(
                format!("/{p}/:id/runs"),
                post(run).get(list_runs).data(kind),
            )
            .at(
                format!("/{p}/:id/runs/:run_id/cancel"),
                post(cancel).data(kind),
            );
    }
    // CORS outside auth (the last `with` runs first).
    let cors = Cors::new()
        .allow_origins(demo.allowed_origins())
        .allow_methods(CORS_METHODS.map(|m| m.parse().unwrap_or(poem::http::Method::GET)))
        .allow_headers(CORS_HEADERS)
        .expose_headers(CORS_EXPOSE)
        .max_age(CORS_MAX_AGE_SECS as i32)
        .allow_credentials(true);
    let app = app
        .with(demo.auth().middleware())
        .with(cors)
        .data(demo.clone());
    print!("{}", demo.banner(port));
    let _ = std::io::stdout().flush();
    // Over TLS, poem's own listeners have no place for the client certificate: serve the
    // endpoint through `jwt_poem::service`, each request carrying its connection.
    let served = match tls {
        Some(tls) => match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => {
                jwt_core::server::serve_tls(listener, tls, jwt_poem::service(app)).await;
                Ok(())
            }
            Err(e) => Err(e),
        },
        None => match TcpAcceptor::from_std(listener) {
            Ok(acceptor) => Server::new_with_acceptor(acceptor).run(app).await,
            Err(e) => Err(e),
        },
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-poem: {e}");
            ExitCode::FAILURE
        }
    }
}
