//! What every framework's app shares: the handlers' answer and a running server's handle.

use std::net::SocketAddr;

use serde_json::{Map, Value, json};

/// The handlers' body: `{"route": <route name>, "params": {<name>: <value as received>}}`.
pub(crate) fn answer(route: &str, params: &[(&str, &str)]) -> String {
    let params: Map<String, Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    json!({ "route": route, "params": params }).to_string()
}

/// How to stop a server.
pub(crate) enum Stop {
    /// A server task on the test's runtime: signal it, then wait for it.
    Task(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ),
    /// actix-web on its own thread and system.
    Actix(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>),
}

/// A server listening on 127.0.0.1.
pub(crate) struct Running {
    /// The adapter's name.
    pub(crate) name: &'static str,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// How to stop it.
    pub(crate) stop: Stop,
}

impl Running {
    /// Stops the server and waits until it has shut down.
    pub(crate) async fn stop(self) {
        match self.stop {
            Stop::Task(signal, task) => {
                let _ = signal.send(());
                task.await.expect("server task");
            }
            Stop::Actix(handle, thread) => {
                handle.stop(false).await;
                tokio::task::spawn_blocking(move || thread.join())
                    .await
                    .expect("join task")
                    .expect("actix thread");
            }
        }
    }
}
