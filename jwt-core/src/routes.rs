//! Route → scope mapping: the [`ScopeMapper`] trait and its built-in [`RouteTable`].
//!
//! Entries are written `"METHOD /pattern"` (`*` as the method matches every method):
//! - `{param}` matches one non-empty path segment and binds it (percent-decoded) for scope
//!   templates such as `agents:{agent_id}:run`;
//! - `*` inside a segment matches any run of characters except `/` (`/public/*` matches
//!   `/public/a` but not `/public/a/b` or `/public`; `/sessions/public-*` matches `/sessions/public-x`);
//! - `{*rest}` as the last segment matches one or more remaining segments;
//! - the most specific entry wins (literal segments beat globs, which beat parameters, which beat
//!   a tail), whatever the order they were added in; `HEAD` uses `GET`'s entries; one trailing
//!   slash on the request path is ignored.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::error::ConfigError;
use crate::scope::ScopeRules;

/// What a route demands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// No token needed; a presented token is ignored.
    Excluded,
    /// A token is optional: when present it must be valid and its identity is injected.
    Optional,
    /// Any valid token (the `[]` of agno's table).
    Public,
    /// A valid token whose scopes satisfy every listed (possibly templated) scope.
    Scopes(Vec<ScopeTemplate>),
}

/// A required scope, possibly naming path parameters: `agents:{agent_id}:run`.
///
/// ```
/// use jwt_core::ScopeTemplate;
/// let t = ScopeTemplate::new("agents:{agent_id}:run");
/// assert_eq!(t.render(&[("agent_id", "a1".into())]), "agents:a1:run");
/// assert_eq!(t.params().collect::<Vec<_>>(), ["agent_id"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeTemplate {
    text: String,
}

impl ScopeTemplate {
    /// A template from its text.
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The names of the parameters it uses.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
    }

    fn is_literal(&self) -> bool {
        !self.text.contains('{')
    }

    /// Substitutes parameters by name; an unknown name is left as written. A template without
    /// parameters is returned borrowed.
    pub fn render(&self, params: &[(&str, Cow<'_, str>)]) -> Cow<'_, str> {
        if self.is_literal() {
            return Cow::Borrowed(&self.text);
        }
        let mut out = String::with_capacity(self.text.len() + 16);
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.split_once('}') {
                Some((name, tail)) => {
                    match params.iter().find(|(n, _)| *n == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = tail;
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        Cow::Owned(out)
    }
}

/// agno's route-level resource check (agno-behaviour.md §3.4): after the scope check, the caller
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

/// The listing fallback (agno-behaviour.md §4/§11): a `GET` on a collection whose caller lacks
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
#[derive(Debug, Clone)]
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
}

/// Maps a request's method and path to what it demands.
///
/// ```
/// use jwt_core::{Access, RouteTable, ScopeMapper};
/// let table = RouteTable::builder().route("GET /items/{id}", ["items:{id}:read"]).build()?;
/// let m = table.resolve("GET", "/items/42");
/// assert_eq!(m.params[0].1, "42");
/// assert!(matches!(*m.access, Access::Scopes(_)));
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
pub trait ScopeMapper: Send + Sync + fmt::Debug {
    /// What the request needs.
    fn resolve<'a>(&'a self, method: &str, path: &'a str) -> RouteMatch<'a>;

    /// The scope grammar (admin scope, aliases) the requirements are written in.
    fn scope_rules(&self) -> &Arc<ScopeRules>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// Literal pieces between `*`s: `public-*` is `["public-", ""]`.
    Glob(Vec<String>),
    Tail(String),
}

impl Segment {
    /// Higher is more specific.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 4,
            Segment::Glob(parts) if parts.iter().any(|p| !p.is_empty()) => 3,
            Segment::Glob(_) | Segment::Param(_) => 2,
            Segment::Tail(_) => 1,
        }
    }
}

fn glob_match(parts: &[String], s: &str) -> bool {
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return s.is_empty(),
    };
    let Some(mut s) = s.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return s.is_empty();
    };
    for piece in middle {
        match s.find(piece.as_str()) {
            Some(i) => s = &s[i + piece.len()..],
            None => return false,
        }
    }
    s.len() >= last.len() && s.ends_with(last.as_str())
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    segments: Vec<Segment>,
}

impl Pattern {
    fn parse(entry: &str, path: &str) -> Result<Self, ConfigError> {
        let err = |reason| ConfigError::InvalidRoute {
            route: entry.to_owned(),
            reason,
        };
        let Some(rest) = path.strip_prefix('/') else {
            return Err(err("the path must start with '/'"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut segments = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        if !rest.is_empty() {
            let raw: Vec<&str> = rest.split('/').collect();
            for (i, seg) in raw.iter().enumerate() {
                if seg.is_empty() {
                    return Err(err("empty path segment"));
                }
                let segment =
                    if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        if let Some(name) = inner.strip_prefix('*') {
                            if i + 1 != raw.len() {
                                return Err(err("{*tail} must be the last segment"));
                            }
                            check_name(name).map_err(err)?;
                            names.push(name);
                            Segment::Tail(name.to_owned())
                        } else {
                            check_name(inner).map_err(err)?;
                            names.push(inner);
                            Segment::Param(inner.to_owned())
                        }
                    } else if seg.contains(['{', '}']) {
                        return Err(err("a parameter must fill its whole segment"));
                    } else if seg.contains('*') {
                        Segment::Glob(seg.split('*').map(str::to_owned).collect())
                    } else {
                        Segment::Literal((*seg).to_owned())
                    };
                segments.push(segment);
            }
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != names.len() {
            return Err(err("a parameter name is used twice"));
        }
        Ok(Self { segments })
    }

    fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::Tail(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Matches `segs`; on success returns the bound parameters' raw values.
    fn matches<'p, 's>(&'p self, segs: &[&'s str], out: &mut Vec<(&'p str, &'s str)>) -> bool {
        out.clear();
        let n = self.segments.len();
        let tail = matches!(self.segments.last(), Some(Segment::Tail(_)));
        if tail {
            if segs.len() < n {
                return false;
            }
        } else if segs.len() != n {
            return false;
        }
        for (i, seg) in self.segments.iter().enumerate() {
            let value = segs[i];
            match seg {
                Segment::Literal(l) => {
                    if l != value {
                        return false;
                    }
                }
                Segment::Param(name) => {
                    if value.is_empty() {
                        return false;
                    }
                    out.push((name, value));
                }
                Segment::Glob(parts) => {
                    if !glob_match(parts, value) {
                        return false;
                    }
                }
                Segment::Tail(name) => {
                    if segs[i..].iter().all(|s| s.is_empty()) {
                        return false;
                    }
                    // The tail is the rest of the path; find its start in the original string.
                    out.push((name, ""));
                }
            }
        }
        true
    }

    fn rank(&self) -> Vec<u8> {
        self.segments.iter().map(Segment::rank).collect()
    }
}

fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("parameter names are [A-Za-z0-9_-]+");
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Rule {
    entry: String,
    method: Option<String>,
    pattern: Pattern,
    rank: Vec<u8>,
    access: Access,
    checks: Vec<ResourceCheck>,
    listing: Option<Listing>,
}

/// What an unmapped route demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// Any valid token (agno's behaviour). Default.
    #[default]
    Authenticated,
    /// Refused with 403 for everyone but admins (deny by default).
    Deny,
}

/// The built-in [`ScopeMapper`]: a table of `"METHOD /pattern"` entries.
///
/// ```
/// use jwt_core::{Access, RouteTable, ScopeMapper};
/// let table = RouteTable::builder()
///     .route("GET /agents", ["agents:read"])
///     .route("POST /agents/{agent_id}/runs", ["agents:{agent_id}:run"])
///     .public("GET /me")
///     .exclude("/health")
///     .exclude("/public/*")
///     .build()?;
/// assert_eq!(*table.resolve("GET", "/health/").access, Access::Excluded);
/// assert_eq!(*table.resolve("HEAD", "/me").access, Access::Public);
/// assert_eq!(table.resolve("GET", "/public/a/b").route, None);
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RouteTable {
    rules: Vec<Rule>,
    /// A handful of methods: a short list scans faster than hashing.
    by_method: Vec<(String, Bucket)>,
    any_method: Bucket,
    unmapped: Access,
    rules_grammar: Arc<ScopeRules>,
}

/// Rule indices of one method, indexed by their first path segment when it is a literal.
#[derive(Debug, Clone, Default)]
struct Bucket {
    by_first: HashMap<String, Vec<usize>>,
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
pub struct RouteTableBuilder {
    entries: Vec<(String, Access, Vec<ResourceCheck>, Option<Listing>)>,
    unmapped: Unmapped,
    rules: ScopeRules,
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
            Access::Public
        } else {
            Access::Scopes(scopes)
        };
        self.upsert(entry, access);
        self
    }

    /// Any valid token, no scope.
    pub fn public(mut self, entry: &str) -> Self {
        self.upsert(entry, Access::Public);
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
                .push((key.clone(), Access::Public, Vec::new(), None));
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

    /// What unmapped routes demand (default: any valid token).
    pub fn unmapped(mut self, unmapped: Unmapped) -> Self {
        self.unmapped = unmapped;
        self
    }

    /// Sets the scope grammar (admin scope, aliases).
    pub fn scope_rules(mut self, rules: ScopeRules) -> Self {
        self.rules = rules;
        self
    }

    /// Replaces the admin scope.
    pub fn admin_scope(mut self, scope: impl Into<String>) -> Self {
        self.rules = self.rules.admin_scope(scope);
        self
    }

    /// Checks every entry and builds the table.
    ///
    /// # Errors
    /// [`ConfigError::InvalidRoute`] for a bad entry, [`ConfigError::InvalidScopeTemplate`] for a
    /// template naming a parameter the route does not bind.
    pub fn build(self) -> Result<RouteTable, ConfigError> {
        let mut rules = Vec::with_capacity(self.entries.len());
        for (entry, access, checks, listing) in self.entries {
            let Some((method, path)) = entry.split_once(' ') else {
                return Err(ConfigError::InvalidRoute {
                    route: entry,
                    reason: "expected \"METHOD /path\"",
                });
            };
            if method.is_empty()
                || !(method == "*" || method.bytes().all(|b| b.is_ascii_uppercase()))
            {
                return Err(ConfigError::InvalidRoute {
                    route: entry.clone(),
                    reason: "the method must be upper-case letters or '*'",
                });
            }
            let pattern = Pattern::parse(&entry, path)?;
            let names: Vec<&str> = pattern.param_names().collect();
            let templates = match &access {
                Access::Scopes(s) => s.iter().collect::<Vec<_>>(),
                _ => Vec::new(),
            };
            for t in templates.into_iter().chain(checks.iter().map(|c| &c.scope)) {
                if t.as_str().trim().is_empty() {
                    return Err(ConfigError::InvalidScopeTemplate {
                        route: entry.clone(),
                        scope: t.as_str().to_owned(),
                        reason: "empty scope",
                    });
                }
                if t.as_str().matches('{').count() != t.as_str().matches('}').count() {
                    return Err(ConfigError::InvalidScopeTemplate {
                        route: entry.clone(),
                        scope: t.as_str().to_owned(),
                        reason: "unbalanced braces",
                    });
                }
                if let Some(_missing) = t.params().find(|p| !names.contains(p)) {
                    return Err(ConfigError::InvalidScopeTemplate {
                        route: entry.clone(),
                        scope: t.as_str().to_owned(),
                        reason: "names a parameter the route does not bind",
                    });
                }
            }
            let method = (method != "*").then(|| method.to_owned());
            rules.push(Rule {
                rank: pattern.rank(),
                entry: entry.clone(),
                method,
                pattern,
                access,
                checks,
                listing,
            });
        }
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
            Unmapped::Authenticated => Access::Public,
            Unmapped::Deny => {
                Access::Scopes(vec![ScopeTemplate::new(self.rules.admin().to_owned())])
            }
        };
        Ok(RouteTable {
            rules,
            by_method,
            any_method,
            unmapped,
            rules_grammar: Arc::new(self.rules),
        })
    }
}

/// `"get  /a/"` → `"GET /a"`-style key used to detect overrides.
fn normalise_entry(entry: &str) -> String {
    let entry = entry.trim();
    match entry.split_once(char::is_whitespace) {
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

fn decode(raw: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .unwrap_or(Cow::Borrowed(raw))
}

/// Decodes percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`, RFC 3986 §6.2.2.2),
/// which name the same resource encoded or not; escapes of reserved characters (`%2F`, ...)
/// stay encoded so that they never split or merge segments.
fn normalise_unreserved(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
            && (b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            out.push(char::from(b));
            i += 3;
            continue;
        }
        let ch = path[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    Cow::Owned(out)
}

impl ScopeMapper for RouteTable {
    fn resolve<'a>(&'a self, method: &str, path: &'a str) -> RouteMatch<'a> {
        let method = if method == "HEAD" { "GET" } else { method };
        let normalised = normalise_unreserved(path);
        // Segments on the stack for ordinary paths; the heap only for very deep ones.
        let mut stack = [""; 16];
        let heap: Vec<&str>;
        let segs: &[&str] = {
            let trimmed = normalised.strip_prefix('/').unwrap_or(&normalised);
            let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
            if trimmed.is_empty() {
                &[]
            } else if trimmed.bytes().filter(|&b| b == b'/').count() < stack.len() {
                let mut n = 0;
                for seg in trimmed.split('/') {
                    stack[n] = seg;
                    n += 1;
                }
                &stack[..n]
            } else {
                heap = trimmed.split('/').collect();
                &heap
            }
        };
        let first = segs.first().copied().unwrap_or("");
        let mut best: Option<usize> = None;
        let mut scratch = Vec::new();
        let candidates = self
            .by_method
            .iter()
            .find(|(name, _)| name == method)
            .into_iter()
            .flat_map(|(_, b)| b.candidates(first))
            .chain(self.any_method.candidates(first));
        for i in candidates {
            let rule = &self.rules[i];
            if !rule.pattern.matches(segs, &mut scratch) {
                continue;
            }
            let better = match best {
                None => true,
                Some(j) => {
                    let other = &self.rules[j];
                    match rule.rank.cmp(&other.rank) {
                        std::cmp::Ordering::Greater => true,
                        std::cmp::Ordering::Less => false,
                        // Same shape: a method-specific entry beats `*`, then the earlier one.
                        std::cmp::Ordering::Equal => {
                            rule.method.is_some() && other.method.is_none()
                                || (i < j && rule.method.is_some() == other.method.is_some())
                        }
                    }
                }
            };
            if better {
                best = Some(i);
            }
        }
        // Bind the winner's parameters (matching once more is cheaper than keeping every
        // candidate's bindings).
        let best = best.map(|i| {
            self.rules[i].pattern.matches(segs, &mut scratch);
            (i, scratch)
        });
        match best {
            None => RouteMatch {
                route: None,
                access: Cow::Borrowed(&self.unmapped),
                checks: &[],
                listing: None,
                params: Vec::new(),
            },
            Some((i, raw)) => {
                let rule = &self.rules[i];
                let params = raw
                    .into_iter()
                    .map(|(name, value)| {
                        let value = if value.is_empty() {
                            // A tail: everything after the fixed segments.
                            tail_of(&normalised, rule.pattern.segments.len() - 1)
                        } else {
                            value
                        };
                        let value = match &normalised {
                            // Unchanged path: borrow the value from the request's own path.
                            Cow::Borrowed(original) => {
                                let start = value.as_ptr() as usize - original.as_ptr() as usize;
                                decode(&original[start..start + value.len()])
                            }
                            Cow::Owned(_) => Cow::Owned(decode(value).into_owned()),
                        };
                        (name, value)
                    })
                    .collect();
                RouteMatch {
                    route: Some(&rule.entry),
                    access: Cow::Borrowed(&rule.access),
                    checks: &rule.checks,
                    listing: rule.listing.as_ref(),
                    params,
                }
            }
        }
    }

    fn scope_rules(&self) -> &Arc<ScopeRules> {
        &self.rules_grammar
    }
}

/// The path after its first `skip` segments.
fn tail_of(path: &str, skip: usize) -> &str {
    let p = path.strip_prefix('/').unwrap_or(path);
    let p = p.strip_suffix('/').unwrap_or(p);
    let mut rest = p;
    for _ in 0..skip {
        match rest.find('/') {
            Some(i) => rest = &rest[i + 1..],
            None => return "",
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(entries: &[(&str, &[&str])]) -> RouteTable {
        let mut b = RouteTable::builder();
        for (e, s) in entries {
            b = b.route(e, s.iter().copied());
        }
        b.build().unwrap()
    }

    fn route_of(t: &RouteTable, m: &str, p: &str) -> Option<String> {
        t.resolve(m, p).route.map(str::to_owned)
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
        let m = t.resolve("GET", "/d/x/y%20z/");
        assert_eq!(m.params, vec![("rest", Cow::Owned::<str>("x/y z".into()))]);
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
        assert_eq!(*t.resolve("GET", "/").access, Access::Excluded);
        assert_eq!(*t.resolve("DELETE", "/public/a").access, Access::Excluded);
        assert_eq!(t.resolve("GET", "/public").route, None);
        assert!(matches!(
            *t.resolve("GET", "/public/secret").access,
            Access::Scopes(_)
        ));
    }

    #[test]
    fn overrides_replace_in_place_and_remove_works() {
        let t = RouteTable::builder()
            .route("GET /a", ["one"])
            .route("get /a/", ["two"])
            .public("POST /b")
            .remove("POST /b")
            .build()
            .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            *t.resolve("GET", "/a").access,
            Access::Scopes(vec![ScopeTemplate::new("two")])
        );
    }

    #[test]
    fn percent_decoded_params_render_templates() {
        let t = table(&[("POST /agents/{agent_id}/runs", &["agents:{agent_id}:run"])]);
        let m = t.resolve("POST", "/agents/agent%2D1/runs");
        let Access::Scopes(s) = &*m.access else {
            panic!()
        };
        assert_eq!(s[0].render(&m.params), "agents:agent-1:run");
    }

    #[test]
    fn unreserved_escapes_are_decoded_before_matching() {
        let t = table(&[
            ("POST /agents/{agent_id}/runs", &["agents:{agent_id}:run"]),
            ("GET /config", &["config:read"]),
        ]);
        for path in [
            "/agents/a1/run%73",
            "/agents/a1/ru%6E%73",
            "/%61gents/a1/runs",
        ] {
            let m = t.resolve("POST", path);
            assert_eq!(m.route, Some("POST /agents/{agent_id}/runs"), "{path}");
            assert_eq!(m.params[0].1, "a1");
        }
        assert_eq!(t.resolve("GET", "/confi%67").route, Some("GET /config"));
        // Reserved escapes stay encoded: `%2F` never splits a segment.
        assert_eq!(t.resolve("POST", "/agents/a%2Fb/runs").params[0].1, "a/b");
        assert_eq!(t.resolve("GET", "/config%2Fx").route, None);
        assert_eq!(normalise_unreserved("/a%zz%4"), "/a%zz%4");
        assert_eq!(normalise_unreserved("/%C3%A9"), "/%C3%A9");
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
        ] {
            let r = RouteTable::builder().route(entry, scopes.clone()).build();
            assert!(r.is_err(), "{entry} {scopes:?}");
        }
    }

    #[test]
    fn unmapped_policy() {
        let open = RouteTable::builder().build().unwrap();
        assert_eq!(*open.resolve("GET", "/x").access, Access::Public);
        let deny = RouteTable::builder()
            .unmapped(Unmapped::Deny)
            .build()
            .unwrap();
        assert!(matches!(
            *deny.resolve("GET", "/x").access,
            Access::Scopes(_)
        ));
    }

    fn seg() -> impl Strategy<Value = String> {
        "[a-z0-9._-]{1,6}"
    }

    proptest! {
        #[test]
        fn param_and_star_never_cross_slash(a in seg(), b in seg(), c in seg()) {
            let t = table(&[("GET /p/{x}", &["s"]), ("GET /s/*", &["s"]), ("GET /g/{x}/end", &["s"])]);
            let q1 = format!("/p/{a}");
            prop_assert!(t.resolve("GET", &q1).route.is_some());
            let q2 = format!("/p/{a}/{b}");
            prop_assert!(t.resolve("GET", &q2).route.is_none());
            let q3 = format!("/s/{a}");
            prop_assert!(t.resolve("GET", &q3).route.is_some());
            let q4 = format!("/s/{a}/{b}");
            prop_assert!(t.resolve("GET", &q4).route.is_none());
            let q5 = format!("/g/{a}/end");
            prop_assert!(t.resolve("GET", &q5).route.is_some());
            let q6 = format!("/g/{a}/{b}/end");
            prop_assert!(t.resolve("GET", &q6).route.is_none());
            let path = format!("/g/{c}/end");
            let m = t.resolve("GET", &path);
            let want = percent_encoding::percent_decode_str(&c).decode_utf8_lossy().into_owned();
            prop_assert_eq!(m.params[0].1.as_ref(), want.as_str());
        }

        #[test]
        fn resolve_never_panics(method in "[A-Z]{1,7}", path in "\\PC{0,64}") {
            let t = table(&[("GET /a/{x}", &["s:{x}:r"]), ("* /b/{*rest}", &["s"]), ("POST /c/*x*", &["s"])]);
            let _ = t.resolve(&method, &path);
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
}
