//! An MCP server built on [rmcp](https://docs.rs/rmcp) (the official Rust MCP SDK), served over
//! Streamable HTTP behind [`jwt_axum`]: the proof that the MCP-aware middleware leaves real MCP
//! traffic intact.
//!
//! The server ([`ConformanceServer`]) implements what the official MCP conformance suite's
//! server scenarios (`@modelcontextprotocol/conformance`, `server` command) call: the
//! `test_*` tools (text, image, audio, embedded resource, mixed content, logging, progress,
//! errors, sampling, elicitation with SEP-1034 defaults and SEP-1330 enums, a tool with JSON
//! Schema 2020-12 keywords, and `test_reconnection`, which closes its SSE stream mid-call and
//! answers after the client resumes it, SEP-1699), the `test://` resources and resource
//! template, subscriptions, the `test_*` prompts, completion and `logging/setLevel`.
//!
//! In front of it, [`app`] puts the layer of a [`JwtAuth`] whose table ([`route_table`]) treats
//! `/mcp` as an MCP endpoint: the protocol's own methods (`initialize`, `ping`,
//! notifications, the lists, `completion/complete`, `logging/setLevel`), the client's answers
//! to server requests, and `GET` / `DELETE` on the endpoint need a valid token; calling a tool,
//! reading a resource, getting a prompt and (un)subscribing need the scope [`SCOPE`]. Without
//! a token every request is answered 401 before rmcp sees it.
//!
//! The crate's test (`tests/conformance_suite.rs`) runs the suite's server scenarios against
//! this server through a proxy that adds a valid token to every request
//! (`test-support/mcp/inject-token.mjs`), and expects none to fail; pointed straight at the
//! server, without a token, they fail with 401. The binary (`cargo run -p mcp-server`) serves
//! the same app and prints a token to call it with.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use jwt_axum::JwtAuthExt as _;
use jwt_core::{ConfigError, JwtAuth, RouteTable, StaticKeys};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod catalog;
mod reconnect;
mod server;

pub use server::ConformanceServer;

/// The path of the MCP endpoint.
pub const MCP_PATH: &str = "/mcp";

/// The scope a token needs to call tools, read resources, get prompts and subscribe.
pub const SCOPE: &str = "mcp:all";

/// The route table: `/mcp` is an MCP endpoint; the operations that name a tool, resource or
/// prompt need [`SCOPE`]; the protocol's own methods need a valid token; anything else is
/// denied.
///
/// # Errors
/// Never in practice: the rows are constants (a [`ConfigError`] would mean a malformed row).
pub fn route_table() -> Result<RouteTable, ConfigError> {
    RouteTable::builder()
        .mcp(MCP_PATH)
        .route("MCP tools/call *", [SCOPE])
        .route("MCP resources/read *", [SCOPE])
        .route("MCP prompts/get *", [SCOPE])
        .route("MCP resources/subscribe *", [SCOPE])
        .route("MCP resources/unsubscribe *", [SCOPE])
        .build()
}

/// The engine: HS256 tokens signed with `secret` (any issuer), authorized by [`route_table`].
///
/// # Errors
/// A secret shorter than HS256 allows, see [`StaticKeys::hs256`].
pub fn auth(secret: &[u8]) -> Result<JwtAuth, ConfigError> {
    JwtAuth::builder()
        .verifier(StaticKeys::hs256(secret)?)
        .dangerous_any_issuer()
        .scopes(route_table()?)
        .build()
}

/// The Streamable HTTP transport serving one [`ConformanceServer`] per session, and the
/// registry of streams `test_reconnection` closes.
fn mcp_service() -> (
    StreamableHttpService<ConformanceServer, LocalSessionManager>,
    Arc<reconnect::Streams>,
) {
    let sessions = Arc::new(LocalSessionManager::default());
    let streams = Arc::new(reconnect::Streams::new(Arc::clone(&sessions)));
    let per_session = Arc::clone(&streams);
    let service = StreamableHttpService::new(
        move || Ok(ConformanceServer::new(Arc::clone(&per_session))),
        sessions,
        // Sessions, SSE answers with priming events, and rmcp's default Host check (loopback
        // names only), which the conformance suite's DNS-rebinding scenario tests.
        StreamableHttpServerConfig::default(),
    );
    (service, streams)
}

/// The axum app: the MCP endpoint at [`MCP_PATH`] behind `auth`'s layer.
pub fn app(auth: &JwtAuth) -> Router {
    let (service, streams) = mcp_service();
    Router::new()
        .route_service(MCP_PATH, service)
        .layer(axum::middleware::from_fn_with_state(
            streams,
            reconnect::track,
        ))
        .layer(auth.layer())
}

/// A running server (see [`spawn`]); stopped when dropped.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The MCP endpoint's URL, `http://127.0.0.1:<port>/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}{MCP_PATH}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves [`app`] on `127.0.0.1:<port>` (0: any free port) on the current tokio runtime.
///
/// # Errors
/// The port cannot be bound.
pub async fn spawn(auth: &JwtAuth, port: u16) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let app = app(auth);
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running { addr, task })
}
