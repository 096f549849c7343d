//! The axum app: `Path` extractors, the root routes behind their own layer, and the admin routes
//! in a router nested at `/api/admin` with the layer on the nested router.

use axum::Router;
use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, post};
use jwt_axum::JwtAuthExt as _;
use jwt_core::JwtAuth;

use super::app::{Running, Stop, answer};
use super::corpus::route;

/// A handler's response.
type Reply = ([(axum::http::HeaderName, &'static str); 1], String);

fn reply(route: &str, params: &[(&str, &str)]) -> Reply {
    ([(CONTENT_TYPE, "application/json")], answer(route, params))
}

async fn items() -> Reply {
    reply(route::ITEMS, &[])
}

async fn item(Path(id): Path<String>) -> Reply {
    reply(route::ITEM, &[("id", &id)])
}

async fn item_runs(Path(id): Path<String>) -> Reply {
    reply(route::ITEM_RUNS, &[("id", &id)])
}

async fn admin_reset() -> Reply {
    reply(route::ADMIN_RESET, &[])
}

async fn files(Path(path): Path<String>) -> Reply {
    reply(route::FILES, &[("path", &path)])
}

async fn health() -> Reply {
    reply(route::HEALTH, &[])
}

async fn admin_items() -> Reply {
    reply(route::ADMIN_ITEMS, &[])
}

async fn admin_item(Path(id): Path<String>) -> Reply {
    reply(route::ADMIN_ITEM, &[("id", &id)])
}

/// Starts the server on 127.0.0.1, port 0.
pub(crate) async fn start(auth: &JwtAuth) -> Running {
    let admin = Router::new()
        .route("/items", get(admin_items))
        .route("/items/{id}", get(admin_item))
        .layer(auth.layer());
    // The root routes' layer is added before the nest, so it guards them (and the fallback)
    // but not the nested router, which has its own.
    let app = Router::new()
        .route("/items", get(items))
        .route("/items/{id}", get(item))
        .route("/items/{id}/runs", post(item_runs))
        .route("/admin@reset", post(admin_reset))
        .route("/files/{*path}", get(files))
        .route("/health", get(health))
        .layer(auth.layer())
        .nest("/api/admin", admin);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (signal, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .expect("axum server");
    });
    Running {
        name: "axum",
        addr,
        stop: Stop::Task(signal, task),
    }
}
