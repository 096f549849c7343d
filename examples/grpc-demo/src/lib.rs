//! A tonic gRPC service protected by jwt-axum's tower layer, the way a gRPC service uses this
//! library: the route table maps `/package.Service/Method` to scopes, refusals reach the client
//! as gRPC statuses (`UNAUTHENTICATED`, `PERMISSION_DENIED`, `INVALID_ARGUMENT`,
//! `UNAVAILABLE`) with the RFC 6750 challenge in `www-authenticate`, and the handlers read the
//! caller's [`AuthContext`] from the request extensions.
//!
//! `cargo run -p grpc-demo` starts it on a loopback port and calls it with a tonic client.

#![forbid(unsafe_code)]

use jwt_axum::JwtAuthExt as _;
use jwt_core::{AccessibleIds, AuthContext, ConfigError, JwtAuth, RouteTable, StaticKeys};
use tonic::{Request, Response, Status};

/// The generated client and server stubs (see `build.rs`).
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/agents.v1.Agents.rs"));
}

pub use proto::agents_client::AgentsClient;
pub use proto::agents_server::{Agents, AgentsServer};

/// `agents.v1.Agents/List`'s request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListRequest {}

/// The agents the caller may see.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListReply {
    /// Agent ids.
    #[prost(string, repeated, tag = "1")]
    pub agent_ids: Vec<String>,
}

/// `agents.v1.Agents/Run`'s request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RunRequest {
    /// The agent to run.
    #[prost(string, tag = "1")]
    pub agent_id: String,
    /// Its input.
    #[prost(string, tag = "2")]
    pub input: String,
}

/// The run's result.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RunReply {
    /// What the agent answered.
    #[prost(string, tag = "1")]
    pub output: String,
    /// Who ran it (the token's `sub`).
    #[prost(string, tag = "2")]
    pub user_id: String,
}

/// `agents.v1.Agents/WhoAmI`'s request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoAmIRequest {}

/// The caller as the service sees it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoAmIReply {
    /// The token's `sub`.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// The token's scopes.
    #[prost(string, repeated, tag = "2")]
    pub scopes: Vec<String>,
}

/// The agents this service knows.
pub const AGENTS: [&str; 3] = ["agent-1", "agent-2", "agent-3"];

/// Which method needs what: `List` needs `agents:read`, `Run` any valid token plus `agents:<id>:run` checked in the handler (the id
/// is in the message, not the path), `WhoAmI` any valid token. Every other method, of this
/// service or another, is refused (the table fails closed).
///
/// # Errors
/// A [`ConfigError`] if the table is wrong (it is not).
pub fn route_table() -> Result<RouteTable, ConfigError> {
    RouteTable::builder()
        .grpc("agents.v1.Agents/List", ["agents:read"])
        .grpc("agents.v1.Agents/Run", Vec::<String>::new())
        .grpc("agents.v1.Agents/WhoAmI", Vec::<String>::new())
        // AgentOS-style scopes: `agents:read` covers every agent, `agents:a1:run` one.
        .hierarchical_scopes()
        .build()
}

/// The middleware for `secret` (HS256) and [`route_table`].
///
/// # Errors
/// A [`ConfigError`] for a secret shorter than 32 bytes.
pub fn auth(secret: &[u8]) -> Result<JwtAuth, ConfigError> {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(StaticKeys::hs256(secret)?)
        .scopes(route_table()?)
        .build()
}

/// The service.
#[derive(Debug, Default, Clone, Copy)]
pub struct AgentsService;

/// The caller the layer authenticated: tonic hands the request's extensions to the handler.
fn caller<T>(req: &Request<T>) -> Result<&AuthContext, Status> {
    req.extensions()
        .get::<AuthContext>()
        .ok_or_else(|| Status::unauthenticated("not authenticated"))
}

#[tonic::async_trait]
impl Agents for AgentsService {
    async fn list(&self, req: Request<ListRequest>) -> Result<Response<ListReply>, Status> {
        let ids = caller(&req)?.listing_ids("agents");
        let agent_ids = match ids {
            AccessibleIds::All => AGENTS.iter().map(|a| (*a).to_owned()).collect(),
            only => only
                .filter(AGENTS, |a| a)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        };
        Ok(Response::new(ListReply { agent_ids }))
    }

    async fn run(&self, req: Request<RunRequest>) -> Result<Response<RunReply>, Status> {
        let ctx = caller(&req)?;
        let agent = &req.get_ref().agent_id;
        if !AGENTS.contains(&agent.as_str()) {
            return Err(Status::not_found(format!("no agent {agent:?}")));
        }
        if !ctx.can(&format!("agents:{agent}:run")) {
            return Err(Status::permission_denied(format!(
                "Insufficient permissions. Required scope(s): agents:{agent}:run"
            )));
        }
        let user_id = ctx.user_id().unwrap_or_default().to_owned();
        Ok(Response::new(RunReply {
            output: format!("{agent} ran {:?}", req.get_ref().input),
            user_id,
        }))
    }

    async fn whoami(&self, req: Request<WhoAmIRequest>) -> Result<Response<WhoAmIReply>, Status> {
        let ctx = caller(&req)?;
        Ok(Response::new(WhoAmIReply {
            user_id: ctx.user_id().unwrap_or_default().to_owned(),
            scopes: ctx.scopes().to_vec(),
        }))
    }
}

/// Serves [`AgentsService`] behind `auth`'s tower layer on `listener` until it fails.
///
/// # Errors
/// The transport's error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    auth: JwtAuth,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .layer(auth.layer())
        .add_service(AgentsServer::new(AgentsService))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
        .await
}

/// `request` with `Authorization: Bearer <token>` metadata.
///
/// # Errors
/// [`Status::invalid_argument`] for a token that is not a valid header value.
pub fn with_token<T>(request: T, token: &str) -> Result<Request<T>, Status> {
    let mut req = Request::new(request);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| Status::invalid_argument("token is not a header value"))?;
    req.metadata_mut().insert("authorization", value);
    Ok(req)
}
