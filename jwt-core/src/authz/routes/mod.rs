//! Route → scope mapping: the [`ScopeMapper`] trait and its built-in [`RouteTable`].
//!
//! Entries are written `"METHOD /pattern"` (`*` as the method matches every method) and matched
//! against a [`RequestPath`] read by the core's one path model ([`crate::token::path`]):
//! - `{param}` matches one path segment and binds it, decoded once, for scope templates such as
//!   `agents:{agent_id}:run`;
//! - `*` inside a segment matches any run of characters except `/` (`/public/*` matches
//!   `/public/a` but not `/public/a/b` or `/public`; `/sessions/public-*` matches `/sessions/public-x`);
//! - `{*rest}` as the last segment matches one or more remaining segments;
//! - literal segments are matched case-sensitively and must be sent without percent-escapes
//!   (an escaped literal is refused as ambiguous, see [`PathRejection::EncodedLiteral`]);
//! - the most specific entry wins (literal segments beat globs, which beat parameters, which beat
//!   a tail), whatever the order they were added in; `HEAD` follows `GET`'s entries (a `HEAD`
//!   entry is a build error); one trailing slash on the request path is ignored;
//! - a request no entry matches is refused with 403 unless the table opts in to
//!   [`Unmapped::Authenticated`] (fail closed).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::authz::conditions::Conditions;
use crate::authz::scope::ScopeRules;
use crate::mcp::message::McpOperation;
use crate::token::path::{PathRejection, RequestPath};

pub(crate) mod mcp;
mod pattern;
mod table;
mod template;

pub use mcp::MCP_PROTOCOL_METHODS;
pub use table::{RouteTable, RouteTableBuilder};
pub use template::ScopeTemplate;

/// What a route demands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// No token needed; a presented token is ignored.
    Excluded,
    /// A token is optional: when present it must be valid and its identity is injected.
    Optional,
    /// Any valid token, no scope (the `[]` of agno's table).
    Authenticated,
    /// A valid token whose scopes satisfy every listed (possibly templated) scope.
    Scopes(Vec<ScopeTemplate>),
    /// Refused for every caller, admins included: 401 without a valid token, else 403
    /// `insufficient_scope`. What an unlisted route gets under [`Unmapped::Deny`] (the default),
    /// and what [`RouteTableBuilder::deny`] sets.
    Denied,
    /// An MCP endpoint's `POST`: the JSON-RPC body decides, message by message, through
    /// [`ScopeMapper::resolve_mcp`] (see [`RouteTableBuilder::mcp`]). The adapter reads the
    /// body for it ([`crate::JwtAuth::body_limit`]).
    Mcp,
}

/// agno's route-level resource check: after the scope check, the caller
/// must also hold `scope`; a denial reads `Access denied to <action> this <noun>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCheck {
    /// The required scope, usually templated (`agents:{agent_id}:run`).
    pub scope: ScopeTemplate,
    /// The action named in the denial (`run`).
    pub action: String,
    /// The resource noun named in the denial (`agent`).
    pub noun: String,
}

/// The listing fallback: a `GET` on a collection whose caller lacks
/// the global scope passes when it holds per-resource scopes for that action, and the handler
/// filters by [`crate::AuthContext::listing_ids`]. No accessible id at all is a 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The resource type (`agents`).
    pub resource: String,
    /// The action that makes an item visible (`read`).
    pub action: String,
}

/// The entry that matched a request, with its bound path parameters.
///
/// ```
/// use std::borrow::Cow;
/// use jwt_core::{Access, RouteMatch};
/// let m = RouteMatch::new(Cow::Owned(Access::Authenticated)).named("GET /me");
/// assert_eq!((m.route, m.checks.len(), m.conditions.step_up.is_none()), (Some("GET /me"), 0, true));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouteMatch<'a> {
    /// The entry as written (`"GET /agents/{agent_id}"`), or `None` when no entry matched.
    pub route: Option<&'a str>,
    /// What the route demands.
    pub access: Cow<'a, Access>,
    /// Extra resource checks.
    pub checks: &'a [ResourceCheck],
    /// The listing fallback, if the route has one.
    pub listing: Option<&'a Listing>,
    /// Bound path parameters, percent-decoded.
    pub params: Vec<(&'a str, Cow<'a, str>)>,
    /// Step-up and delegation rules ([`crate::StepUp`], [`crate::Actors`]).
    pub conditions: &'a Conditions,
}

impl<'a> RouteMatch<'a> {
    /// A match demanding `access`, with no entry name, check, listing, parameter or condition.
    pub fn new(access: Cow<'a, Access>) -> Self {
        Self {
            route: None,
            access,
            checks: &[],
            listing: None,
            params: Vec::new(),
            conditions: Conditions::NONE,
        }
    }

    /// The entry's name, for logs and the context.
    pub fn named(mut self, route: &'a str) -> Self {
        self.route = Some(route);
        self
    }

    /// Bound path parameters.
    pub fn with_params(mut self, params: Vec<(&'a str, Cow<'a, str>)>) -> Self {
        self.params = params;
        self
    }
}

/// Maps a request's method and path to what it demands.
///
/// The engine reads the path with the core's path model first ([`RequestPath::parse`]), so an
/// implementation sees segments already split and decoded once; it returns an error for a path
/// it finds ambiguous (400), and must fail closed for a path it does not know
/// ([`Access::Denied`]).
///
/// ```
/// use jwt_core::{Access, RequestPath, RouteTable, ScopeMapper};
/// let table = RouteTable::builder().route("GET /items/{id}", ["items:{id}:read"]).build()?;
/// let path = RequestPath::parse("/items/a%3Ab").unwrap();
/// let m = table.resolve("GET", &path).unwrap();
/// assert_eq!(m.params[0].1, "a:b");
/// assert!(matches!(*m.access, Access::Scopes(_)));
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
///
/// # Implementing it
///
/// `resolve` answers what a method and path demand: an [`Access`] (with the scopes, templates
/// rendered by the engine with `params`), the entry's name for logs, and the bound parameters.
/// Fail closed: a path you do not know is [`Access::Denied`], never let through; a path you
/// cannot read without guessing is a [`PathRejection`] (400). `scope_rules` is the grammar the
/// required scopes are written in (the caller's scopes are read with it too). Say `is_fixed`
/// only when the same method and path always get the same answer: the engine may then reuse a
/// token's context for a repeated request. Wrapping a [`RouteTable`] is the usual way to add a
/// rule:
///
/// ```
/// use std::borrow::Cow;
/// use std::sync::Arc;
/// use jwt_core::{Access, PathRejection, RequestPath, RouteMatch, RouteTable, ScopeMapper, ScopeRules};
///
/// /// A table, and `maintenance: true` closes everything.
/// #[derive(Debug)]
/// struct Maintenance { table: RouteTable, closed: bool }
///
/// impl ScopeMapper for Maintenance {
///     fn resolve<'a>(&'a self, method: &str, path: &RequestPath<'a>) -> Result<RouteMatch<'a>, PathRejection> {
///         let mut found = self.table.resolve(method, path)?;
///         if self.closed {
///             found.access = Cow::Owned(Access::Denied);
///         }
///         Ok(found)
///     }
///
///     fn scope_rules(&self) -> &Arc<ScopeRules> {
///         self.table.scope_rules()
///     }
/// }
///
/// let table = RouteTable::builder().route("GET /orders", ["orders.read"]).build()?;
/// let closed = Maintenance { table, closed: true };
/// let path = RequestPath::parse("/orders").unwrap();
/// assert_eq!(*closed.resolve("GET", &path).unwrap().access, Access::Denied);
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
pub trait ScopeMapper: Send + Sync + fmt::Debug {
    /// What the request needs.
    ///
    /// # Errors
    /// A [`PathRejection`] when the path cannot be matched without guessing.
    fn resolve<'a>(
        &'a self,
        method: &str,
        path: &RequestPath<'a>,
    ) -> Result<RouteMatch<'a>, PathRejection>;

    /// The scope grammar (admin scope, aliases) the requirements are written in.
    fn scope_rules(&self) -> &Arc<ScopeRules>;

    /// The scopes a client may ask for, for RFC 9728's `scopes_supported` (none by default).
    fn scopes_supported(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether [`Self::resolve`] always gives the same answer for the same method and path (a
    /// table fixed when it was built, like [`RouteTable`]). Then the engine may hand a token the
    /// context it got for the same request before, without resolving again (see the token
    /// cache). The default, `false`, suits a mapper whose answers can change (reloaded rules):
    /// every request is resolved.
    fn is_fixed(&self) -> bool {
        false
    }

    /// What one MCP operation (a JSON-RPC message on an endpoint that [`Self::resolve`]
    /// answered [`Access::Mcp`]) demands; `params` bind the target for scope templates. The
    /// default denies every operation: a mapper that declares MCP endpoints implements it.
    fn resolve_mcp<'a>(&'a self, op: &'a McpOperation) -> RouteMatch<'a> {
        let _ = op;
        RouteMatch::new(Cow::Owned(Access::Denied))
    }

    /// Whether [`Self::resolve`] may answer [`Access::Mcp`]: the engine then asks, for each
    /// `POST`, whether the adapter must read the body. `false` by default.
    fn has_mcp_endpoints(&self) -> bool {
        false
    }
}

/// What a request gets when no entry of the table matches its method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Unmapped {
    /// Fail closed (default): 401 without a valid token, else 403 `insufficient_scope` for
    /// everyone, admins included ([`Access::Denied`]).
    #[default]
    Deny,
    /// Any valid token (agno's behaviour): an explicit opt-in, since every route the table
    /// forgets then needs no scope.
    Authenticated,
}
