//! The decision's MCP step: on an MCP endpoint's `POST`, what the JSON-RPC body asks for,
//! message by message, turned into one demand for the whole request (a batch passes only if
//! every message would).

use crate::authz::routes::Access;
use crate::engine::JwtAuth;
use crate::error::AuthErrorKind;
use crate::error::McpRejection;
use crate::mcp::headers::agree;
use crate::mcp::message::read;
use crate::render::AuthError;
use crate::token::request::{RequestBody, RequestParts};

/// What an MCP request demands: the strictest of its messages' demands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct McpDemand {
    /// The row that decided (`MCP tools/call {tool}`), or `MCP batch`.
    pub(crate) route: String,
    pub(crate) level: Level,
    /// Some message is denied outright (no row lists it, or a row denies it).
    pub(crate) denied: bool,
    /// Every scope the messages need, rendered, each once, in order.
    pub(crate) required: Vec<String>,
}

/// How much of a token a request needs, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Excluded,
    Optional,
    Token,
}

impl JwtAuth {
    /// Reads the body of a request to an MCP endpoint and says what it demands.
    ///
    /// # Errors
    /// 400 with a JSON-RPC error for a body that cannot be read without guessing or whose
    /// `Mcp-Method` / `Mcp-Name` headers disagree with it; 500 when the adapter did not read the
    /// body (it must, see [`JwtAuth::body_limit`]).
    pub(super) fn mcp_demand<R: RequestParts>(&self, req: &R) -> Result<McpDemand, AuthError> {
        let reject = |why, id| AuthError::new(AuthErrorKind::InvalidMcpMessage { why, id });
        let body = match req.body() {
            RequestBody::Bytes(b) => b,
            RequestBody::TooLarge => return Err(reject(McpRejection::TooLarge, None)),
            RequestBody::Unreadable => return Err(reject(McpRejection::Unreadable, None)),
            _ => {
                return Err(AuthErrorKind::Misconfigured(
                    "the adapter did not read the body of a request to an MCP endpoint: it must \
                     hand it over (RequestParts::body) when JwtAuth::body_limit asks for it",
                )
                .into());
            }
        };
        let (ops, id) = read(body).map_err(|why| reject(why, None))?;
        agree(req as &dyn RequestParts, &ops).map_err(|why| reject(why, id.clone()))?;
        let mut demand = McpDemand {
            route: String::new(),
            level: Level::Excluded,
            denied: false,
            required: Vec::new(),
        };
        for op in &ops {
            let found = self.inner.mapper.resolve_mcp(op);
            if demand.route.is_empty() {
                demand.route = found.route.unwrap_or("MCP (not listed)").to_owned();
            }
            let level = match &*found.access {
                Access::Excluded => Level::Excluded,
                Access::Optional => Level::Optional,
                Access::Authenticated => Level::Token,
                Access::Scopes(templates) => {
                    for t in templates {
                        let scope = t.render(&found.params);
                        if !demand.required.iter().any(|r| *r == scope) {
                            demand.required.push(scope.into_owned());
                        }
                    }
                    Level::Token
                }
                _ => {
                    demand.denied = true;
                    Level::Token
                }
            };
            demand.level = demand.level.max(level);
        }
        if ops.len() > 1 {
            demand.route = "MCP batch".to_owned();
        }
        Ok(demand)
    }
}
