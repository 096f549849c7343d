//! Reading the JSON-RPC 2.0 body of an MCP request: one message or a batch, each turned into
//! the [`McpOperation`] the decision reads (its method, and the tool or prompt `name` or the
//! resource `uri` it targets). Only the members the decision reads are interpreted; anything
//! that would make them ambiguous is refused ([`McpRejection`]).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::McpRejection;

/// What one JSON-RPC message on an MCP endpoint asks for.
///
/// ```
/// use jwt_core::McpOperation;
/// let ops = McpOperation::parse_body(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}"#)?;
/// assert_eq!((ops[0].method(), ops[0].target()), ("tools/call", Some("search")));
/// # Ok::<(), jwt_core::McpRejection>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpOperation {
    method: String,
    target: Option<String>,
    kind: McpMessageKind,
    /// The string members of `params.arguments` (a tool call's), which scope templates of an
    /// `MCP` row may name (`agents:{agent_id}:run`).
    arguments: Vec<(String, String)>,
}

/// The three kinds of JSON-RPC message a client posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpMessageKind {
    /// A request (it has an `id`): an answer is expected.
    Request,
    /// A notification (no `id`).
    Notification,
    /// A response to a request the server sent (sampling, elicitation, roots): `result` or
    /// `error`, no `method`.
    Response,
}

/// The methods whose target the decision reads, and the member that names it.
const TARGETS: [(&str, &str); 5] = [
    ("tools/call", "name"),
    ("prompts/get", "name"),
    ("resources/read", "uri"),
    ("resources/subscribe", "uri"),
    ("resources/unsubscribe", "uri"),
];

/// The member of `params` naming what `method` acts on, if the decision reads one.
pub(crate) fn target_member(method: &str) -> Option<&'static str> {
    TARGETS.iter().find(|(m, _)| *m == method).map(|(_, t)| *t)
}

impl McpOperation {
    /// An operation: `method` (`tools/call`) and its target (the tool's name), a request.
    /// For tests, tools and [`crate::AuthContext::may_call`].
    pub fn new(method: impl Into<String>, target: Option<&str>) -> Self {
        Self {
            method: method.into(),
            target: target.map(str::to_owned),
            kind: McpMessageKind::Request,
            arguments: Vec::new(),
        }
    }

    /// The operation with a string argument (`params.arguments.<name>`), as a call would carry
    /// it.
    ///
    /// ```
    /// use jwt_core::McpOperation;
    /// let op = McpOperation::new("tools/call", Some("run_agent")).with_argument("agent_id", "a1");
    /// assert_eq!(op.argument("agent_id"), Some("a1"));
    /// ```
    pub fn with_argument(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.arguments.push((name.into(), value.into()));
        self
    }

    /// The string member `name` of `params.arguments`, if the call has one. Other values
    /// (numbers, objects) are not read: a scope naming them is never granted.
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.arguments
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC method (`tools/call`); empty for a response.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The tool or prompt `name` (`tools/call`, `prompts/get`) or the resource `uri`
    /// (`resources/read`, `resources/subscribe`, `resources/unsubscribe`); `None` for other
    /// methods.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Request, notification or response.
    pub fn kind(&self) -> McpMessageKind {
        self.kind
    }

    /// Reads a request body: one message (an object) or a batch (a non-empty array of
    /// objects). The `id` of a lone request is kept for the error answer.
    ///
    /// ```
    /// use jwt_core::{McpOperation, McpRejection};
    /// // Escapes are read as JSON reads them: this is the tool `name`.
    /// let ops = McpOperation::parse_body(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"na\u006de"}}"#)?;
    /// assert_eq!(ops[0].target(), Some("name"));
    /// // The same member twice is ambiguous.
    /// let twice = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#;
    /// assert_eq!(McpOperation::parse_body(twice), Err(McpRejection::DuplicateMember));
    /// # Ok::<(), McpRejection>(())
    /// ```
    ///
    /// # Errors
    /// Why the body cannot be read without guessing ([`McpRejection`]).
    pub fn parse_body(body: &[u8]) -> Result<Vec<McpOperation>, McpRejection> {
        read(body).map(|(ops, _)| ops)
    }
}

/// Reads `body`: the operations, and the `id` of a lone message as JSON text (for the error
/// answer).
pub(crate) fn read(body: &[u8]) -> Result<(Vec<McpOperation>, Option<String>), McpRejection> {
    let problem = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Body { problem: &problem }
        .deserialize(&mut de)
        .and_then(|b| de.end().map(|()| b));
    match parsed {
        Ok(Read::One(msg)) => {
            let id = msg.id.clone();
            Ok((vec![msg.into_operation()?], id))
        }
        Ok(Read::Batch(msgs)) => {
            let ops = msgs
                .into_iter()
                .map(Message::into_operation)
                .collect::<Result<_, _>>()?;
            Ok((ops, None))
        }
        Err(e) => Err(problem.take().unwrap_or(if e.is_data() {
            McpRejection::NotJsonRpc
        } else {
            McpRejection::NotJson
        })),
    }
}

/// A message as read: the members the decision needs.
#[derive(Default)]
struct Message {
    jsonrpc_ok: bool,
    method: Option<String>,
    /// The `id` as JSON text, when present and well-typed.
    id: Option<String>,
    has_id: bool,
    answers: bool,
    params: Params,
}

#[derive(Default)]
struct Params {
    name: Option<Member>,
    uri: Option<Member>,
    arguments: Vec<(String, String)>,
}

/// A `name` or `uri` member: a string, or something else (which names nothing).
enum Member {
    Text(String),
    Other,
}

impl Message {
    fn into_operation(self) -> Result<McpOperation, McpRejection> {
        if !self.jsonrpc_ok {
            return Err(McpRejection::NotJsonRpc);
        }
        let Some(method) = self.method else {
            // A response: an `id`, and a `result` or an `error`.
            return if self.answers && self.has_id {
                Ok(McpOperation {
                    method: String::new(),
                    target: None,
                    kind: McpMessageKind::Response,
                    arguments: Vec::new(),
                })
            } else {
                Err(McpRejection::NotJsonRpc)
            };
        };
        if self.answers {
            return Err(McpRejection::NotJsonRpc);
        }
        let target = match target_member(&method) {
            Some(member) => {
                let found = if member == "name" {
                    self.params.name
                } else {
                    self.params.uri
                };
                match found {
                    Some(Member::Text(t)) => Some(t),
                    _ => return Err(McpRejection::MissingTarget),
                }
            }
            None => None,
        };
        let kind = if self.has_id {
            McpMessageKind::Request
        } else {
            McpMessageKind::Notification
        };
        Ok(McpOperation {
            method,
            target,
            kind,
            arguments: self.params.arguments,
        })
    }
}

enum Read {
    One(Message),
    Batch(Vec<Message>),
}

/// The body: an object or an array of objects. `problem` records the precise reason when a
/// visitor refuses, which the `serde_json` error cannot carry.
#[derive(Clone, Copy)]
struct Body<'p> {
    problem: &'p Cell<Option<McpRejection>>,
}

impl Body<'_> {
    fn refuse<E: de::Error>(self, why: McpRejection) -> E {
        if self.problem.get().is_none() {
            self.problem.set(Some(why));
        }
        E::custom(why)
    }
}

impl<'de> DeserializeSeed<'de> for Body<'_> {
    type Value = Read;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Body<'_> {
    type Value = Read;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message or batch")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Read, A::Error> {
        MessageSeed(self).visit_map(map).map(Read::One)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read, A::Error> {
        let mut messages = Vec::new();
        while let Some(m) = seq.next_element_seed(MessageSeed(self))? {
            messages.push(m);
        }
        if messages.is_empty() {
            return Err(self.refuse(McpRejection::EmptyBatch));
        }
        Ok(Read::Batch(messages))
    }
}

/// One message of the body (an object; anything else is not JSON-RPC).
#[derive(Clone, Copy)]
struct MessageSeed<'p>(Body<'p>);

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Message;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        d.deserialize_any(self)
    }
}

/// Refuses a member seen before in the same object: `seen` holds the keys read so far.
fn once<E: de::Error>(body: Body<'_>, seen: &mut Vec<String>, key: &str) -> Result<(), E> {
    if seen.iter().any(|k| k == key) {
        return Err(body.refuse(McpRejection::DuplicateMember));
    }
    seen.push(key.to_owned());
    Ok(())
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let body = self.0;
        let mut msg = Message::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            once(body, &mut seen, &key)?;
            match key.as_str() {
                "jsonrpc" => {
                    msg.jsonrpc_ok = map.next_value::<serde_json::Value>()? == "2.0";
                }
                "method" => match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(m) => msg.method = Some(m),
                    _ => return Err(body.refuse(McpRejection::NotJsonRpc)),
                },
                "id" => {
                    let id = map.next_value::<serde_json::Value>()?;
                    if !(id.is_string() || id.is_number() || id.is_null()) {
                        return Err(body.refuse(McpRejection::NotJsonRpc));
                    }
                    msg.has_id = true;
                    msg.id = Some(id.to_string());
                }
                "params" => msg.params = map.next_value_seed(ParamsSeed(body))?,
                "result" | "error" => {
                    map.next_value::<IgnoredAny>()?;
                    msg.answers = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(msg)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Message, A::Error> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Message, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Message, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Message, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Message, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Message, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Message, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }
}

/// A message's `params`: by name (an object, whose `name` and `uri` are read) or by position
/// (an array, which names no target).
#[derive(Clone, Copy)]
struct ParamsSeed<'p>(Body<'p>);

impl<'de> DeserializeSeed<'de> for ParamsSeed<'_> {
    type Value = Params;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Params, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ParamsSeed<'_> {
    type Value = Params;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON-RPC params")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
        let mut params = Params::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            once(self.0, &mut seen, &key)?;
            let slot = match key.as_str() {
                "name" => &mut params.name,
                "uri" => &mut params.uri,
                "arguments" => {
                    params.arguments = map.next_value_seed(ArgumentsSeed(self.0))?;
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(match map.next_value::<serde_json::Value>()? {
                serde_json::Value::String(s) => Member::Text(s),
                _ => Member::Other,
            });
        }
        Ok(params)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Params, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Params::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Params, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Params, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Params, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Params, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Params, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Params, E> {
        Err(self.0.refuse(McpRejection::NotJsonRpc))
    }
}

/// A call's `arguments`: its string members (a scope template may name them), each member
/// once; any other value is skipped unread.
#[derive(Clone, Copy)]
struct ArgumentsSeed<'p>(Body<'p>);

impl<'de> DeserializeSeed<'de> for ArgumentsSeed<'_> {
    type Value = Vec<(String, String)>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArgumentsSeed<'_> {
    type Value = Vec<(String, String)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tool arguments")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Vec::new();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            once(self.0, &mut seen, &key)?;
            if let Some(text) = map.next_value::<StringOrSkip>()?.0 {
                found.push((key, text));
            }
        }
        Ok(found)
    }

    // Arguments that are not an object name nothing (the tool refuses them itself).
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

/// A string value, or any other value skipped without being read into memory.
struct StringOrSkip(Option<String>);

impl<'de> serde::Deserialize<'de> for StringOrSkip {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrSkip;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StringOrSkip, E> {
                Ok(StringOrSkip(Some(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<StringOrSkip, E> {
                Ok(StringOrSkip(Some(s)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringOrSkip, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(StringOrSkip(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrSkip, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StringOrSkip(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StringOrSkip, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StringOrSkip, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StringOrSkip, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StringOrSkip, E> {
                Ok(StringOrSkip(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringOrSkip, E> {
                Ok(StringOrSkip(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(body: &str) -> Result<McpOperation, McpRejection> {
        McpOperation::parse_body(body.as_bytes()).map(|mut v| v.remove(0))
    }

    #[test]
    fn messages() {
        let call = one(r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"run_agent","arguments":{"agent_id":"a\u0031","n":5,"deep":{"agent_id":"x"}}}}"#).unwrap();
        assert_eq!(call.target(), Some("run_agent"));
        assert_eq!(call.argument("agent_id"), Some("a1"));
        assert_eq!(call.argument("n"), None);
        assert_eq!(call.kind(), McpMessageKind::Request);
        let note = one(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(note.kind(), McpMessageKind::Notification);
        let read = one(
            r#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///a"}}"#,
        )
        .unwrap();
        assert_eq!(read.target(), Some("file:///a"));
        let answer = one(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#).unwrap();
        assert_eq!(answer.kind(), McpMessageKind::Response);
        let list = one(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}"#).unwrap();
        assert_eq!(list.target(), None);
        let batch = McpOperation::parse_body(
            br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}]"#,
        )
        .unwrap();
        assert_eq!(batch.len(), 2);
        let (_, id) = read_id(r#"{"jsonrpc":"2.0","id":"a\"b","method":"ping"}"#);
        assert_eq!(id.as_deref(), Some(r#""a\"b""#));
    }

    fn read_id(body: &str) -> (Vec<McpOperation>, Option<String>) {
        read(body.as_bytes()).unwrap()
    }

    #[test]
    fn refusals() {
        use McpRejection::*;
        let cases: &[(&str, McpRejection)] = &[
            ("", NotJson),
            ("{", NotJson),
            ("not json", NotJson),
            (r#"{"jsonrpc":"2.0","id":1,"method":"ping"} x"#, NotJson),
            ("\u{feff}{}", NotJson),
            ("[]", EmptyBatch),
            ("null", NotJsonRpc),
            ("1", NotJsonRpc),
            (r#""tools/call""#, NotJsonRpc),
            ("[1]", NotJsonRpc),
            ("[[]]", NotJsonRpc),
            (r#"{"id":1,"method":"ping"}"#, NotJsonRpc),
            (r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, NotJsonRpc),
            (r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#, NotJsonRpc),
            (r#"{"jsonrpc":"2.0","id":1,"method":7}"#, NotJsonRpc),
            (r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#, NotJsonRpc),
            (r#"{"jsonrpc":"2.0","id":1}"#, NotJsonRpc),
            (r#"{"jsonrpc":"2.0","result":{}}"#, NotJsonRpc),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#,
                NotJsonRpc,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}"#,
                NotJsonRpc,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}"#,
                DuplicateMember,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","na\u006de":"b"}}"#,
                DuplicateMember,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}"#,
                DuplicateMember,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#,
                MissingTarget,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"agent_id":"a1","agent\u005fid":"a2"}}}"#,
                DuplicateMember,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}"#,
                MissingTarget,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
                MissingTarget,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"x"}}"#,
                MissingTarget,
            ),
        ];
        for (body, why) in cases {
            assert_eq!(
                McpOperation::parse_body(body.as_bytes()),
                Err(*why),
                "{body}"
            );
        }
    }

    #[test]
    fn deep_nesting_never_overflows() {
        let (open, close) = ("[".repeat(100_000), "]".repeat(100_000));
        // Skipped without recursion where the decision does not read.
        let skipped = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"a","arguments":{open}{close}}}}}"#
        );
        assert!(McpOperation::parse_body(skipped.as_bytes()).is_ok());
        // Read where it does: past the parser's depth limit it is refused.
        let read = format!(r#"{{"jsonrpc":"2.0","id":{open}{close},"method":"ping"}}"#);
        assert_eq!(
            McpOperation::parse_body(read.as_bytes()),
            Err(McpRejection::NotJson)
        );
    }
}
