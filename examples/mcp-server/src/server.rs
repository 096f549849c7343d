//! The MCP server itself: an rmcp [`ServerHandler`] for the tools, resources, prompts,
//! completions, logging and subscriptions of [`crate::catalog`].

// Logging, sampling and `resources/subscribe` are deprecated in rmcp by SEP-2577 (the
// 2026-07-28 protocol), but they are what the conformance suite's 2025-06-18 / 2025-11-25
// scenarios exercise, so this server implements them.
#![allow(deprecated)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    CompletionInfo, ContentBlock, CreateMessageRequestParams, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam,
    ReadResourceRequestParams, ReadResourceResponse, Reference, ServerCapabilities, ServerConfig,
    SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

use crate::catalog;
use crate::reconnect::Streams;

/// One MCP session's server: the Streamable HTTP transport of [`crate::app`] makes one per
/// session. Holds the session's logging level and subscriptions; the registry of streams
/// behind `test_reconnection` is shared by all sessions.
#[derive(Debug)]
pub struct ConformanceServer {
    /// The level set with `logging/setLevel`; messages below it are not sent.
    level: Mutex<LoggingLevel>,
    /// The URIs subscribed to with `resources/subscribe`.
    subscriptions: Mutex<BTreeSet<String>>,
    streams: Arc<Streams>,
}

/// The severity rank of a level (RFC 5424 order, `debug` lowest).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

fn text(text: impl Into<String>) -> ContentBlock {
    ContentBlock::text(text)
}

/// A tool result from its JSON shape.
fn result(value: Value) -> Result<CallToolResponse, ErrorData> {
    Ok(catalog::from_wire::<CallToolResult>(value).into())
}

fn success(blocks: Vec<ContentBlock>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(blocks).into())
}

/// A string argument of a tool call.
fn string_argument(request: &CallToolRequestParams, name: &str) -> Option<String> {
    request
        .arguments
        .as_ref()?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

impl ConformanceServer {
    /// A session's server, sharing `streams` (see [`crate::reconnect`]).
    pub(crate) fn new(streams: Arc<Streams>) -> Self {
        Self {
            level: Mutex::new(LoggingLevel::Info),
            subscriptions: Mutex::new(BTreeSet::new()),
            streams,
        }
    }

    /// The URIs this session is subscribed to.
    pub fn subscriptions(&self) -> Vec<String> {
        let subscriptions = self
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscriptions.iter().cloned().collect()
    }

    /// Sends `message` at `level` unless the session's level filters it out.
    async fn log(&self, context: &RequestContext<RoleServer>, level: LoggingLevel, message: &str) {
        let threshold = *self.level.lock().unwrap_or_else(PoisonError::into_inner);
        if rank(level) < rank(threshold) {
            return;
        }
        let param = LoggingMessageNotificationParam::new(level, json!(message))
            .with_logger("conformance-server");
        // A client that went away misses the message; the tool still completes.
        let _ = context.peer.notify_logging_message(param).await;
    }

    async fn tool_with_logging(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.log(context, LoggingLevel::Info, "Tool execution started")
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.log(context, LoggingLevel::Info, "Tool processing data")
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.log(context, LoggingLevel::Info, "Tool execution completed")
            .await;
        success(vec![text("Tool with logging executed successfully")])
    }

    async fn tool_with_progress(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let token = context.meta.get_progress_token();
        for (step, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if step > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(token) = &token {
                let param = ProgressNotificationParam::new(token.clone(), progress)
                    .with_total(100.0)
                    .with_message(format!("step {} of 3", step + 1));
                let _ = context.peer.notify_progress(param).await;
            }
        }
        success(vec![text("Tool with progress executed successfully")])
    }

    async fn sampling(
        &self,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(prompt) = string_argument(request, "prompt") else {
            return Err(ErrorData::invalid_params("missing argument `prompt`", None));
        };
        let supported = context
            .peer
            .peer_info()
            .is_some_and(|info| info.capabilities.sampling.is_some());
        if !supported {
            return Ok(CallToolResult::error(vec![text(
                "The client does not support sampling (no `sampling` capability)",
            )])
            .into());
        }
        let params: CreateMessageRequestParams = catalog::from_wire(json!({
            "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
            "maxTokens": 100
        }));
        match context.peer.create_message(params).await {
            Ok(answer) => {
                let wire = serde_json::to_value(&answer).unwrap_or_default();
                let said = wire["content"]["text"].as_str().unwrap_or("").to_owned();
                success(vec![text(format!("LLM response: {said}"))])
            }
            Err(err) => {
                Ok(CallToolResult::error(vec![text(format!("sampling failed: {err}"))]).into())
            }
        }
    }

    async fn elicitation(
        &self,
        params: rmcp::model::ElicitRequestParams,
        context: &RequestContext<RoleServer>,
        prefix: &str,
    ) -> Result<CallToolResponse, ErrorData> {
        let supported = context
            .peer
            .peer_info()
            .is_some_and(|info| info.capabilities.elicitation.is_some());
        if !supported {
            return Ok(CallToolResult::error(vec![text(
                "The client does not support elicitation (no `elicitation` capability)",
            )])
            .into());
        }
        match context.peer.create_elicitation(params).await {
            Ok(answer) => {
                let wire = serde_json::to_value(&answer).unwrap_or_default();
                let action = wire["action"].as_str().unwrap_or("unknown");
                let content = wire.get("content").cloned().unwrap_or(Value::Null);
                success(vec![text(format!(
                    "{prefix}: action={action}, content={content}"
                ))])
            }
            Err(err) => {
                Ok(CallToolResult::error(vec![text(format!("elicitation failed: {err}"))]).into())
            }
        }
    }

    /// `test_reconnection`: closes this call's SSE stream, waits until the client resumes it
    /// with `Last-Event-ID`, then answers on the resumed stream (SEP-1699).
    async fn reconnection(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let session = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.headers.get("mcp-session-id"))
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let resumed = match session {
            Some(session) => {
                self.streams
                    .disconnect_and_await_resume(&session, &context.id)
                    .await
            }
            None => false,
        };
        let how = if resumed {
            "after the client resumed the closed stream"
        } else {
            "without a stream disconnection"
        };
        success(vec![text(format!("Reconnection test completed {how}"))])
    }
}

impl ServerHandler for ConformanceServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_tools()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "jwt-rbac-mcp-conformance-server",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "The server the MCP conformance suite's server scenarios call, behind jwt-axum.",
            )
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        *self.level.lock().unwrap_or_else(PoisonError::into_inner) = request.level;
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let reference = match &request.r#ref {
            Reference::Prompt(prompt) => prompt.name.as_str(),
            Reference::Resource(template) => template.uri.as_str(),
            _ => "",
        };
        let values = catalog::complete(reference, &request.argument.name, &request.argument.value);
        let info = CompletionInfo::with_all_values(values)
            .map_err(|err| ErrorData::internal_error(err, None))?;
        Ok(CompleteResult::new(info))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // Only the tools this caller may call, from the table the layer decided with.
        let mut tools = catalog::tools();
        match jwt_axum::rmcp::auth_context(&context) {
            Some(ctx) => jwt_axum::rmcp::retain_callable(ctx, &mut tools),
            None => tools.clear(),
        }
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        match request.name.as_ref() {
            "test_simple_text" => {
                success(vec![text("This is a simple text response for testing.")])
            }
            "test_image_content" => {
                success(vec![ContentBlock::image(catalog::PNG_BASE64, "image/png")])
            }
            "test_audio_content" => {
                success(vec![ContentBlock::audio(catalog::WAV_BASE64, "audio/wav")])
            }
            "test_embedded_resource" => result(json!({
                "content": [{
                    "type": "resource",
                    "resource": {
                        "uri": "test://embedded-resource",
                        "mimeType": "text/plain",
                        "text": "This is an embedded resource content."
                    }
                }]
            })),
            "test_multiple_content_types" => result(json!({
                "content": [
                    { "type": "text", "text": "Multiple content types test:" },
                    { "type": "image", "data": catalog::PNG_BASE64, "mimeType": "image/png" },
                    {
                        "type": "resource",
                        "resource": {
                            "uri": "test://mixed-content-resource",
                            "mimeType": "application/json",
                            "text": json!({ "test": "data", "value": 123 }).to_string()
                        }
                    }
                ]
            })),
            "test_tool_with_logging" => self.tool_with_logging(&context).await,
            "test_tool_with_progress" => self.tool_with_progress(&context).await,
            "test_error_handling" => Ok(CallToolResult::error(vec![text(
                "This tool intentionally returns an error for testing",
            )])
            .into()),
            "test_sampling" => self.sampling(&request, &context).await,
            "test_elicitation" => {
                let Some(message) = string_argument(&request, "message") else {
                    return Err(ErrorData::invalid_params(
                        "missing argument `message`",
                        None,
                    ));
                };
                let params = catalog::elicit_contact(&message);
                self.elicitation(params, &context, "User response").await
            }
            "test_elicitation_sep1034_defaults" => {
                let params = catalog::elicit_form(
                    "Please review these values (each has a default)",
                    catalog::sep1034_schema(),
                );
                self.elicitation(params, &context, "Elicitation completed")
                    .await
            }
            "test_elicitation_sep1330_enums" => {
                let params =
                    catalog::elicit_form("Please pick your options", catalog::sep1330_schema());
                self.elicitation(params, &context, "Elicitation completed")
                    .await
            }
            catalog::JSON_SCHEMA_TOOL => {
                let arguments = request.arguments.clone().unwrap_or_default();
                success(vec![text(format!(
                    "Received arguments: {}",
                    Value::Object(arguments)
                ))])
            }
            "test_reconnection" => self.reconnection(&context).await,
            other => Err(ErrorData::invalid_params(
                format!("unknown tool `{other}`"),
                None,
            )),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(catalog::resources()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            catalog::resource_templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        catalog::read(&request.uri).map(Into::into).ok_or_else(|| {
            ErrorData::resource_not_found(
                format!("no resource `{}`", request.uri),
                Some(json!({ "uri": request.uri })),
            )
        })
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&request.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(catalog::prompts()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let argument = |name: &str| {
            arguments
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let messages = catalog::prompt_messages(&request.name, argument)
            .map_err(|err| ErrorData::invalid_params(err, None))?;
        Ok(catalog::from_wire::<GetPromptResult>(messages).into())
    }
}
