//! Why the body of a request to an MCP endpoint is refused.

/// Why an MCP request body is refused (400, with a JSON-RPC error body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum McpRejection {
    /// The body is not JSON (JSON-RPC `-32700`).
    #[error("the body is not JSON")]
    NotJson,
    /// The body is JSON but not a JSON-RPC 2.0 message or batch of them (`-32600`).
    #[error("the body is not a JSON-RPC 2.0 message")]
    NotJsonRpc,
    /// An empty batch (`-32600`).
    #[error("the batch is empty")]
    EmptyBatch,
    /// A member the decision reads (in a message or its `params`) appears twice (`-32600`).
    #[error("a member appears twice")]
    DuplicateMember,
    /// A method whose target the decision reads has no string `name` / `uri` (`-32602`).
    #[error("the target's name or uri is missing")]
    MissingTarget,
    /// The body is larger than the endpoint's bound (`-32600`).
    #[error("the body is too large")]
    TooLarge,
    /// The body could not be read (`-32600`).
    #[error("the body could not be read")]
    Unreadable,
    /// The `Mcp-Method` or `Mcp-Name` header disagrees with the body (`-32020`).
    #[error("the Mcp-Method or Mcp-Name header does not match the body")]
    HeaderMismatch,
}

impl McpRejection {
    /// Each rejection's JSON-RPC error code and reason code, declared together (the message
    /// the client reads is on the variant).
    fn facts(self) -> (i32, &'static str) {
        match self {
            McpRejection::NotJson => (-32700, "mcp_not_json"),
            McpRejection::NotJsonRpc => (-32600, "mcp_not_jsonrpc"),
            McpRejection::EmptyBatch => (-32600, "mcp_empty_batch"),
            McpRejection::DuplicateMember => (-32600, "mcp_duplicate_member"),
            McpRejection::MissingTarget => (-32602, "mcp_missing_target"),
            McpRejection::TooLarge => (-32600, "mcp_body_too_large"),
            McpRejection::Unreadable => (-32600, "mcp_body_unreadable"),
            McpRejection::HeaderMismatch => (-32020, "mcp_header_mismatch"),
        }
    }

    /// The JSON-RPC error code of the answer.
    ///
    /// ```
    /// assert_eq!(jwt_core::McpRejection::NotJson.code(), -32700);
    /// assert_eq!(jwt_core::McpRejection::HeaderMismatch.code(), -32020);
    /// ```
    pub fn code(self) -> i32 {
        self.facts().0
    }

    /// The reason code in logs and metrics (`mcp_not_json`, ...).
    pub fn reason(self) -> &'static str {
        self.facts().1
    }
}
