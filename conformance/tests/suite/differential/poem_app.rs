//! The poem app: `Path` extractors, the admin routes in a `Route` nested at `/api/admin` with the
//! middleware on it, the root routes in a `Route` with the middleware mounted at `/`.

use jwt_core::JwtAuth;
use jwt_poem::JwtAuthExt as _;
use poem::listener::TcpAcceptor;
use poem::web::Path;
use poem::{EndpointExt as _, Response, Route, Server, get, handler, post};

use super::app::{Running, Stop, answer};
use super::corpus::route;

fn reply(route: &str, params: &[(&str, &str)]) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(answer(route, params))
}

#[handler]
fn items() -> Response {
    reply(route::ITEMS, &[])
}

#[handler]
fn item(Path(id): Path<String>) -> Response {
    reply(route::ITEM, &[("id", &id)])
}

#[handler]
fn item_runs(Path(id): Path<String>) -> Response {
    reply(route::ITEM_RUNS, &[("id", &id)])
}

#[handler]
fn admin_reset() -> Response {
    reply(route::ADMIN_RESET, &[])
}

#[handler]
fn files(Path(path): Path<String>) -> Response {
    reply(route::FILES, &[("path", &path)])
}

#[handler]
fn health() -> Response {
    reply(route::HEALTH, &[])
}

#[handler]
fn admin_items() -> Response {
    reply(route::ADMIN_ITEMS, &[])
}

#[handler]
fn admin_item(Path(id): Path<String>) -> Response {
    reply(route::ADMIN_ITEM, &[("id", &id)])
}

/// Starts the server on 127.0.0.1, port 0.
pub(crate) async fn start(auth: &JwtAuth) -> Running {
    let admin = Route::new()
        .at("/items", get(admin_items))
        .at("/items/:id", get(admin_item));
    let root = Route::new()
        .at("/items", get(items))
        .at("/items/:id", get(item))
        .at("/items/:id/runs", post(item_runs))
        .at("/admin@reset", post(admin_reset))
        .at("/files/*path", get(files))
        .at("/health", get(health));
    let app = Route::new()
        .nest("/api/admin", admin.with(auth.middleware()))
        .nest_no_strip("/", root.with(auth.middleware()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async move {
                    let _ = stopped.await;
                },
                Some(std::time::Duration::from_secs(1)),
            )
            .await
            .expect("poem server");
    });
    Running {
        name: "poem",
        addr,
        stop: Stop::Task(signal, task),
    }
}
