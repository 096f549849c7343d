//! An rmcp server (the official Rust MCP SDK) behind the layer: rmcp's Streamable HTTP service
//! is a tower service, nested in an axum `Router` under the layer, and it hands each handler
//! the HTTP request's [`http::request::Parts`] in its request context, where the layer put the
//! caller's [`AuthContext`]. The layer has already decided each message on the JSON-RPC body
//! (see `RouteTableBuilder::mcp`); these helpers give handlers what it decided.
//!
//! ```
//! use jwt_axum::rmcp::{auth_context, retain_callable};
//! use rmcp::model::{ListToolsResult, PaginatedRequestParams, Tool};
//! use rmcp::service::{RequestContext, RoleServer};
//!
//! /// A `list_tools` that shows only what the caller may call.
//! fn list_tools(all: Vec<Tool>, context: &RequestContext<RoleServer>) -> ListToolsResult {
//!     let mut tools = all;
//!     match auth_context(context) {
//!         Some(ctx) => retain_callable(ctx, &mut tools),
//!         None => tools.clear(),
//!     }
//!     ListToolsResult::with_all_items(tools)
//! }
//! ```

use jwt_core::AuthContext;
use rmcp::model::Tool;
use rmcp::service::{RequestContext, ServiceRole};

/// The caller's context in an rmcp handler: the one the layer put into the HTTP request whose
/// message this is. `None` when the request did not pass the layer with an identity (an
/// excluded operation, or no layer in front of the service: fail closed on `None`).
pub fn auth_context<R: ServiceRole>(context: &RequestContext<R>) -> Option<&AuthContext> {
    context
        .extensions
        .get::<http::request::Parts>()?
        .extensions
        .get::<AuthContext>()
}

/// Keeps the tools the caller may call ([`AuthContext::may_call_tool`], from the table the
/// layer decided with): for a `tools/list` that shows each caller only what it may use.
pub fn retain_callable(ctx: &AuthContext, tools: &mut Vec<Tool>) {
    ctx.retain_callable_tools(tools, |t| &t.name);
}
