//! Server-initiated disconnection of a POST's SSE stream and its resumption (SEP-1699), for
//! the `test_reconnection` tool.
//!
//! rmcp's session can close one request's SSE stream and later replay it to a client that
//! reconnects with `Last-Event-ID` ([`LocalSessionHandle::close_sse_stream`]), but that needs
//! the transport's number for the stream, which a tool handler does not see. So
//! [`track`], a middleware in front of the transport, watches the one kind of request
//! concerned, a `tools/call` of `test_reconnection`: it reads the stream number from the first
//! SSE event's id (`<index>/<stream>`), and tells the waiting handler when a `GET` resumes that
//! stream. The handler then closes the stream, waits for the resumption and answers on it.
//!
//! [`LocalSessionHandle::close_sse_stream`]: rmcp::transport::streamable_http_server::session::local::LocalSessionHandle::close_sse_stream

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body::Frame;
use rmcp::model::RequestId;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use serde_json::Value;
use tokio::sync::watch;

/// The tool whose stream is closed mid-call.
const TOOL: &str = "test_reconnection";
/// The largest POST body the middleware reads (the JWT layer's own bound is the same).
const BODY_LIMIT: usize = 1 << 20;
/// How long the handler waits for the stream number, then for the client to resume.
const STREAM_WAIT: Duration = Duration::from_secs(2);
const RESUME_WAIT: Duration = Duration::from_secs(5);
/// The `retry` (milliseconds) the closing priming event tells the client.
const RETRY: Duration = Duration::from_millis(200);

/// One `test_reconnection` call in flight.
#[derive(Debug)]
struct Call {
    /// The transport's number for the call's SSE stream, once seen.
    stream: watch::Sender<Option<u64>>,
    /// Set when a `GET` with `Last-Event-ID` on that stream was answered.
    resumed: watch::Sender<bool>,
}

/// The calls in flight, by (session id, JSON-RPC id as JSON), and the transport's sessions.
#[derive(Debug)]
pub(crate) struct Streams {
    sessions: Arc<LocalSessionManager>,
    calls: Mutex<HashMap<(String, String), Arc<Call>>>,
}

impl Streams {
    pub(crate) fn new(sessions: Arc<LocalSessionManager>) -> Self {
        Self {
            sessions,
            calls: Mutex::new(HashMap::new()),
        }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Arc<Call>>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, session: &str, id: String) -> Arc<Call> {
        let call = Arc::new(Call {
            stream: watch::channel(None).0,
            resumed: watch::channel(false).0,
        });
        self.calls()
            .insert((session.to_owned(), id), Arc::clone(&call));
        call
    }

    /// Marks the calls of `session` on stream `stream` as resumed.
    fn resumed(&self, session: &str, stream: u64) {
        for ((owner, _), call) in self.calls().iter() {
            if owner == session && *call.stream.borrow() == Some(stream) {
                call.resumed.send_replace(true);
            }
        }
    }

    /// For the handler of call `id` in `session`: closes the call's SSE stream and waits until
    /// the client has resumed it. `false` when that did not happen (not a tracked call, no SSE
    /// stream, or no resumption in time); the handler answers either way.
    pub(crate) async fn disconnect_and_await_resume(&self, session: &str, id: &RequestId) -> bool {
        let Ok(id) = serde_json::to_string(id) else {
            return false;
        };
        let key = (session.to_owned(), id);
        let Some(call) = self.calls().get(&key).cloned() else {
            return false;
        };
        let resumed = self.close_and_wait(session, &call).await;
        self.calls().remove(&key);
        resumed
    }

    async fn close_and_wait(&self, session: &str, call: &Call) -> bool {
        let mut stream = call.stream.subscribe();
        let seen = tokio::time::timeout(STREAM_WAIT, stream.wait_for(Option::is_some))
            .await
            .ok()
            .and_then(|seen| seen.ok().and_then(|number| *number));
        let Some(number) = seen else {
            return false;
        };
        let handle = self.sessions.sessions.read().await.get(session).cloned();
        let Some(handle) = handle else {
            return false;
        };
        let mut resumed = call.resumed.subscribe();
        if handle.close_sse_stream(number, Some(RETRY)).await.is_err() {
            return false;
        }
        matches!(
            tokio::time::timeout(RESUME_WAIT, resumed.wait_for(|r| *r)).await,
            Ok(Ok(_))
        )
    }
}

/// The JSON-RPC id (as JSON) of a `tools/call` of [`TOOL`].
fn reconnection_call(body: &[u8]) -> Option<String> {
    let message: Value = serde_json::from_slice(body).ok()?;
    let is_call = message.get("method")?.as_str()? == "tools/call"
        && message.get("params")?.get("name")?.as_str()? == TOOL;
    is_call.then(|| message.get("id").map(Value::to_string))?
}

/// The stream number of an SSE event id `<index>/<stream>`.
fn stream_of(event_id: &str) -> Option<u64> {
    event_id.trim().split_once('/')?.1.parse().ok()
}

/// The stream number of the first SSE event id (`id:` line) in `chunk`.
fn stream_number(chunk: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(chunk).ok()?;
    text.lines()
        .filter_map(|line| line.strip_prefix("id:"))
        .find_map(stream_of)
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name)?.to_str().ok()
}

/// The middleware (see the module docs). Every other request passes through untouched.
pub(crate) async fn track(
    State(streams): State<Arc<Streams>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(session) = header(&request, "mcp-session-id").map(str::to_owned) else {
        return next.run(request).await;
    };
    if request.method() == Method::GET {
        let resumes = header(&request, "last-event-id").and_then(stream_of);
        let response = next.run(request).await;
        // The transport answers a resumption once the stream is attached to this response.
        if let Some(stream) = resumes.filter(|_| response.status().is_success()) {
            streams.resumed(&session, stream);
        }
        return response;
    }
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let call = reconnection_call(&bytes).map(|id| streams.register(&session, id));
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    match call {
        Some(call) => response.map(|body| Body::new(Watch { body, call })),
        None => response,
    }
}

/// A response body that reports the stream number of the first SSE event id it carries.
struct Watch {
    body: Body,
    call: Arc<Call>,
}

impl http_body::Body for Watch {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && self.call.stream.borrow().is_none()
            && let Some(number) = frame.data_ref().and_then(|data| stream_number(data))
        {
            self.call.stream.send_replace(Some(number));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stream_number_of_an_event_id() {
        assert_eq!(stream_number(b"id: 0/7\nretry: 3000\ndata: \n\n"), Some(7));
        assert_eq!(stream_number(b"3/12"), None);
        assert_eq!(stream_number(b"id:3/12\n"), Some(12));
        assert_eq!(stream_number(b"id: 4\ndata: {}\n\n"), None);
        assert_eq!(stream_of("5/2"), Some(2));
    }

    #[test]
    fn recognises_only_a_reconnection_call() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_reconnection"}}"#;
        assert_eq!(reconnection_call(call).as_deref(), Some("1"));
        let other = br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"x"}}"#;
        assert_eq!(reconnection_call(other), None);
        assert_eq!(reconnection_call(b"not json"), None);
    }
}
