//! The `Mcp-Method` and `Mcp-Name` request headers (MCP 2026-07-28, SEP-2243): a client mirrors
//! the body's method and target into them for proxies and gateways. The decision reads the
//! body; a header that disagrees with it is refused, so that nothing in front of the server
//! can be shown one operation while the server runs another.

use base64::Engine as _;

use crate::error::McpRejection;
use crate::mcp::message::McpOperation;
use crate::token::request::{HeaderLookup, RequestParts, lookup};

/// The header mirroring the JSON-RPC method.
pub const MCP_METHOD_HEADER: &str = "Mcp-Method";
/// The header mirroring the target (`params.name` or `params.uri`).
pub const MCP_NAME_HEADER: &str = "Mcp-Name";

/// Checks the headers `req` carries against the body's operations: each present header must
/// be sent once and equal what the body says. A batch carries several operations, which one
/// header cannot mirror: the headers are then refused.
pub(crate) fn agree(req: &dyn RequestParts, ops: &[McpOperation]) -> Result<(), McpRejection> {
    let method = lookup(req, MCP_METHOD_HEADER);
    let name = lookup(req, MCP_NAME_HEADER);
    if method == HeaderLookup::Missing && name == HeaderLookup::Missing {
        return Ok(());
    }
    let [op] = ops else {
        return Err(McpRejection::HeaderMismatch);
    };
    let matches = |found: HeaderLookup<'_>, expected: Option<&str>| match found {
        HeaderLookup::Missing => true,
        HeaderLookup::Several => false,
        HeaderLookup::One(value) => {
            expected.is_some_and(|e| decode(value).is_some_and(|v| v == e.as_bytes()))
        }
    };
    let body_method = (!op.method().is_empty()).then(|| op.method());
    if matches(method, body_method) && matches(name, op.target()) {
        Ok(())
    } else {
        Err(McpRejection::HeaderMismatch)
    }
}

/// A header value as the client meant it: the text itself, or the bytes of a value the client
/// had to encode (`=?base64?<standard base64>?=`, for text a header cannot carry). Surrounding
/// whitespace is not part of a field value (RFC 9110 §5.5).
fn decode(value: &[u8]) -> Option<Vec<u8>> {
    let value = value.trim_ascii();
    match value
        .strip_prefix(b"=?base64?")
        .and_then(|v| v.strip_suffix(b"?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok(),
        None => Some(value.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::request::SimpleRequest;

    fn check(headers: &[(&'static str, &'static str)], body: &str) -> Result<(), McpRejection> {
        let ops = McpOperation::parse_body(body.as_bytes()).unwrap();
        let mut req = SimpleRequest::new("POST", "/mcp");
        for (n, v) in headers {
            req = req.header(n, v);
        }
        agree(&req, &ops)
    }

    const CALL: &str =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}"#;

    #[test]
    fn headers_must_mirror_the_body() {
        use McpRejection::HeaderMismatch;
        assert_eq!(check(&[], CALL), Ok(()));
        assert_eq!(check(&[("Mcp-Method", "tools/call")], CALL), Ok(()));
        assert_eq!(
            check(
                &[("mcp-method", "tools/call"), ("mcp-name", "search")],
                CALL
            ),
            Ok(())
        );
        assert_eq!(check(&[("Mcp-Name", "=?base64?c2VhcmNo?=")], CALL), Ok(()));
        assert_eq!(check(&[("Mcp-Name", "delete")], CALL), Err(HeaderMismatch));
        assert_eq!(check(&[("Mcp-Name", "Search")], CALL), Err(HeaderMismatch));
        assert_eq!(
            check(&[("Mcp-Method", "tools/list")], CALL),
            Err(HeaderMismatch)
        );
        assert_eq!(
            check(&[("Mcp-Name", "search"), ("Mcp-Name", "search")], CALL),
            Err(HeaderMismatch)
        );
        assert_eq!(
            check(&[("Mcp-Name", "=?base64?!!?=")], CALL),
            Err(HeaderMismatch)
        );
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(check(&[("Mcp-Name", "search")], list), Err(HeaderMismatch));
        let batch = format!("[{CALL},{CALL}]");
        assert_eq!(check(&[], &batch), Ok(()));
        let batch: &'static str = Box::leak(batch.into_boxed_str());
        assert_eq!(
            check(&[("Mcp-Method", "tools/call")], batch),
            Err(HeaderMismatch)
        );
        let answer = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        assert_eq!(check(&[("Mcp-Method", "")], answer), Err(HeaderMismatch));
    }
}
