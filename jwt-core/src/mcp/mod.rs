//! MCP endpoints: every call arrives as a JSON-RPC message on one `POST`, so the route table
//! alone sees one route. On an endpoint the table declares ([`crate::RouteTableBuilder::mcp`])
//! the engine reads the body: each message's method and the tool, prompt or resource it
//! targets ([`McpOperation`]) is looked up in the table's `MCP` rows, and the request passes
//! only when every message of it does. The adapters buffer the body (bounded) on that endpoint
//! only and hand the same bytes to the handler.

pub(crate) mod headers;
pub(crate) mod message;
