//! Serves the conformance MCP server behind jwt-axum on 127.0.0.1 and prints a token to call it
//! with (scope `mcp:all`, valid for an hour).
//!
//! usage: `mcp-server [port]` (default 0: any free port). The HS256 secret is read from
//! `MCP_SERVER_SECRET` (at least 32 bytes); without it a fixed development secret is used.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

/// The secret used when `MCP_SERVER_SECRET` is not set: for local trials only.
const DEV_SECRET: &str = "mcp-server-development-secret-0123456789";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse()?,
        None => 0,
    };
    let secret = std::env::var("MCP_SERVER_SECRET").unwrap_or_else(|_| DEV_SECRET.to_owned());
    let auth = mcp_server::auth(secret.as_bytes())?;
    let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 3600;
    let token = jwt_core::mint::hs256(
        secret.as_bytes(),
        &json!({ "sub": "mcp-client", "scope": mcp_server::SCOPE, "exp": exp }),
    )?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}{}", listener.local_addr()?, mcp_server::MCP_PATH);
    println!("MCP endpoint: {url}");
    println!("Authorization: Bearer {token}");
    axum::serve(listener, mcp_server::app(&auth)).await?;
    Ok(())
}
