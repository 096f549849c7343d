//! The table's `MCP` rows: what each MCP operation (a JSON-RPC method and the tool, prompt or
//! resource it targets) demands, written `"MCP <method> [<target>]"`:
//! - `<method>` is the JSON-RPC method, literal (`tools/call`) or with `*` globs
//!   (`notifications/*`);
//! - `<target>` is optional: a literal name or URI (`search`, `file:///docs/readme.md`), a glob
//!   whose `*` matches any run of characters, `/` included (`search_*`, `file:///public/*`), or
//!   `{param}`, which matches any target and binds it for scope templates
//!   (`MCP tools/call {tool}` → `tools:{tool}:call`). Without a target the row matches every
//!   target of the method;
//! - a scope may also name a string argument of the call (`MCP tools/call run_agent` →
//!   `agents:{agent_id}:run` reads `params.arguments.agent_id`); a call without it is denied;
//! - the most specific row wins: a literal method beats a glob, then a literal target beats a
//!   glob (the one with more literal characters first), which beats `{param}`, which beats no
//!   target. Rows equally specific that all match are all applied (every scope each requires,
//!   denied if one denies): an overlap is never settled by the order rows were written in;
//! - the protocol's own methods (`initialize`, `ping`, `notifications/*`, the `*/list`
//!   methods, `completion/complete`, `logging/setLevel`) and the client's responses to server
//!   requests need a valid token unless a row says otherwise; any other operation no row lists
//!   is denied (fail closed).

use std::borrow::Cow;

use super::pattern::glob_match;
use super::{Access, RouteMatch, ScopeTemplate};
use crate::error::ConfigError;
use crate::mcp::message::{McpMessageKind, McpOperation, target_member};

/// The methods every MCP session uses that name no tool, prompt or resource: a valid token
/// suffices unless a row says otherwise.
pub const MCP_PROTOCOL_METHODS: [&str; 9] = [
    "initialize",
    "ping",
    "notifications/*",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "prompts/list",
    "completion/complete",
    "logging/setLevel",
];

/// What a row's target part matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// No target part: every target (and none).
    Any,
    /// `{name}`: any target, bound as `name`.
    Param(String),
    /// A glob, split at its `*`s.
    Glob(Vec<String>),
    Literal(String),
}

#[derive(Debug, Clone)]
struct Row {
    entry: String,
    method: Vec<String>,
    target: Target,
    access: Access,
    /// (literal method, target kind, literal characters): higher is more specific.
    rank: (bool, u8, usize),
}

/// The `MCP` rows of a [`super::RouteTable`].
#[derive(Debug, Clone, Default)]
pub(super) struct McpRows {
    rows: Vec<Row>,
    /// The protocol methods' rows (a valid token), consulted when no row matches.
    protocol: Vec<Row>,
}

impl McpRows {
    /// Builds the rows from `(entry, access)` pairs, entries written `"MCP ..."`.
    pub(super) fn build(entries: Vec<(String, Access)>) -> Result<Self, ConfigError> {
        let rows = entries
            .into_iter()
            .map(|(entry, access)| row(entry, access))
            .collect::<Result<Vec<_>, _>>()?;
        let protocol = MCP_PROTOCOL_METHODS
            .iter()
            .map(|m| row(format!("MCP {m}"), Access::Authenticated))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { rows, protocol })
    }

    /// Every scope template the rows require.
    pub(super) fn templates(&self) -> impl Iterator<Item = &ScopeTemplate> {
        self.rows.iter().flat_map(|r| match &r.access {
            Access::Scopes(t) => t.as_slice(),
            _ => &[],
        })
    }

    /// What `op` demands: the most specific matching rows, all applied.
    pub(super) fn resolve<'a>(&'a self, op: &'a McpOperation) -> RouteMatch<'a> {
        if op.kind() == McpMessageKind::Response {
            // An answer to the server's own request (sampling, elicitation): the session's.
            return found(None, Cow::Owned(Access::Authenticated), Vec::new());
        }
        let best = best(&self.rows, op).or_else(|| best(&self.protocol, op));
        let Some(matched) = best else {
            return found(None, Cow::Owned(Access::Denied), Vec::new());
        };
        let mut params: Vec<(&str, Cow<'a, str>)> = matched
            .iter()
            .filter_map(|r| match (&r.target, op.target()) {
                (Target::Param(name), Some(t)) => Some((name.as_str(), Cow::Borrowed(t))),
                _ => None,
            })
            .collect();
        // Any other parameter a scope names is a string argument of the call; a call without
        // it is denied (never granted by a scope written with the braces).
        for row in &matched {
            let Access::Scopes(templates) = &row.access else {
                continue;
            };
            for name in templates.iter().flat_map(ScopeTemplate::params) {
                if params.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                match op.argument(name) {
                    Some(value) => params.push((name, Cow::Borrowed(value))),
                    None => return found(Some(&row.entry), Cow::Owned(Access::Denied), Vec::new()),
                }
            }
        }
        let [one] = matched.as_slice() else {
            return found(Some("MCP (overlapping rows)"), combine(&matched), params);
        };
        found(Some(&one.entry), Cow::Borrowed(&one.access), params)
    }
}

fn found<'a>(
    route: Option<&'a str>,
    access: Cow<'a, Access>,
    params: Vec<(&'a str, Cow<'a, str>)>,
) -> RouteMatch<'a> {
    RouteMatch {
        route,
        access,
        checks: &[],
        listing: None,
        params,
        conditions: crate::authz::conditions::Conditions::NONE,
    }
}

/// The rows of highest rank that match `op`, or `None`.
fn best<'a>(rows: &'a [Row], op: &McpOperation) -> Option<Vec<&'a Row>> {
    let mut matched: Vec<&Row> = rows.iter().filter(|r| r.matches(op)).collect();
    let top = matched.iter().map(|r| r.rank).max()?;
    matched.retain(|r| r.rank == top);
    Some(matched)
}

/// Rows equally specific, all applied: denied if one is, else every scope of each.
fn combine(rows: &[&Row]) -> Cow<'static, Access> {
    let mut scopes: Vec<ScopeTemplate> = Vec::new();
    let mut strictest = 0;
    for r in rows {
        let level = match &r.access {
            Access::Excluded => 0,
            Access::Optional => 1,
            Access::Authenticated => 2,
            Access::Scopes(s) => {
                for t in s {
                    if !scopes.contains(t) {
                        scopes.push(t.clone());
                    }
                }
                3
            }
            _ => return Cow::Owned(Access::Denied),
        };
        strictest = strictest.max(level);
    }
    Cow::Owned(match strictest {
        0 => Access::Excluded,
        1 => Access::Optional,
        2 => Access::Authenticated,
        _ => Access::Scopes(scopes),
    })
}

impl Row {
    fn matches(&self, op: &McpOperation) -> bool {
        if !glob_match(&self.method, op.method()) {
            return false;
        }
        match (&self.target, op.target()) {
            (Target::Any, _) => true,
            (_, None) => false,
            (Target::Param(_), Some(_)) => true,
            (Target::Glob(parts), Some(t)) => glob_match(parts, t),
            (Target::Literal(l), Some(t)) => l == t,
        }
    }
}

/// One `MCP` entry checked: its method, target, and the scopes it names.
fn row(entry: String, access: Access) -> Result<Row, ConfigError> {
    let invalid = |reason| ConfigError::InvalidRoute {
        route: entry.clone(),
        reason,
    };
    let rest = entry.strip_prefix("MCP ").map(str::trim).unwrap_or("");
    let (method, target) = match rest.split_once(char::is_whitespace) {
        Some((m, t)) => (m, Some(t.trim())),
        None => (rest, None),
    };
    if method.is_empty() {
        return Err(invalid(
            "expected \"MCP <method> [<target>]\", e.g. \"MCP tools/call search\"",
        ));
    }
    if method.contains(['{', '}']) {
        return Err(invalid("an MCP method cannot bind a parameter"));
    }
    let target = match target {
        None => Target::Any,
        Some(t) if target_member(method).is_none() && !method.contains('*') => {
            let _ = t;
            return Err(invalid(
                "only tools/call, prompts/get and resources/read, subscribe and unsubscribe name a target",
            ));
        }
        Some(t) => match t.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if is_param_name(name) => Target::Param(name.to_owned()),
            _ if t.contains(['{', '}']) => {
                return Err(invalid(
                    "a target is a name, a glob with *, or a whole {param}",
                ));
            }
            _ if t.contains('*') => Target::Glob(t.split('*').map(str::to_owned).collect()),
            _ => Target::Literal(t.to_owned()),
        },
    };
    check_scopes(&entry, &access, &target)?;
    let literal = |parts: &[String]| parts.iter().map(String::len).sum::<usize>();
    let method_parts: Vec<String> = method.split('*').map(str::to_owned).collect();
    let rank = (
        method_parts.len() == 1,
        match &target {
            Target::Literal(_) => 3,
            Target::Glob(_) => 2,
            Target::Param(_) => 1,
            Target::Any => 0,
        },
        match &target {
            Target::Glob(parts) => literal(parts),
            _ => 0,
        },
    );
    Ok(Row {
        entry,
        method: method_parts,
        target,
        access,
        rank,
    })
}

fn is_param_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Every required scope must be one a token could hold and name only the row's parameter.
fn check_scopes(entry: &str, access: &Access, target: &Target) -> Result<(), ConfigError> {
    let Access::Scopes(templates) = access else {
        if matches!(access, Access::Mcp) {
            return Err(ConfigError::InvalidRoute {
                route: entry.to_owned(),
                reason: "an MCP row cannot itself be an MCP endpoint",
            });
        }
        return Ok(());
    };
    for t in templates {
        let invalid = |reason| ConfigError::InvalidScopeTemplate {
            route: entry.to_owned(),
            scope: t.as_str().to_owned(),
            reason,
        };
        t.check().map_err(invalid)?;
    }
    let _ = target;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(entries: &[(&str, &[&str])]) -> McpRows {
        McpRows::build(
            entries
                .iter()
                .map(|(e, s)| {
                    let access = if s.is_empty() {
                        Access::Authenticated
                    } else {
                        Access::Scopes(s.iter().map(|s| ScopeTemplate::new(*s)).collect())
                    };
                    ((*e).to_owned(), access)
                })
                .collect(),
        )
        .unwrap()
    }

    fn required(rows: &McpRows, method: &str, target: Option<&str>) -> Option<Vec<String>> {
        let op = McpOperation::new(method, target);
        let m = rows.resolve(&op);
        match &*m.access {
            Access::Scopes(t) => Some(t.iter().map(|t| t.render(&m.params).into_owned()).collect()),
            Access::Authenticated => Some(Vec::new()),
            _ => None,
        }
    }

    #[test]
    fn most_specific_row_wins() {
        let r = rows(&[
            ("MCP tools/call {tool}", &["tools:{tool}:call"]),
            ("MCP tools/call search_*", &["search"]),
            ("MCP tools/call search_web*", &["web"]),
            ("MCP tools/call search_web", &["exact"]),
            ("MCP resources/read file:///public/*", &[]),
        ]);
        let req = |t| required(&r, "tools/call", Some(t));
        assert_eq!(req("run"), Some(vec!["tools:run:call".to_owned()]));
        assert_eq!(req("search_docs"), Some(vec!["search".to_owned()]));
        assert_eq!(req("search_webx"), Some(vec!["web".to_owned()]));
        assert_eq!(req("search_web"), Some(vec!["exact".to_owned()]));
        assert_eq!(
            required(&r, "resources/read", Some("file:///public/a/b")),
            Some(vec![])
        );
        assert_eq!(
            required(&r, "resources/read", Some("file:///etc/passwd")),
            None
        );
        assert_eq!(required(&r, "prompts/get", Some("x")), None);
        assert_eq!(required(&r, "tools/list", None), Some(vec![]));
        assert_eq!(
            required(&r, "notifications/initialized", None),
            Some(vec![])
        );
        assert_eq!(required(&r, "sampling/createMessage", None), None);
        assert_eq!(required(&r, "", None), None);
    }

    #[test]
    fn overlapping_rows_are_all_applied() {
        let r = rows(&[
            ("MCP tools/call *_admin", &["admin"]),
            ("MCP tools/call search_*", &["search"]),
        ]);
        // `search_` has more literal characters than `_admin`: it alone applies.
        assert_eq!(
            required(&r, "tools/call", Some("search_admin")),
            Some(vec!["search".to_owned()])
        );
        let r = rows(&[
            ("MCP tools/call *_admin", &["admin"]),
            ("MCP tools/call purge_*", &["purge"]),
        ]);
        // As specific as each other: both apply.
        assert_eq!(
            required(&r, "tools/call", Some("purge_admin")),
            Some(vec!["admin".to_owned(), "purge".to_owned()])
        );
    }

    #[test]
    fn bad_rows() {
        for entry in [
            "MCP",
            "MCP {x}",
            "MCP tools/list x",
            "MCP tools/call a{b}",
            "MCP tools/call {a-b}",
        ] {
            assert!(
                McpRows::build(vec![(entry.to_owned(), Access::Authenticated)]).is_err(),
                "{entry}"
            );
        }
        let bad_scope = McpRows::build(vec![(
            "MCP tools/call search".to_owned(),
            Access::Scopes(vec![ScopeTemplate::new("tools search")]),
        )]);
        assert!(matches!(
            bad_scope,
            Err(ConfigError::InvalidScopeTemplate { .. })
        ));
    }

    #[test]
    fn scopes_may_name_the_call_arguments() {
        let r = rows(&[("MCP tools/call run_agent", &["agents:{agent_id}:run"])]);
        let op = McpOperation::new("tools/call", Some("run_agent")).with_argument("agent_id", "a1");
        let m = r.resolve(&op);
        let Access::Scopes(t) = &*m.access else {
            panic!("{:?}", m.access)
        };
        assert_eq!(t[0].render(&m.params), "agents:a1:run");
        // Without the argument: denied, never `agents:{agent_id}:run` as written.
        let op = McpOperation::new("tools/call", Some("run_agent"));
        assert_eq!(*r.resolve(&op).access, Access::Denied);
    }
}
