//! The built-in [`ScopeMapper`]: entries, their index by method and first segment, the builder
//! and the most-specific-wins resolution.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::mcp::McpRows;
use super::pattern::{Bindings, Pattern, Segment};
use super::{Access, Listing, ResourceCheck, RouteMatch, ScopeMapper, ScopeTemplate, Unmapped};
use crate::authz::conditions::{Actors, Conditions, StepUp};
use crate::authz::scope::ScopeRules;
use crate::error::ConfigError;
use crate::fast_hash::FastBuild;
use crate::mcp::message::McpOperation;
use crate::token::path::{PathRejection, RequestPath, join_tail};

#[derive(Debug, Clone)]
struct Rule {
    entry: String,
    method: Option<String>,
    pattern: Pattern,
    rank: Vec<u8>,
    access: Access,
    checks: Vec<ResourceCheck>,
    listing: Option<Listing>,
    conditions: Conditions,
}

/// The built-in [`ScopeMapper`]: a table of `"METHOD /pattern"` entries.
///
/// ```
/// use jwt_core::{Access, RouteTable, ScopeMapper};
/// let table = RouteTable::builder()
///     .route("GET /agents", ["agents:read"])
///     .route("POST /agents/{agent_id}/runs", ["agents:{agent_id}:run"])
///     .authenticated("GET /me")
///     .exclude("/health")
///     .exclude("/public/*")
///     .build()?;
/// assert_eq!(*table.lookup("GET", "/health/")?.access, Access::Excluded);
/// assert_eq!(*table.lookup("HEAD", "/me")?.access, Access::Authenticated);
/// // Not listed: denied (fail closed).
/// let unlisted = table.lookup("GET", "/public/a/b")?;
/// assert_eq!((unlisted.route, &*unlisted.access), (None, &Access::Denied));
/// // Ambiguous: a literal segment sent percent-encoded.
/// assert!(table.lookup("GET", "/%6De").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RouteTable {
    rules: Vec<Rule>,
    /// A handful of methods: a short list scans faster than hashing.
    by_method: Vec<(String, Bucket)>,
    any_method: Bucket,
    unmapped: Access,
    rules_grammar: Arc<ScopeRules>,
    /// The `MCP` rows, for the endpoints [`RouteTableBuilder::mcp`] declared.
    mcp: McpRows,
    has_mcp: bool,
}

/// Rule indices of one method, indexed by their first path segment when it is a literal.
#[derive(Debug, Clone, Default)]
struct Bucket {
    /// Keyed by the table's own literals, probed with a request's segment: the fast hash is safe
    /// (a request cannot add keys, and a hit is confirmed by comparison).
    by_first: HashMap<String, Vec<usize>, FastBuild>,
    other: Vec<usize>,
}

impl Bucket {
    fn add(&mut self, index: usize, pattern: &Pattern) {
        match pattern.segments.first() {
            Some(Segment::Literal(l)) => self.by_first.entry(l.clone()).or_default().push(index),
            _ => self.other.push(index),
        }
    }

    /// The rules that can match a path whose first segment is `first`.
    fn candidates<'b>(&'b self, first: &str) -> impl Iterator<Item = usize> + 'b {
        self.by_first
            .get(first)
            .into_iter()
            .flatten()
            .chain(self.other.iter())
            .copied()
    }
}

/// Builds a [`RouteTable`]; entries are checked in [`RouteTableBuilder::build`].
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until it is used: keep the value each setter returns"]
pub struct RouteTableBuilder {
    entries: Vec<(String, Access, Vec<ResourceCheck>, Option<Listing>)>,
    unmapped: Unmapped,
    rules: ScopeRules,
    mcp_endpoints: Vec<String>,
    /// Step-up and delegation rules, by entry, attached to their rules at build.
    conditions: Vec<(String, Conditions)>,
}

impl RouteTable {
    /// An empty builder.
    pub fn builder() -> RouteTableBuilder {
        RouteTableBuilder::default()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Reads `path` with the core's path model and resolves it: what the engine does for a
    /// request, for tests and tools.
    ///
    /// # Errors
    /// The [`PathRejection`] the engine would answer with 400.
    pub fn lookup<'a>(
        &'a self,
        method: &str,
        path: &'a str,
    ) -> Result<RouteMatch<'a>, PathRejection> {
        self.resolve(method, &RequestPath::parse(path)?)
    }
}

impl RouteTableBuilder {
    fn upsert(
        &mut self,
        entry: &str,
        access: Access,
    ) -> &mut (String, Access, Vec<ResourceCheck>, Option<Listing>) {
        let key = normalise_entry(entry);
        match self.entries.iter().position(|(e, ..)| *e == key) {
            Some(i) => {
                self.entries[i].1 = access;
                &mut self.entries[i]
            }
            None => {
                self.entries.push((key, access, Vec::new(), None));
                self.entries.last_mut().expect("just pushed")
            }
        }
    }

    /// Requires every scope in `scopes` (templates allowed). An empty list means any valid
    /// token. Adding an entry that already exists replaces it (per-route override).
    pub fn route<I, S>(mut self, entry: &str, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<ScopeTemplate> =
            scopes.into_iter().map(|s| ScopeTemplate::new(s)).collect();
        let access = if scopes.is_empty() {
            Access::Authenticated
        } else {
            Access::Scopes(scopes)
        };
        self.upsert(entry, access);
        self
    }

    /// A gRPC method (`"helloworld.Greeter/SayHello"`), or every method of a service
    /// (`"helloworld.Greeter/*"`): gRPC calls are `POST /package.Service/Method`, so this is
    /// [`Self::route`] with that entry. Refusals of gRPC calls are rendered as gRPC statuses by
    /// the tower layer ([`crate::GrpcResponse`]).
    ///
    /// ```
    /// use jwt_core::RouteTable;
    /// let table = RouteTable::builder()
    ///     .grpc("agents.v1.Agents/Run", ["agents:run"])
    ///     .grpc("grpc.health.v1.Health/*", Vec::<String>::new())
    ///     .build()?;
    /// assert!(table.lookup("POST", "/agents.v1.Agents/Run").unwrap().route.is_some());
    /// assert!(table.lookup("POST", "/grpc.health.v1.Health/Check").unwrap().route.is_some());
    /// # Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn grpc<I, S>(self, method: &str, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let entry = format!("POST /{}", method.trim_start_matches('/'));
        self.route(&entry, scopes)
    }

    /// Any valid token, no scope (agno's `[]`). Not "public": a token is still required; use
    /// [`Self::exclude`] for routes without authentication.
    pub fn authenticated(mut self, entry: &str) -> Self {
        self.upsert(entry, Access::Authenticated);
        self
    }

    /// A token is optional here; a valid one injects its identity.
    pub fn optional(mut self, entry: &str) -> Self {
        self.upsert(entry, Access::Optional);
        self
    }

    /// No token needed. Without a method (`"/health"`) every method is excluded.
    pub fn exclude(mut self, entry: &str) -> Self {
        let entry = if entry.starts_with('/') {
            format!("* {entry}")
        } else {
            entry.to_owned()
        };
        self.upsert(&entry, Access::Excluded);
        self
    }

    /// Refuses every caller, admins included (403 with a valid token, 401 without): for a route
    /// that must never be reachable through this middleware, e.g. a preset's default you do not
    /// serve.
    pub fn deny(mut self, entry: &str) -> Self {
        self.upsert(entry, Access::Denied);
        self
    }

    /// Removes an entry (e.g. one of a preset's defaults).
    pub fn remove(mut self, entry: &str) -> Self {
        let key = normalise_entry(entry);
        let key_any = normalise_entry(&format!("* {entry}"));
        self.entries.retain(|(e, ..)| *e != key && *e != key_any);
        self
    }

    /// Adds an agno route-level resource check to an existing (or new, public) entry.
    pub fn resource_check(mut self, entry: &str, scope: &str, action: &str, noun: &str) -> Self {
        let key = normalise_entry(entry);
        if !self.entries.iter().any(|(e, ..)| *e == key) {
            self.entries
                .push((key.clone(), Access::Authenticated, Vec::new(), None));
        }
        if let Some(slot) = self.entries.iter_mut().find(|(e, ..)| *e == key) {
            slot.2.push(ResourceCheck {
                scope: ScopeTemplate::new(scope),
                action: action.to_owned(),
                noun: noun.to_owned(),
            });
        }
        self
    }

    /// RFC 9470 step-up on an existing entry (see [`StepUp`]); a second call replaces the
    /// first. An entry that does not exist, or one that needs no token (excluded, optional, an
    /// MCP endpoint or row), is a build error: the rule could never be enforced there.
    pub fn step_up(mut self, entry: &str, step_up: StepUp) -> Self {
        self.condition(entry).step_up = Some(step_up);
        self
    }

    /// RFC 8693 delegation rules on an existing entry (see [`Actors`]); a second call
    /// replaces the first. The same entries as [`Self::step_up`] are build errors.
    pub fn actors(mut self, entry: &str, actors: Actors) -> Self {
        self.condition(entry).actors = Some(actors);
        self
    }

    fn condition(&mut self, entry: &str) -> &mut Conditions {
        let key = normalise_entry(entry);
        let at = match self.conditions.iter().position(|(e, _)| *e == key) {
            Some(at) => at,
            None => {
                self.conditions.push((key, Conditions::default()));
                self.conditions.len() - 1
            }
        };
        &mut self.conditions[at].1
    }

    /// Marks an entry as a collection listing with the agno fallback (see [`Listing`]).
    pub fn listing(mut self, entry: &str, resource: &str, action: &str) -> Self {
        let key = normalise_entry(entry);
        if let Some(slot) = self.entries.iter_mut().find(|(e, ..)| *e == key) {
            slot.3 = Some(Listing {
                resource: resource.to_owned(),
                action: action.to_owned(),
            });
        }
        self
    }

    /// What a request that matches no entry gets (default [`Unmapped::Deny`]: 403).
    pub fn unmapped(mut self, unmapped: Unmapped) -> Self {
        self.unmapped = unmapped;
        self
    }

    /// Sets the scope grammar: exact or hierarchical, the admin scope, aliases. A table starts
    /// with [`ScopeRules::plain`]: every scope an exact permission and no admin scope.
    pub fn scope_rules(mut self, rules: ScopeRules) -> Self {
        self.rules = rules;
        self
    }

    /// Reads scopes with the hierarchical grammar: `orders:read` is then granted by
    /// `orders:read`, `orders:*:read` and (for `orders:o1:read`) by `orders:read` too. A plain
    /// table matches every scope exactly; the AgentOS preset turns this on.
    ///
    /// ```
    /// use jwt_core::{RouteTable, ScopeMapper, ScopeSet};
    /// let plain = RouteTable::builder().route("GET /orders", ["orders:read"]).build()?;
    /// assert!(!ScopeSet::parse(["orders:*:read"], plain.scope_rules()).can("orders:read"));
    /// let tree = RouteTable::builder().route("GET /orders", ["orders:read"]).hierarchical_scopes().build()?;
    /// assert!(ScopeSet::parse(["orders:*:read"], tree.scope_rules()).can("orders:read"));
    /// # Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn hierarchical_scopes(mut self) -> Self {
        self.rules = self.rules.with_hierarchy(true);
        self
    }

    /// Sets the admin scope: a token holding it passes every route that requires scopes. A
    /// table has none unless this (or a preset) sets one.
    pub fn admin_scope(mut self, scope: impl Into<String>) -> Self {
        self.rules = self.rules.admin_scope(scope);
        self
    }

    /// Switches the admin scope off (keeping the grammar and aliases): for a preset's table
    /// (the AgentOS preset has `agent_os:admin`) when nobody should hold a scope that opens
    /// every route.
    ///
    /// ```
    /// use jwt_core::{RouteTable, ScopeMapper};
    /// let table = RouteTable::builder().route("GET /orders", ["orders.read"]).build()?;
    /// assert_eq!(table.scope_rules().admin(), None); // a plain table has none
    /// let table = RouteTable::builder().admin_scope("root").no_admin_scope().build()?;
    /// assert_eq!(table.scope_rules().admin(), None);
    /// # Ok::<(), jwt_core::ConfigError>(())
    /// ```
    pub fn no_admin_scope(mut self) -> Self {
        self.rules = self.rules.no_admin_scope();
        self
    }

    /// Declares an MCP endpoint (Streamable HTTP, e.g. `"/mcp"`): its `POST` is decided by the
    /// JSON-RPC body, message by message, against the table's `MCP` rows (see
    /// [`crate::McpOperation`] and the rows' grammar in [`crate::manual`]); its `GET` (the
    /// server's event stream) and `DELETE` (the end of a session) need a valid token unless an
    /// entry says otherwise. A batch passes only if every message does.
    ///
    /// ```
    /// use jwt_core::{Access, McpOperation, RouteTable, ScopeMapper};
    /// let table = RouteTable::builder()
    ///     .mcp("/mcp")
    ///     .route("MCP tools/call {tool}", ["tools:{tool}:call"])
    ///     .route("MCP tools/call search_*", ["search"])
    ///     .exclude("MCP ping")
    ///     .build()?;
    /// assert_eq!(*table.lookup("POST", "/mcp")?.access, Access::Mcp);
    /// assert_eq!(*table.lookup("GET", "/mcp")?.access, Access::Authenticated);
    /// let op = McpOperation::new("tools/call", Some("run_agent"));
    /// let m = table.resolve_mcp(&op);
    /// assert_eq!(m.route, Some("MCP tools/call {tool}"));
    /// assert_eq!(m.params[0].1, "run_agent");
    /// // Not listed: denied.
    /// let op = McpOperation::new("tasks/cancel", None);
    /// assert_eq!(*table.resolve_mcp(&op).access, Access::Denied);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mcp(mut self, endpoint: &str) -> Self {
        let endpoint = normalise_entry(&format!("POST {endpoint}"))
            .split_once(' ')
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        if !self.mcp_endpoints.contains(&endpoint) {
            self.mcp_endpoints.push(endpoint);
        }
        self
    }

    /// Checks every entry and builds the table.
    ///
    /// A required scope must be one a token could hold: an RFC 6749 scope-token (no whitespace,
    /// control or non-ASCII characters, `"` or `\\`; in a template, its literal parts), whose
    /// `{parameters}` the route binds. Any such scope is fine: hierarchical (`agents:{id}:run`)
    /// or an exact permission (`orders.read`, `Files.Read`, `api://x/y`).
    ///
    /// ```
    /// use jwt_core::{ConfigError, RouteTable};
    /// assert!(RouteTable::builder().route("GET /orders", ["orders.read"]).build().is_ok());
    /// let err = RouteTable::builder().route("GET /orders", ["orders.read orders.write"]).build();
    /// assert!(matches!(err, Err(ConfigError::InvalidScopeTemplate { .. })));
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidRoute`] for a bad entry, [`ConfigError::InvalidScopeTemplate`] for a
    /// required scope no token could hold or a template naming a parameter the route does not
    /// bind, and the admin scope's errors ([`ScopeRules::validate`]).
    pub fn build(mut self) -> Result<RouteTable, ConfigError> {
        self.rules.validate()?;
        let hierarchical = self.rules.is_hierarchical();
        let mcp = self.mcp_rows()?;
        let has_mcp = !self.mcp_endpoints.is_empty();
        let mut rules = self
            .entries
            .into_iter()
            .map(|(entry, access, checks, listing)| {
                rule(entry, access, checks, listing, hierarchical)
            })
            .collect::<Result<Vec<Rule>, ConfigError>>()?;
        attach_conditions(&mut rules, self.conditions)?;
        let mut by_method: Vec<(String, Bucket)> = Vec::new();
        let mut any_method = Bucket::default();
        for (i, rule) in rules.iter().enumerate() {
            match &rule.method {
                Some(m) => {
                    let slot = match by_method.iter().position(|(name, _)| name == m) {
                        Some(at) => at,
                        None => {
                            by_method.push((m.clone(), Bucket::default()));
                            by_method.len() - 1
                        }
                    };
                    by_method[slot].1.add(i, &rule.pattern);
                }
                None => any_method.add(i, &rule.pattern),
            }
        }
        let unmapped = match self.unmapped {
            Unmapped::Authenticated => Access::Authenticated,
            Unmapped::Deny => Access::Denied,
        };
        Ok(RouteTable {
            rules,
            by_method,
            any_method,
            unmapped,
            rules_grammar: Arc::new(self.rules),
            mcp,
            has_mcp,
        })
    }

    /// Takes the `MCP` rows out of the entries and adds each endpoint's entries.
    fn mcp_rows(&mut self) -> Result<McpRows, ConfigError> {
        let (rows, routes): (Vec<_>, Vec<_>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|(e, ..)| e.split_once(' ').is_some_and(|(m, _)| m == "MCP") || e == "MCP");
        self.entries = routes;
        let mut plain = Vec::with_capacity(rows.len());
        for (entry, access, checks, listing) in rows {
            if !checks.is_empty() || listing.is_some() {
                return Err(ConfigError::InvalidRoute {
                    route: entry,
                    reason: "an MCP row has no listing or resource check",
                });
            }
            plain.push((entry, access));
        }
        if !plain.is_empty() && self.mcp_endpoints.is_empty() {
            return Err(ConfigError::InvalidRoute {
                route: plain.swap_remove(0).0,
                reason: "MCP rows need an endpoint: declare it with .mcp(\"/mcp\")",
            });
        }
        for endpoint in std::mem::take(&mut self.mcp_endpoints) {
            let post = format!("POST {endpoint}");
            if self.entries.iter().any(|(e, ..)| *e == post) {
                return Err(ConfigError::InvalidRoute {
                    route: post,
                    reason: "this is an MCP endpoint: its operations are MCP rows (\"MCP tools/call ...\")",
                });
            }
            self.entries.push((post, Access::Mcp, Vec::new(), None));
            for method in ["GET", "DELETE"] {
                let entry = format!("{method} {endpoint}");
                if !self.entries.iter().any(|(e, ..)| *e == entry) {
                    self.entries
                        .push((entry, Access::Authenticated, Vec::new(), None));
                }
            }
            self.mcp_endpoints.push(endpoint);
        }
        McpRows::build(plain)
    }
}

/// Each entry's step-up and actor rules onto its rule: the entry must exist and require a
/// token, and the rules must say something that can hold.
fn attach_conditions(
    rules: &mut [Rule],
    conditions: Vec<(String, Conditions)>,
) -> Result<(), ConfigError> {
    for (entry, conditions) in conditions {
        let Some(rule) = rules.iter_mut().find(|r| r.entry == entry) else {
            return Err(ConfigError::InvalidRoute {
                route: entry,
                reason: "a step-up or actor rule needs its entry: add the route first",
            });
        };
        let invalid = |reason| ConfigError::InvalidRoute {
            route: entry.clone(),
            reason,
        };
        // Where no token decides, no condition could be checked: refuse rather than let a
        // rule that is never enforced look like it is.
        if matches!(
            rule.access,
            Access::Excluded | Access::Optional | Access::Mcp
        ) {
            return Err(invalid(
                "step-up and actor rules need a route that requires a token (not excluded, optional or an MCP endpoint)",
            ));
        }
        if conditions.step_up.as_ref().is_some_and(StepUp::is_empty) {
            return Err(invalid("an empty step-up: name acr values or a max_age"));
        }
        if conditions
            .actors
            .as_ref()
            .is_some_and(Actors::is_contradictory)
        {
            return Err(invalid(
                "a route that forbids delegated calls names allowed actors",
            ));
        }
        rule.conditions = conditions;
    }
    Ok(())
}

/// One entry checked and turned into a rule: its method, pattern and every scope it names.
fn rule(
    entry: String,
    access: Access,
    checks: Vec<ResourceCheck>,
    listing: Option<Listing>,
    hierarchical: bool,
) -> Result<Rule, ConfigError> {
    let invalid = |reason| ConfigError::InvalidRoute {
        route: entry.clone(),
        reason,
    };
    // Listings and agno's resource checks read `resource:id:action` scopes: on a table that
    // reads every scope exactly they could never grant anything.
    if (listing.is_some() || !checks.is_empty()) && !hierarchical {
        return Err(invalid(
            "a listing or resource check reads hierarchical scopes: call .hierarchical_scopes() on the table",
        ));
    }
    let Some((method, path)) = entry.split_once(' ') else {
        return Err(invalid("expected \"METHOD /path\""));
    };
    if method == "HEAD" {
        return Err(invalid(
            "HEAD follows the GET entry of the same path: write it as GET",
        ));
    }
    if method != "*" && !KNOWN_METHODS.contains(&method) {
        return Err(ConfigError::UnknownMethod {
            suggestion: suggest_method(method),
            route: entry.clone(),
        });
    }
    let pattern = Pattern::parse(&entry, path)?;
    let templates = match &access {
        Access::Scopes(s) => s.iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    for t in templates.into_iter().chain(checks.iter().map(|c| &c.scope)) {
        check_template(&entry, t, &pattern)?;
    }
    let method = (method != "*").then(|| method.to_owned());
    Ok(Rule {
        rank: pattern.rank(),
        entry,
        method,
        pattern,
        access,
        checks,
        listing,
        conditions: Conditions::default(),
    })
}

/// A required scope must be one a token could hold, and name only parameters the route binds.
fn check_template(entry: &str, t: &ScopeTemplate, pattern: &Pattern) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::InvalidScopeTemplate {
        route: entry.to_owned(),
        scope: t.as_str().to_owned(),
        reason,
    };
    // A scope no token could ever hold would answer 403 to everyone (but admin).
    t.check().map_err(invalid)?;
    if t.params().any(|p| !pattern.param_names().any(|n| n == p)) {
        return Err(invalid("names a parameter the route does not bind"));
    }
    Ok(())
}

/// `"get  /a/"` → `"GET /a"`-style key used to detect overrides.
/// The methods a route may name (besides `*`, every method): RFC 9110's, `PATCH` (RFC 5789),
/// `QUERY`, and WebDAV's (RFC 4918). Anything else is a typo until proven otherwise.
const KNOWN_METHODS: [&str; 16] = [
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "QUERY",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
];

/// The known method `method` is most likely a misspelling of: the same letters in another
/// order, or one letter added, dropped or changed.
fn suggest_method(method: &str) -> Option<&'static str> {
    let sorted = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b.sort_unstable();
        b
    };
    KNOWN_METHODS.iter().copied().find(|known| {
        let (a, b) = (method.as_bytes(), known.as_bytes());
        let one_edit = match a.len().abs_diff(b.len()) {
            0 => a.iter().zip(b).filter(|(x, y)| x != y).count() == 1,
            1 => {
                let (long, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
                (0..long.len())
                    .any(|skip| long[..skip] == short[..skip] && long[skip + 1..] == short[skip..])
            }
            _ => false,
        };
        one_edit || sorted(method) == sorted(known)
    })
}

fn normalise_entry(entry: &str) -> String {
    let entry = entry.trim();
    match entry.split_once(char::is_whitespace) {
        // An MCP row's target is a name or URI, kept as written.
        Some((m, p)) if m.eq_ignore_ascii_case("MCP") => format!("MCP {}", p.trim()),
        Some((m, p)) => {
            let p = p.trim();
            let p = if p.len() > 1 {
                p.strip_suffix('/').unwrap_or(p)
            } else {
                p
            };
            format!("{} {}", m.to_ascii_uppercase(), p)
        }
        None => entry.to_owned(),
    }
}

impl RouteTable {
    /// The index of the most specific rule matching `segs` for `method` (`scratch` is the
    /// matcher's working space).
    #[inline]
    fn best_rule<'p>(
        &'p self,
        method: &str,
        segs: &[&str],
        scratch: &mut Bindings<'p>,
    ) -> Option<usize> {
        let first = segs.first().copied().unwrap_or("");
        let candidates = self
            .by_method
            .iter()
            .find(|(name, _)| name == method)
            .into_iter()
            .flat_map(|(_, b)| b.candidates(first))
            .chain(self.any_method.candidates(first));
        let mut best: Option<usize> = None;
        for i in candidates {
            if self.rules[i].pattern.matches(segs, scratch)
                && best.is_none_or(|j| self.outranks(i, j))
            {
                best = Some(i);
            }
        }
        best
    }

    /// Whether rule `i` wins over rule `j` when both match: the more specific shape; for the
    /// same shape, a method-specific entry beats `*`, then the earlier one.
    #[inline]
    fn outranks(&self, i: usize, j: usize) -> bool {
        let (rule, other) = (&self.rules[i], &self.rules[j]);
        match rule.rank.cmp(&other.rank) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => {
                rule.method.is_some() && other.method.is_none()
                    || (i < j && rule.method.is_some() == other.method.is_some())
            }
        }
    }
}

impl ScopeMapper for RouteTable {
    /// A built table never changes.
    fn is_fixed(&self) -> bool {
        true
    }

    fn resolve_mcp<'a>(&'a self, op: &'a McpOperation) -> RouteMatch<'a> {
        self.mcp.resolve(op)
    }

    fn has_mcp_endpoints(&self) -> bool {
        self.has_mcp
    }

    fn resolve<'a>(
        &'a self,
        method: &str,
        path: &RequestPath<'a>,
    ) -> Result<RouteMatch<'a>, PathRejection> {
        let method = if method == "HEAD" { "GET" } else { method };
        let segments = path.segments();
        // Decoded segments on the stack for ordinary paths; the heap only for very deep ones.
        let mut stack = [""; 16];
        let heap: Vec<&str>;
        let segs: &[&str] = if segments.len() <= stack.len() {
            for (slot, seg) in stack.iter_mut().zip(segments) {
                *slot = seg.decoded();
            }
            &stack[..segments.len()]
        } else {
            heap = segments.iter().map(|s| s.decoded()).collect();
            &heap
        };
        let mut scratch = Bindings::new();
        let Some(i) = self.best_rule(method, segs, &mut scratch) else {
            return Ok(RouteMatch::new(Cow::Borrowed(&self.unmapped)));
        };
        let rule = &self.rules[i];
        // A literal sent percent-encoded: raw-matching routers (axum, poem, warp) and
        // decoded-matching ones (actix-web) would disagree on which handler runs.
        if segments
            .iter()
            .enumerate()
            .any(|(at, seg)| seg.is_encoded() && rule.pattern.is_literal_at(at))
        {
            return Err(PathRejection::EncodedLiteral);
        }
        // Bind the winner's parameters (matching once more is cheaper than keeping every
        // candidate's bindings).
        rule.pattern.matches(segs, &mut scratch);
        let params = scratch
            .into_iter()
            .map(|(name, at)| {
                let value = match rule.pattern.segments.get(at) {
                    Some(Segment::Tail(_)) => join_tail(&segments[at..], path.trailing_slash()),
                    _ => segments[at].decoded_cow(),
                };
                (name, value)
            })
            .collect();
        Ok(RouteMatch {
            route: Some(&rule.entry),
            access: Cow::Borrowed(&rule.access),
            checks: &rule.checks,
            listing: rule.listing.as_ref(),
            params,
            conditions: &rule.conditions,
        })
    }

    fn scope_rules(&self) -> &Arc<ScopeRules> {
        &self.rules_grammar
    }

    /// Every scope a route requires, sorted: literal ones as written, a per-resource template
    /// (`agents:{agent_id}:run`) as its wildcard form (`agents:*:run`), which grants it for
    /// every id; other templates are left out.
    fn scopes_supported(&self) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        let routes = self.rules.iter().flat_map(|rule| {
            let templates = match &rule.access {
                Access::Scopes(t) => t.as_slice(),
                _ => &[],
            };
            templates.iter().chain(rule.checks.iter().map(|c| &c.scope))
        });
        for t in routes.chain(self.mcp.templates()) {
            let text = t.as_str();
            if t.params().next().is_none() {
                out.insert(text.to_owned());
                continue;
            }
            let parts: Vec<&str> = text.split(':').collect();
            if let [res, id, action] = parts.as_slice()
                && id.starts_with('{')
                && id.ends_with('}')
                && !res.contains('{')
                && !action.contains('{')
            {
                out.insert(format!("{res}:*:{action}"));
            }
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::pattern::glob_match;
    use super::*;
    use proptest::prelude::*;
    use std::borrow::Cow;

    fn table(entries: &[(&str, &[&str])]) -> RouteTable {
        let mut b = RouteTable::builder();
        for (e, s) in entries {
            b = b.route(e, s.iter().copied());
        }
        b.build().unwrap()
    }

    fn route_of(t: &RouteTable, m: &str, p: &str) -> Option<String> {
        t.lookup(m, p).unwrap().route.map(str::to_owned)
    }

    #[test]
    fn params_and_globs_stay_in_one_segment() {
        let t = table(&[
            ("GET /a/{x}", &["s"]),
            ("GET /b/*", &["s"]),
            ("GET /c/pre-*", &["s"]),
            ("GET /d/{*rest}", &["s"]),
        ]);
        assert_eq!(route_of(&t, "GET", "/a/1").as_deref(), Some("GET /a/{x}"));
        assert_eq!(route_of(&t, "GET", "/a/1/2"), None);
        assert_eq!(route_of(&t, "GET", "/a"), None);
        assert_eq!(route_of(&t, "GET", "/b/x"), Some("GET /b/*".into()));
        assert_eq!(route_of(&t, "GET", "/b/x/y"), None);
        assert_eq!(route_of(&t, "GET", "/b"), None);
        assert_eq!(route_of(&t, "GET", "/c/pre-x"), Some("GET /c/pre-*".into()));
        assert_eq!(route_of(&t, "GET", "/c/pre-"), Some("GET /c/pre-*".into()));
        assert_eq!(route_of(&t, "GET", "/c/xpre-"), None);
        assert_eq!(
            route_of(&t, "GET", "/d/x/y/z"),
            Some("GET /d/{*rest}".into())
        );
        assert_eq!(route_of(&t, "GET", "/d"), None);
        let m = t.lookup("GET", "/d/x/y%20z/").unwrap();
        assert_eq!(m.params, vec![("rest", Cow::Owned::<str>("x/y z/".into()))]);
        let m = t.lookup("GET", "/d/x/y").unwrap();
        assert_eq!(m.params, vec![("rest", Cow::Owned::<str>("x/y".into()))]);
    }

    #[test]
    fn most_specific_wins_regardless_of_order() {
        let t = table(&[
            ("GET /agents/{*rest}", &["tail"]),
            ("GET /agents/{id}", &["param"]),
            ("GET /agents/special", &["literal"]),
            ("GET /agents/sp*", &["glob"]),
            ("* /agents/{id}", &["any-method"]),
        ]);
        assert_eq!(
            route_of(&t, "GET", "/agents/special").as_deref(),
            Some("GET /agents/special")
        );
        assert_eq!(
            route_of(&t, "GET", "/agents/spx").as_deref(),
            Some("GET /agents/sp*")
        );
        assert_eq!(
            route_of(&t, "GET", "/agents/x").as_deref(),
            Some("GET /agents/{id}")
        );
        assert_eq!(
            route_of(&t, "GET", "/agents/x/y").as_deref(),
            Some("GET /agents/{*rest}")
        );
        assert_eq!(
            route_of(&t, "POST", "/agents/x").as_deref(),
            Some("* /agents/{id}")
        );
    }

    #[test]
    fn head_uses_get_and_trailing_slash_is_ignored() {
        let t = table(&[("GET /x", &["s"]), ("POST /x/", &["p"])]);
        assert_eq!(route_of(&t, "HEAD", "/x").as_deref(), Some("GET /x"));
        assert_eq!(route_of(&t, "GET", "/x/").as_deref(), Some("GET /x"));
        assert_eq!(route_of(&t, "POST", "/x").as_deref(), Some("POST /x"));
        assert_eq!(route_of(&t, "get", "/x"), None);
        assert_eq!(route_of(&t, "PUT", "/x"), None);
    }

    #[test]
    fn root_and_exclusions() {
        let t = RouteTable::builder()
            .exclude("/")
            .exclude("/public/*")
            .route("GET /public/secret", ["admin:read"])
            .build()
            .unwrap();
        assert_eq!(*t.lookup("GET", "/").unwrap().access, Access::Excluded);
        assert_eq!(
            *t.lookup("DELETE", "/public/a").unwrap().access,
            Access::Excluded
        );
        assert_eq!(t.lookup("GET", "/public").unwrap().route, None);
        assert!(matches!(
            *t.lookup("GET", "/public/secret").unwrap().access,
            Access::Scopes(_)
        ));
    }

    #[test]
    fn overrides_replace_in_place_and_remove_works() {
        let t = RouteTable::builder()
            .route("GET /a", ["one"])
            .route("get /a/", ["two"])
            .authenticated("POST /b")
            .remove("POST /b")
            .build()
            .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            *t.lookup("GET", "/a").unwrap().access,
            Access::Scopes(vec![ScopeTemplate::new("two")])
        );
    }

    #[test]
    fn percent_decoded_params_render_templates() {
        let t = table(&[("POST /agents/{agent_id}/runs", &["agents:{agent_id}:run"])]);
        let m = t.lookup("POST", "/agents/agent%3A1/runs").unwrap();
        let Access::Scopes(s) = &*m.access else {
            panic!()
        };
        assert_eq!(s[0].render(&m.params), "agents:agent:1:run");
        // An escaped unreserved character is refused before any template is rendered.
        assert_eq!(
            t.lookup("POST", "/agents/agent%2D1/runs").unwrap_err(),
            PathRejection::EncodedUnreserved
        );
    }

    #[test]
    fn escapes_bind_params_decoded_once_and_never_spell_literals() {
        let t = table(&[
            ("POST /agents/{agent_id}/runs", &["agents:{agent_id}:run"]),
            ("GET /config", &["config:read"]),
            ("POST /admin:reset", &["admin"]),
            ("GET /files/{*path}", &["files:read"]),
            ("GET /s/pre-*", &["s"]),
            ("GET /any/*", &["s"]),
        ]);
        for path in [
            "/agents/a1/run%73",
            "/agents/a1/ru%6E%73",
            "/%61gents/a1/runs",
            "/agents/a1/RUNS%2F",
        ] {
            assert!(
                t.lookup("POST", path).is_err() || t.lookup("POST", path).unwrap().route.is_none(),
                "{path}"
            );
        }
        // Unreserved characters escaped anywhere: a disguise, refused first.
        for path in ["/agents/a1/run%73", "/confi%67", "/s/pre-%78"] {
            assert_eq!(
                t.lookup("GET", path).unwrap_err(),
                PathRejection::EncodedUnreserved,
                "{path}"
            );
        }
        // Reserved characters escaped in a literal: ambiguous between routers.
        assert_eq!(
            t.lookup("POST", "/admin%3Areset").unwrap_err(),
            PathRejection::EncodedLiteral
        );
        assert_eq!(
            t.lookup("GET", "/s/pre-%2C").unwrap_err(),
            PathRejection::EncodedLiteral
        );
        // A bare `*` glob behaves like a parameter.
        assert_eq!(
            t.lookup("GET", "/any/%2C").unwrap().route,
            Some("GET /any/*")
        );
        // Parameters: decoded exactly once, `%2F` stays inside the segment.
        let m = t.lookup("POST", "/agents/a%2Fb/runs").unwrap();
        assert_eq!(m.params[0].1, "a/b");
        let m = t.lookup("POST", "/agents/agent%252D1/runs").unwrap();
        assert_eq!(m.params[0].1, "agent%2D1");
        let m = t.lookup("GET", "/files/a/b%20c/%C3%A9").unwrap();
        assert_eq!(m.params[0].1, "a/b c/é");
        assert_eq!(t.lookup("GET", "/config%2Fx").unwrap().route, None);
        assert_eq!(
            t.lookup("POST", "/agents//runs").unwrap_err(),
            PathRejection::EmptySegment
        );
    }

    #[test]
    fn build_errors() {
        for (entry, scopes) in [
            ("GET agents", vec!["s"]),
            ("/agents", vec!["s"]),
            ("GET /a/{}", vec!["s"]),
            ("GET /a/{x}/{x}", vec!["s"]),
            ("GET /a/{*x}/b", vec!["s"]),
            ("GET /a/x{y}", vec!["s"]),
            ("GET /a//b", vec!["s"]),
            ("GET /a/{id}", vec!["agents:{agent_id}:run"]),
            ("GET /a/{id}", vec!["agents:{id:run"]),
            ("GET /a/{id}", vec![" "]),
            ("GET /a/{id}", vec![""]),
            ("GET /a/{id}", vec!["orders.read orders.write"]),
            ("GET /a/{id}", vec!["orders\tread"]),
            ("GET /a/{id}", vec!["orders.read\n"]),
            ("GET /a/{id}", vec!["orders\u{0}read"]),
            ("GET /a/{id}", vec!["caf\u{e9}:read"]),
            ("GET /a/{id}", vec!["say\"x\""]),
            ("GET /a/{id}", vec!["items:{id}:re ad"]),
            ("GET /a/{id}", vec!["items:{id}}:read"]),
            ("GET /a/{id}", vec!["ok", "not ok"]),
            ("HEAD /a", vec!["s"]),
            ("GET /a%3Ab", vec!["s"]),
            ("GET /a/../b", vec!["s"]),
        ] {
            let r = RouteTable::builder().route(entry, scopes.clone()).build();
            assert!(r.is_err(), "{entry} {scopes:?}");
        }
    }

    #[test]
    fn listings_and_resource_checks_need_the_hierarchy() {
        for b in [
            RouteTable::builder()
                .route("GET /orders", ["orders:read"])
                .listing("GET /orders", "orders", "read"),
            RouteTable::builder().resource_check(
                "GET /orders/{id}",
                "orders:{id}:read",
                "read",
                "order",
            ),
        ] {
            let err = b.clone().build().unwrap_err().to_string();
            assert!(err.contains(".hierarchical_scopes()"), "{err}");
            assert!(b.hierarchical_scopes().build().is_ok());
        }
    }

    #[test]
    fn plain_scopes_build_and_unsatisfiable_ones_do_not() {
        let t = RouteTable::builder()
            .route("GET /orders", ["orders.read"])
            .route("GET /files", ["Files.Read"])
            .route("GET /x", ["api://x/y", "https://example.com/scope"])
            .route("GET /a/{id}", ["admin:items:{id}:read"])
            .resource_check("GET /orders", "read", "read", "order")
            .hierarchical_scopes()
            .build()
            .unwrap();
        assert_eq!(
            *t.lookup("GET", "/orders").unwrap().access,
            Access::Scopes(vec![ScopeTemplate::new("orders.read")])
        );
        // Resource checks are held to the same rule.
        let err = RouteTable::builder()
            .route("GET /orders", ["orders.read"])
            .resource_check("GET /orders", "orders read", "read", "order")
            .hierarchical_scopes()
            .build()
            .unwrap_err();
        assert!(
            matches!(
                &err,
                ConfigError::InvalidScopeTemplate { route, scope, reason }
                    if route == "GET /orders" && scope == "orders read" && reason.contains("whitespace")
            ),
            "{err:?}"
        );
        // The admin scope too.
        assert!(matches!(
            RouteTable::builder().admin_scope("").build(),
            Err(ConfigError::Empty("admin scope"))
        ));
        assert!(matches!(
            RouteTable::builder().admin_scope("super user").build(),
            Err(ConfigError::InvalidScopeTemplate { .. })
        ));
    }

    #[test]
    fn admin_scope_can_be_switched_off() {
        // A plain table has no admin scope and reads scopes exactly; a preset chooses both.
        let plain = RouteTable::builder().build().unwrap();
        assert_eq!(plain.scope_rules().admin(), None);
        assert!(!plain.scope_rules().is_hierarchical());
        let agno = RouteTable::agent_os().build().unwrap();
        assert_eq!(agno.scope_rules().admin(), Some("agent_os:admin"));
        assert!(agno.scope_rules().is_hierarchical());
        let off = RouteTable::builder()
            .scope_rules(ScopeRules::agent_os().alias("system", "config"))
            .no_admin_scope()
            .build()
            .unwrap();
        assert_eq!(off.scope_rules().admin(), None);
        assert_eq!(
            **off.scope_rules(),
            ScopeRules::hierarchical().alias("system", "config")
        );
        let root = RouteTable::builder()
            .no_admin_scope()
            .admin_scope("root")
            .build()
            .unwrap();
        assert_eq!(root.scope_rules().admin(), Some("root"));
    }

    #[test]
    fn routes_that_cannot_be_what_the_user_meant_are_build_errors() {
        let build = |entry: &str| RouteTable::builder().route(entry, ["s"]).build();
        // A misspelt method, with the method it most likely misspells.
        for (entry, suggestion) in [
            ("GTE /orders", Some("GET")),
            ("POTS /orders", Some("POST")),
            ("DELET /orders/{id}", Some("DELETE")),
            ("PATCHH /orders/{id}", Some("PATCH")),
            ("FETCH /orders", None),
            ("G3T /orders", Some("GET")),
            ("FOO /orders", None),
        ] {
            match build(entry) {
                Err(ConfigError::UnknownMethod { suggestion: s, .. }) => {
                    assert_eq!(s, suggestion, "{entry}");
                }
                other => panic!("{entry}: {other:?}"),
            }
        }
        let err = build("GTE /orders").unwrap_err().to_string();
        assert!(err.contains("did you mean GET?"), "{err}");
        // Methods that exist, in any case, and `*`.
        for entry in ["get /a", "QUERY /a", "PROPFIND /a", "* /a", "OPTIONS /a"] {
            assert!(build(entry).is_ok(), "{entry}");
        }
        // axum 0.7 / express parameter spellings: a hint towards `{id}` and `{*rest}`.
        for (entry, hint) in [
            ("GET /orders/:id", "write `{name}`"),
            ("GET /orders/:order_id/items", "write `{name}`"),
            ("GET /files/*rest", "write `{*name}`"),
            ("GET /files/*path", "write `{*name}`"),
        ] {
            let err = build(entry).unwrap_err().to_string();
            assert!(err.contains(hint), "{entry}: {err}");
        }
        // Still fine: a glob, a literal holding `:` or `*` elsewhere.
        for entry in [
            "GET /files/*",
            "GET /files/*.json",
            "POST /admin:reset",
            "GET /q*",
        ] {
            assert!(build(entry).is_ok(), "{entry}");
        }
    }

    #[test]
    fn unmapped_policy() {
        let closed = RouteTable::builder().build().unwrap();
        assert_eq!(*closed.lookup("GET", "/x").unwrap().access, Access::Denied);
        let open = RouteTable::builder()
            .unmapped(Unmapped::Authenticated)
            .build()
            .unwrap();
        assert_eq!(
            *open.lookup("GET", "/x").unwrap().access,
            Access::Authenticated
        );
        let denied = RouteTable::builder().deny("GET /x").build().unwrap();
        let m = denied.lookup("GET", "/x").unwrap();
        assert_eq!((m.route, &*m.access), (Some("GET /x"), &Access::Denied));
    }

    fn seg() -> impl Strategy<Value = String> {
        "[a-z0-9._-]{1,6}"
    }

    proptest! {
        #[test]
        fn param_and_star_never_cross_slash(a in seg(), b in seg(), c in seg()) {
            prop_assume!(![&a, &b, &c].iter().any(|s| *s == "." || *s == ".."));
            let t = table(&[("GET /p/{x}", &["s"]), ("GET /s/*", &["s"]), ("GET /g/{x}/end", &["s"])]);
            let q1 = format!("/p/{a}");
            let route = |p: &str| t.lookup("GET", p).unwrap().route.map(str::to_owned);
            prop_assert!(route(&q1).is_some());
            let q2 = format!("/p/{a}/{b}");
            prop_assert!(route(&q2).is_none());
            let q3 = format!("/s/{a}");
            prop_assert!(route(&q3).is_some());
            let q4 = format!("/s/{a}/{b}");
            prop_assert!(route(&q4).is_none());
            let q5 = format!("/g/{a}/end");
            prop_assert!(route(&q5).is_some());
            let q6 = format!("/g/{a}/{b}/end");
            prop_assert!(route(&q6).is_none());
            let path = format!("/g/{c}/end");
            let m = t.lookup("GET", &path).unwrap();
            let want = percent_encoding::percent_decode_str(&c).decode_utf8_lossy().into_owned();
            prop_assert_eq!(m.params[0].1.as_ref(), want.as_str());
        }

        #[test]
        fn resolve_never_panics(method in "[A-Z]{1,7}", path in "\\PC{0,64}") {
            let t = table(&[("GET /a/{x}", &["s:{x}:r"]), ("* /b/{*rest}", &["s"]), ("POST /c/*x*", &["s"])]);
            let _ = t.lookup(&method, &path);
        }

        #[test]
        fn glob_matches_like_a_reference(pat in "[ab*]{0,6}", s in "[ab]{0,6}") {
            let parts: Vec<String> = pat.split('*').map(str::to_owned).collect();
            prop_assert_eq!(glob_match(&parts, &s), reference_glob(pat.as_bytes(), s.as_bytes()));
        }
    }

    fn reference_glob(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                reference_glob(&p[1..], s) || (!s.is_empty() && reference_glob(p, &s[1..]))
            }
            (Some(a), Some(b)) if a == b => reference_glob(&p[1..], &s[1..]),
            _ => false,
        }
    }

    #[test]
    fn conditions_need_an_entry_that_requires_a_token() {
        use crate::authz::conditions::{Actors, StepUp};
        let mfa = || StepUp::acr(["mfa"]);
        let base = || {
            RouteTable::builder()
                .route("GET /a", ["a"])
                .exclude("/public")
                .optional("GET /maybe")
                .mcp("/mcp")
        };
        assert!(base().step_up("GET /a", mfa()).build().is_ok());
        for entry in ["GET /public", "GET /maybe", "POST /mcp", "GET /missing"] {
            assert!(base().step_up(entry, mfa()).build().is_err(), "{entry}");
            assert!(
                base().actors(entry, Actors::required()).build().is_err(),
                "{entry}"
            );
        }
        assert!(
            base().step_up("GET /a", StepUp::new()).build().is_err(),
            "empty"
        );
        let table = base()
            .step_up("GET /a", mfa())
            .actors("GET /a", Actors::forbidden())
            .build()
            .unwrap();
        let m = table.lookup("GET", "/a").unwrap();
        assert!(m.conditions.step_up.is_some() && m.conditions.actors.is_some());
        assert!(
            table
                .lookup("GET", "/maybe")
                .unwrap()
                .conditions
                .step_up
                .is_none()
        );
    }
}
