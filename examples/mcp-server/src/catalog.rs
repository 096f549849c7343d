//! What the server offers, written as the MCP wire format (JSON) and read into rmcp's model
//! types: the tools, resources, resource template and prompts the conformance scenarios call,
//! with their fixed contents.

use rmcp::model::{
    ElicitRequestParams, Prompt, ReadResourceResult, Resource, ResourceTemplate, Tool,
};
use serde_json::{Value, json};

/// A 1×1 red PNG (base64).
pub(crate) const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
/// A WAV file of eight silent 8-bit samples at 8 kHz (base64).
pub(crate) const WAV_BASE64: &str =
    "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

/// The URI of the resource clients subscribe to.
pub(crate) const WATCHED_URI: &str = "test://watched-resource";
/// The resource template: `{id}` is substituted.
pub(crate) const TEMPLATE: &str = "test://template/{id}/data";

/// Reads `value` (MCP's JSON shape) into the rmcp model type `T`. The values here are constants
/// of this module, so a mismatch is a bug in this file.
pub(crate) fn from_wire<T: serde::de::DeserializeOwned>(value: Value) -> T {
    match serde_json::from_value(value) {
        Ok(model) => model,
        Err(err) => panic!("catalog JSON does not match the rmcp model: {err}"),
    }
}

/// An input schema for a tool without arguments.
fn no_arguments() -> Value {
    json!({ "type": "object", "properties": {} })
}

/// An input schema with required string arguments `(name, description)`.
fn string_arguments(arguments: &[(&str, &str)]) -> Value {
    let properties: serde_json::Map<String, Value> = arguments
        .iter()
        .map(|(name, description)| {
            (
                (*name).to_owned(),
                json!({ "type": "string", "description": description }),
            )
        })
        .collect();
    let required: Vec<&str> = arguments.iter().map(|(name, _)| *name).collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// The tool with JSON Schema 2020-12 keywords (`$schema`, `$defs`, `$ref`,
/// `additionalProperties`) that must reach the client unchanged.
pub(crate) const JSON_SCHEMA_TOOL: &str = "json_schema_2020_12_tool";

/// Every tool: name, description, input schema.
pub(crate) fn tools() -> Vec<Tool> {
    let schema_2020_12 = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "type": "object",
                "properties": {
                    "street": { "type": "string" },
                    "city": { "type": "string" }
                }
            }
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" }
        },
        "additionalProperties": false
    });
    let table = [
        (
            "test_simple_text",
            "Answers with one text block.",
            no_arguments(),
        ),
        (
            "test_image_content",
            "Answers with a PNG image.",
            no_arguments(),
        ),
        (
            "test_audio_content",
            "Answers with a WAV sound.",
            no_arguments(),
        ),
        (
            "test_embedded_resource",
            "Answers with an embedded text resource.",
            no_arguments(),
        ),
        (
            "test_multiple_content_types",
            "Answers with text, an image and an embedded JSON resource.",
            no_arguments(),
        ),
        (
            "test_tool_with_logging",
            "Sends three log messages (info) while it runs.",
            no_arguments(),
        ),
        (
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100 while it runs.",
            no_arguments(),
        ),
        (
            "test_error_handling",
            "Always fails: a tool result with isError set.",
            no_arguments(),
        ),
        (
            "test_sampling",
            "Asks the client's model (sampling/createMessage) and returns its answer.",
            string_arguments(&[("prompt", "What to ask the model")]),
        ),
        (
            "test_elicitation",
            "Asks the user (elicitation/create) for a username and an email address.",
            string_arguments(&[("message", "What the user is shown")]),
        ),
        (
            "test_elicitation_sep1034_defaults",
            "Asks the user for values of every primitive type, each with a default (SEP-1034).",
            no_arguments(),
        ),
        (
            "test_elicitation_sep1330_enums",
            "Asks the user to pick from the five kinds of enum schema (SEP-1330).",
            no_arguments(),
        ),
        (
            JSON_SCHEMA_TOOL,
            "Tool with JSON Schema 2020-12 features",
            schema_2020_12,
        ),
        (
            "test_reconnection",
            "Closes its response stream before answering; the answer arrives once the client \
             resumes with Last-Event-ID (SEP-1699).",
            no_arguments(),
        ),
    ];
    table
        .into_iter()
        .map(|(name, description, input_schema)| {
            from_wire(
                json!({ "name": name, "description": description, "inputSchema": input_schema }),
            )
        })
        .collect()
}

/// The direct resources.
pub(crate) fn resources() -> Vec<Resource> {
    [
        (
            "test://static-text",
            "static-text",
            "A fixed text",
            "text/plain",
        ),
        (
            "test://static-binary",
            "static-binary",
            "A fixed PNG image",
            "image/png",
        ),
        (
            WATCHED_URI,
            "watched-resource",
            "A resource clients may subscribe to",
            "text/plain",
        ),
    ]
    .into_iter()
    .map(|(uri, name, description, mime)| {
        from_wire(json!({ "uri": uri, "name": name, "description": description, "mimeType": mime }))
    })
    .collect()
}

/// The resource templates.
pub(crate) fn resource_templates() -> Vec<ResourceTemplate> {
    vec![from_wire(json!({
        "uriTemplate": TEMPLATE,
        "name": "template-data",
        "description": "JSON data for the id in the URI",
        "mimeType": "application/json"
    }))]
}

/// The contents of the resource at `uri`, `None` for an unknown URI.
pub(crate) fn read(uri: &str) -> Option<ReadResourceResult> {
    let content = match uri {
        "test://static-text" => json!({
            "uri": uri, "mimeType": "text/plain",
            "text": "This is the content of the static text resource."
        }),
        "test://static-binary" => {
            json!({ "uri": uri, "mimeType": "image/png", "blob": PNG_BASE64 })
        }
        WATCHED_URI => json!({
            "uri": uri, "mimeType": "text/plain",
            "text": "The watched resource's current content."
        }),
        _ => {
            let id = uri
                .strip_prefix("test://template/")?
                .strip_suffix("/data")
                .filter(|id| !id.is_empty() && !id.contains('/'))?;
            let data =
                json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
            json!({ "uri": uri, "mimeType": "application/json", "text": data.to_string() })
        }
    };
    Some(from_wire(json!({ "contents": [content] })))
}

/// A prompt: name, description, arguments `(name, description)` (all required).
type PromptRow = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Every prompt.
pub(crate) fn prompts() -> Vec<Prompt> {
    let table: [PromptRow; 4] = [
        ("test_simple_prompt", "A prompt without arguments.", &[]),
        (
            "test_prompt_with_arguments",
            "A prompt that quotes its two arguments.",
            &[
                ("arg1", "First test argument"),
                ("arg2", "Second test argument"),
            ],
        ),
        (
            "test_prompt_with_embedded_resource",
            "A prompt that embeds the resource it is given.",
            &[("resourceUri", "URI of the resource to embed")],
        ),
        ("test_prompt_with_image", "A prompt with an image.", &[]),
    ];
    table
        .into_iter()
        .map(|(name, description, arguments)| {
            let arguments: Vec<Value> = arguments
                .iter()
                .map(|(name, description)| {
                    json!({ "name": name, "description": description, "required": true })
                })
                .collect();
            from_wire(json!({ "name": name, "description": description, "arguments": arguments }))
        })
        .collect()
}

/// The messages of prompt `name` for string `arguments`; `Err` names what is wrong.
pub(crate) fn prompt_messages(
    name: &str,
    argument: impl Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    let required = |key: &str| argument(key).ok_or_else(|| format!("missing argument `{key}`"));
    let user = |content: Value| json!({ "role": "user", "content": content });
    let text = |text: String| user(json!({ "type": "text", "text": text }));
    let messages = match name {
        "test_simple_prompt" => vec![text("This is a simple prompt for testing.".into())],
        "test_prompt_with_arguments" => {
            let (arg1, arg2) = (required("arg1")?, required("arg2")?);
            vec![text(format!(
                "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
            ))]
        }
        "test_prompt_with_embedded_resource" => {
            let uri = required("resourceUri")?;
            vec![
                user(json!({
                    "type": "resource",
                    "resource": {
                        "uri": uri, "mimeType": "text/plain",
                        "text": "Embedded resource content for testing."
                    }
                })),
                text("Please process the embedded resource above.".into()),
            ]
        }
        "test_prompt_with_image" => vec![
            user(json!({ "type": "image", "data": PNG_BASE64, "mimeType": "image/png" })),
            text("Please analyze the image above.".into()),
        ],
        _ => return Err(format!("unknown prompt `{name}`")),
    };
    Ok(json!({ "messages": messages }))
}

/// Completion candidates for argument `argument` of a prompt or template, starting with `prefix`.
pub(crate) fn complete(reference: &str, argument: &str, prefix: &str) -> Vec<String> {
    let candidates: &[&str] = match (reference, argument) {
        ("test_prompt_with_arguments", "arg1" | "arg2") => {
            &["paris", "park", "party", "test", "testing"]
        }
        (TEMPLATE, "id") => &["1", "123", "42"],
        _ => &[],
    };
    candidates
        .iter()
        .filter(|c| c.starts_with(prefix))
        .map(|c| (*c).to_owned())
        .collect()
}

/// `elicitation/create` for `test_elicitation`: a username and an email address.
pub(crate) fn elicit_contact(message: &str) -> ElicitRequestParams {
    from_wire(json!({
        "mode": "form",
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "username": { "type": "string", "description": "User's response" },
                "email": { "type": "string", "description": "User's email address" }
            },
            "required": ["username", "email"]
        }
    }))
}

/// The requested schema of `test_elicitation_sep1034_defaults`: every primitive with a default.
pub(crate) fn sep1034_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "Full name", "default": "John Doe" },
            "age": { "type": "integer", "description": "Age in years", "default": 30 },
            "score": { "type": "number", "description": "Score", "default": 95.5 },
            "status": {
                "type": "string",
                "description": "Account status",
                "enum": ["active", "inactive", "pending"],
                "default": "active"
            },
            "verified": { "type": "boolean", "description": "Verified", "default": true }
        }
    })
}

/// The requested schema of `test_elicitation_sep1330_enums`: the five enum forms.
pub(crate) fn sep1330_schema() -> Value {
    let titled = |prefix: &str, titles: [&str; 3]| -> Vec<Value> {
        titles
            .iter()
            .enumerate()
            .map(|(i, title)| json!({ "const": format!("{prefix}{}", i + 1), "title": title }))
            .collect()
    };
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "enum": ["option1", "option2", "option3"]
            },
            "titledSingle": {
                "type": "string",
                "oneOf": titled("value", ["First Option", "Second Option", "Third Option"])
            },
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]
            },
            "untitledMulti": {
                "type": "array",
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
            },
            "titledMulti": {
                "type": "array",
                "items": {
                    "anyOf": titled("value", ["First Choice", "Second Choice", "Third Choice"])
                }
            }
        }
    })
}

/// `elicitation/create` with `message` and the requested `schema`.
pub(crate) fn elicit_form(message: &str, schema: Value) -> ElicitRequestParams {
    from_wire(json!({ "mode": "form", "message": message, "requestedSchema": schema }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rmcp's typed elicitation schema keeps every keyword the scenarios check: what is sent
    /// is exactly what this file wrote.
    #[test]
    fn elicitation_schemas_survive_the_model() {
        for schema in [sep1034_schema(), sep1330_schema()] {
            let params = elicit_form("m", schema.clone());
            let wire = serde_json::to_value(&params).unwrap();
            assert_eq!(wire["requestedSchema"], schema, "{wire:#}");
        }
    }

    #[test]
    fn json_schema_2020_12_keywords_survive_the_model() {
        let tool = tools()
            .into_iter()
            .find(|t| t.name == JSON_SCHEMA_TOOL)
            .unwrap();
        let wire = serde_json::to_value(&tool).unwrap();
        let schema = &wire["inputSchema"];
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(schema["$defs"]["address"].is_object());
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn template_substitutes_the_id() {
        let read = serde_json::to_value(read("test://template/123/data").unwrap()).unwrap();
        let text = read["contents"][0]["text"].as_str().unwrap();
        assert!(text.contains("\"id\":\"123\""), "{text}");
        assert!(super::read("test://template//data").is_none());
        assert!(super::read("test://nothing").is_none());
    }
}
