//! AgentOS preset parity with agno (agno-behaviour.md §3, §4, §7, §11).
//!
//! Every row of agno's default route → scope table is turned into concrete requests, and each
//! request is sent with a fixed list of scope sets through `JwtAuth::authenticate`. The allow /
//! deny decision (and, on a denial, the 403 detail; on a collection, the listing ids) must equal
//! the one computed by `AgnoModel`, an independent model of agno written here from the spec:
//! fnmatch `*` (crosses `/`, matches empty), exact lookup then first match in table order, the
//! `^/(agents|teams|workflows)(?:/|$)` resource context, the 2-part → per-resource rewrite,
//! `matches_scope` / `has_required_scopes`, the GET listing fallback and the router-level
//! `require_resource_access` checks. Nothing in the model calls the crate's matcher.
//!
//! Accepted deviation (not generated here): agno's fnmatch `*` in the MIDDLE of a pattern may
//! span several segments (`POST /agents/a/b/runs`); the preset binds one segment there.

use std::collections::{BTreeSet, HashMap};

use jwt_core::{
    AGNO_DEFAULT_EXCLUDED, AGNO_DEFAULT_SCOPE_MAPPINGS, AccessibleIds, AuthError, JwtAuth, Outcome,
    RouteTable, SimpleRequest, StandardClaims, StaticKeys, mint,
};
use serde_json::json;

const SECRET: &[u8] = b"agent-os-preset-parity-secret-0123456789";
const DEFAULT_ADMIN: &str = "agent_os:admin";
/// The sample id substituted for every `*`.
const ID: &str = "a1";

/// agno-behaviour.md §3.1, transcribed from the spec rather than from the crate.
const SPEC_TABLE: [(&str, &str); 103] = [
    ("GET /config", "config:read"),
    ("GET /models", "config:read"),
    ("GET /agents", "agents:read"),
    ("GET /agents/*", "agents:read"),
    ("POST /agents", "agents:write"),
    ("PATCH /agents/*", "agents:write"),
    ("DELETE /agents/*", "agents:delete"),
    ("POST /agents/*/runs", "agents:run"),
    ("POST /agents/*/runs/*/continue", "agents:run"),
    ("POST /agents/*/runs/*/cancel", "agents:run"),
    ("GET /teams", "teams:read"),
    ("GET /teams/*", "teams:read"),
    ("POST /teams", "teams:write"),
    ("PATCH /teams/*", "teams:write"),
    ("DELETE /teams/*", "teams:delete"),
    ("POST /teams/*/runs", "teams:run"),
    ("POST /teams/*/runs/*/continue", "teams:run"),
    ("POST /teams/*/runs/*/cancel", "teams:run"),
    ("GET /workflows", "workflows:read"),
    ("GET /workflows/*", "workflows:read"),
    ("POST /workflows", "workflows:write"),
    ("PATCH /workflows/*", "workflows:write"),
    ("DELETE /workflows/*", "workflows:delete"),
    ("POST /workflows/*/runs", "workflows:run"),
    ("POST /workflows/*/runs/*/continue", "workflows:run"),
    ("POST /workflows/*/runs/*/cancel", "workflows:run"),
    ("GET /sessions", "sessions:read"),
    ("GET /sessions/*", "sessions:read"),
    ("POST /sessions", "sessions:write"),
    ("POST /sessions/*/rename", "sessions:write"),
    ("PATCH /sessions/*", "sessions:write"),
    ("DELETE /sessions", "sessions:delete"),
    ("DELETE /sessions/*", "sessions:delete"),
    ("GET /memories", "memories:read"),
    ("GET /memories/*", "memories:read"),
    ("GET /memory_topics", "memories:read"),
    ("GET /user_memory_stats", "memories:read"),
    ("POST /memories", "memories:write"),
    ("PATCH /memories/*", "memories:write"),
    ("DELETE /memories", "memories:delete"),
    ("DELETE /memories/*", "memories:delete"),
    ("POST /optimize-memories", "memories:write"),
    ("GET /learnings", "learnings:read"),
    ("GET /learnings/*", "learnings:read"),
    ("POST /learnings", "learnings:write"),
    ("PATCH /learnings/*", "learnings:write"),
    ("DELETE /learnings/*", "learnings:delete"),
    ("GET /knowledge/content", "knowledge:read"),
    ("GET /knowledge/content/*", "knowledge:read"),
    ("GET /knowledge/config", "knowledge:read"),
    ("POST /knowledge/content", "knowledge:write"),
    ("PATCH /knowledge/content/*", "knowledge:write"),
    ("POST /knowledge/search", "knowledge:read"),
    ("DELETE /knowledge/content", "knowledge:delete"),
    ("DELETE /knowledge/content/*", "knowledge:delete"),
    ("GET /metrics", "metrics:read"),
    ("POST /metrics/refresh", "metrics:write"),
    ("GET /eval-runs", "evals:read"),
    ("GET /eval-runs/*", "evals:read"),
    ("POST /eval-runs", "evals:write"),
    ("PATCH /eval-runs/*", "evals:write"),
    ("DELETE /eval-runs", "evals:delete"),
    ("GET /traces", "traces:read"),
    ("GET /traces/*", "traces:read"),
    ("GET /trace_session_stats", "traces:read"),
    ("POST /service-accounts", "service_accounts:write"),
    ("GET /service-accounts", "service_accounts:read"),
    ("DELETE /service-accounts/*", "service_accounts:delete"),
    ("GET /schedules", "schedules:read"),
    ("GET /schedules/*", "schedules:read"),
    ("POST /schedules", "schedules:write"),
    ("PATCH /schedules/*", "schedules:write"),
    ("DELETE /schedules/*", "schedules:delete"),
    ("POST /schedules/*/enable", "schedules:write"),
    ("POST /schedules/*/disable", "schedules:write"),
    ("POST /schedules/*/trigger", "schedules:write"),
    ("GET /schedules/*/runs", "schedules:read"),
    ("GET /schedules/*/runs/*", "schedules:read"),
    ("GET /approvals", "approvals:read"),
    ("GET /approvals/count", "approvals:read"),
    ("GET /approvals/*", "approvals:read"),
    ("GET /approvals/*/status", "approvals:read"),
    ("POST /approvals/*/resolve", "approvals:write"),
    ("DELETE /approvals/*", "approvals:delete"),
    ("POST /traces/search", "traces:read"),
    ("POST /databases/all/migrate", "config:write"),
    ("POST /databases/*/migrate", "config:write"),
    ("POST /knowledge/remote-content", "knowledge:write"),
    ("GET /knowledge/*/sources", "knowledge:read"),
    ("GET /knowledge/*/sources/*/files", "knowledge:read"),
    ("GET /registry", "registry:read"),
    ("GET /components", "components:read"),
    ("GET /components/*", "components:read"),
    ("POST /components", "components:write"),
    ("PATCH /components/*", "components:write"),
    ("DELETE /components/*", "components:delete"),
    ("GET /components/*/configs", "components:read"),
    ("GET /components/*/configs/*", "components:read"),
    ("GET /components/*/configs/current", "components:read"),
    ("POST /components/*/configs", "components:write"),
    ("PATCH /components/*/configs/*", "components:write"),
    ("DELETE /components/*/configs/*", "components:delete"),
    (
        "POST /components/*/configs/*/set-current",
        "components:write",
    ),
];

/// agno-behaviour.md §7.
const SPEC_EXCLUDED: [&str; 7] = [
    "/",
    "/health",
    "/info",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/docs/oauth2-redirect",
];

/// The row groups the table-driven tests cover (1-based, inclusive); together rows 1–103.
const ROW_GROUPS: [(usize, usize); 4] = [(1, 26), (27, 55), (56, 90), (91, 103)];

// ---------------------------------------------------------------------------------------------
// The reference: agno's decision, modelled from the spec.
// ---------------------------------------------------------------------------------------------

/// Which ids a caller may see or act on (agno's `get_accessible_resource_ids`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ids {
    /// `{"*"}`.
    All,
    /// Specific ids (possibly none).
    Only(BTreeSet<String>),
}

impl Ids {
    fn contains(&self, id: &str) -> bool {
        match self {
            Ids::All => true,
            Ids::Only(ids) => ids.contains(id),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Ids::Only(ids) if ids.is_empty())
    }

    fn from_crate(ids: AccessibleIds) -> Self {
        match ids {
            AccessibleIds::All => Ids::All,
            AccessibleIds::Only(set) => Ids::Only(set),
        }
    }

    fn only(ids: &[&str]) -> Self {
        Ids::Only(ids.iter().map(|s| (*s).to_owned()).collect())
    }
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Let through; on a `GET /agents|teams|workflows` collection, the ids the listing shows.
    Allowed { listing: Option<(String, Ids)> },
    /// Refused.
    Denied { status: u16, detail: String },
}

impl Verdict {
    fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }
}

/// agno's `parse_scope` result.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AgnoScope {
    Admin,
    Global {
        res: String,
        act: String,
    },
    Wildcard {
        res: String,
        act: String,
    },
    PerResource {
        res: String,
        id: String,
        act: String,
    },
    Unknown,
}

impl AgnoScope {
    fn resource_action(&self) -> Option<(&str, &str)> {
        match self {
            AgnoScope::Global { res, act }
            | AgnoScope::Wildcard { res, act }
            | AgnoScope::PerResource { res, act, .. } => Some((res, act)),
            AgnoScope::Admin | AgnoScope::Unknown => None,
        }
    }
}

/// Python's `fnmatch.fnmatch` on POSIX for the patterns agno uses: `*` is any run of
/// characters (including `/` and the empty run), `?` is one character, all else literal.
fn fnmatch(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently absorbs up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star, absorbed)) = backtrack {
            pi = star + 1;
            ti = absorbed + 1;
            backtrack = Some((star, absorbed + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// agno's `get_resource_context_from_path`: `^/(agents|teams|workflows)(?:/|$)` for the type,
/// and the first non-empty segment after it for the id.
fn resource_context(path: &str) -> (Option<&'static str>, Option<&str>) {
    for family in ["agents", "teams", "workflows"] {
        let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(family)) else {
            continue;
        };
        if rest.is_empty() {
            return (Some(family), None);
        }
        if let Some(after) = rest.strip_prefix('/') {
            let id = after.split('/').next().unwrap_or_default();
            return (Some(family), (!id.is_empty()).then_some(id));
        }
    }
    (None, None)
}

/// agno's router-level `require_resource_access(type, action, param)` (§3.4): the family, the
/// noun of the denial, the bound id and the action, for routes that carry the dependency.
fn router_check<'p>(
    method: &str,
    path: &'p str,
) -> Option<(&'static str, &'static str, &'p str, &'static str)> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    if segs.len() < 2 || segs.iter().any(|s| s.is_empty()) {
        return None;
    }
    let (family, noun) = match segs[0] {
        "agents" => ("agents", "agent"),
        "teams" => ("teams", "team"),
        "workflows" => ("workflows", "workflow"),
        _ => return None,
    };
    let action = match (method, &segs[2..]) {
        ("GET", []) => "read",
        ("GET", ["runs"])
        | ("GET", ["runs", _])
        | ("GET", ["runs", _, "checkpoints"])
        | ("GET", ["runs", _, "checkpoints", _]) => "run",
        ("POST", ["runs"]) | ("POST", ["runs", _, "cancel" | "continue" | "resume"]) => "run",
        ("POST", ["sessions", _, "fork"]) if family != "workflows" => "run",
        _ => return None,
    };
    Some((family, noun, segs[1], action))
}

/// agno's middleware + router decision for a valid token holding `scopes`.
#[derive(Debug, Clone)]
struct AgnoModel {
    /// (method, fnmatch pattern, required scopes), in dict order.
    mappings: Vec<(String, String, Vec<String>)>,
    admin: String,
    excluded: Vec<String>,
}

impl AgnoModel {
    fn agent_os() -> Self {
        let mappings = SPEC_TABLE
            .iter()
            .map(|(entry, scope)| {
                let (method, pattern) = entry.split_once(' ').expect("METHOD /path");
                (
                    method.to_owned(),
                    pattern.to_owned(),
                    vec![(*scope).to_owned()],
                )
            })
            .collect();
        Self {
            mappings,
            admin: DEFAULT_ADMIN.to_owned(),
            excluded: SPEC_EXCLUDED.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// `admin_scope=...`: a custom admin scope replaces the default.
    fn with_admin(mut self, admin: &str) -> Self {
        self.admin = admin.to_owned();
        self
    }

    /// `scope_mappings` merged with `dict.update`: an existing key keeps its position, a new one
    /// is appended.
    fn with_mapping(mut self, entry: &str, scopes: &[&str]) -> Self {
        let (method, pattern) = entry.split_once(' ').expect("METHOD /path");
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        match self
            .mappings
            .iter_mut()
            .find(|(m, p, _)| m == method && p == pattern)
        {
            Some(slot) => slot.2 = scopes,
            None => self
                .mappings
                .push((method.to_owned(), pattern.to_owned(), scopes)),
        }
        self
    }

    /// `parse_scope` with the `system` → `config` alias.
    fn parse(&self, scope: &str) -> AgnoScope {
        if scope == self.admin {
            return AgnoScope::Admin;
        }
        let alias = |r: &str| if r == "system" { "config" } else { r }.to_owned();
        let parts: Vec<&str> = scope.split(':').collect();
        match parts.as_slice() {
            [res, act] => AgnoScope::Global {
                res: alias(res),
                act: (*act).to_owned(),
            },
            [res, "*", act] => AgnoScope::Wildcard {
                res: alias(res),
                act: (*act).to_owned(),
            },
            [res, id, act] => AgnoScope::PerResource {
                res: alias(res),
                id: (*id).to_owned(),
                act: (*act).to_owned(),
            },
            _ => AgnoScope::Unknown,
        }
    }

    /// Default excluded routes: `fnmatch(path)` or `fnmatch(path.rstrip("/"))`.
    fn is_excluded(&self, path: &str) -> bool {
        self.excluded
            .iter()
            .any(|p| fnmatch(p, path) || fnmatch(p, path.trim_end_matches('/')))
    }

    /// `get_required_scopes_for_route`: exact key, else first fnmatch in order, else `[]`.
    fn required_scopes(&self, method: &str, path: &str) -> Vec<String> {
        let exact = self
            .mappings
            .iter()
            .find(|(m, p, _)| m == method && p == path);
        let first = || {
            self.mappings
                .iter()
                .find(|(m, p, _)| m == method && fnmatch(p, path))
        };
        exact
            .or_else(first)
            .map(|(_, _, scopes)| scopes.clone())
            .unwrap_or_default()
    }

    /// `matches_scope(user, required, resource_id)`.
    fn matches_scope(&self, user: &AgnoScope, required: &AgnoScope, rid: Option<&str>) -> bool {
        if *user == AgnoScope::Admin {
            return true;
        }
        let (Some((ures, uact)), Some((rres, ract))) =
            (user.resource_action(), required.resource_action())
        else {
            return false;
        };
        if ures != rres || uact != ract {
            return false;
        }
        match required {
            AgnoScope::PerResource { .. } | AgnoScope::Wildcard { .. } => match user {
                AgnoScope::Global { .. } | AgnoScope::Wildcard { .. } => true,
                AgnoScope::PerResource { id, .. } => Some(id.as_str()) == rid,
                _ => false,
            },
            _ => matches!(user, AgnoScope::Global { .. } | AgnoScope::Wildcard { .. }),
        }
    }

    /// The required scopes after agno's rewrite: with both type and id known, every 2-part
    /// `X:action` becomes `<type>:<id>:action` (its own resource `X` is discarded).
    fn bind(&self, required: &[String], rtype: Option<&str>, rid: Option<&str>) -> Vec<String> {
        required
            .iter()
            .map(|r| match (rtype, rid, r.split_once(':')) {
                (Some(t), Some(id), Some((_, action))) if !action.contains(':') => {
                    format!("{t}:{id}:{action}")
                }
                _ => r.clone(),
            })
            .collect()
    }

    /// `has_required_scopes` on already-bound requirements.
    fn has_required_scopes(&self, user: &[String], required: &[String], rid: Option<&str>) -> bool {
        if required.is_empty() {
            return true;
        }
        let user: Vec<AgnoScope> = user.iter().map(|s| self.parse(s)).collect();
        if user.contains(&AgnoScope::Admin) {
            return true;
        }
        required.iter().all(|r| {
            let r = self.parse(r);
            user.iter().any(|u| self.matches_scope(u, &r, rid))
        })
    }

    /// `get_accessible_resource_ids(user, type, action)`.
    fn accessible_ids(&self, user: &[String], rtype: &str, actions: &[&str]) -> Ids {
        let mut ids = BTreeSet::new();
        for scope in user {
            match self.parse(scope) {
                AgnoScope::Admin => return Ids::All,
                AgnoScope::Global { res, act } | AgnoScope::Wildcard { res, act }
                    if res == rtype && actions.contains(&act.as_str()) =>
                {
                    return Ids::All;
                }
                AgnoScope::PerResource { res, id, act }
                    if res == rtype && actions.contains(&act.as_str()) =>
                {
                    ids.insert(id);
                }
                _ => {}
            }
        }
        Ids::Only(ids)
    }

    /// The whole decision for a request carrying a valid token with `scopes`.
    fn decide(&self, method: &str, raw_path: &str, scopes: &[String]) -> Verdict {
        // AgentOS's TrailingSlashMiddleware runs before the auth middleware.
        let path = match raw_path.strip_suffix('/') {
            Some(p) if !p.is_empty() => p,
            _ => raw_path,
        };
        if self.is_excluded(path) {
            return Verdict::Allowed { listing: None };
        }
        let required = self.required_scopes(method, path);
        let (rtype, rid) = resource_context(path);
        let bound = self.bind(&required, rtype, rid);
        let insufficient = Verdict::Denied {
            status: 403,
            detail: format!(
                "Insufficient permissions. Required scope(s): {}",
                bound.join(", ")
            ),
        };
        let mut fallback = None;
        if !self.has_required_scopes(scopes, &bound, rid) {
            // The listing fallback (`check_route_scopes`).
            let first = required.first().map(|r| self.parse(r));
            let family_action = first
                .as_ref()
                .and_then(AgnoScope::resource_action)
                .filter(|(res, _)| Some(*res) == rtype);
            match (method, rtype, rid, family_action) {
                ("GET", Some(t), None, Some((_, action))) => {
                    let ids = self.accessible_ids(scopes, t, &[action]);
                    if ids.is_empty() {
                        return insufficient;
                    }
                    fallback = Some(ids);
                }
                _ => return insufficient,
            }
        }
        if let Some((family, noun, id, action)) = router_check(method, path)
            && !self.accessible_ids(scopes, family, &[action]).contains(id)
        {
            return Verdict::Denied {
                status: 403,
                detail: format!("Access denied to {action} this {noun}"),
            };
        }
        // §11: the handler filters with the fallback's ids, else with read-or-run ids.
        let listing = match (method, rtype, rid) {
            ("GET", Some(t), None) => Some((
                t.to_owned(),
                fallback.unwrap_or_else(|| self.accessible_ids(scopes, t, &["read", "run"])),
            )),
            _ => None,
        };
        Verdict::Allowed { listing }
    }
}

// ---------------------------------------------------------------------------------------------
// The crate under test.
// ---------------------------------------------------------------------------------------------

fn keys() -> StaticKeys {
    StaticKeys::hs256(SECRET).expect("hs256 key")
}

/// The preset spelled out: table + AgentOS claims.
fn explicit_auth() -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(keys())
        .scopes(RouteTable::agent_os().build().expect("preset builds"))
        .claims(StandardClaims::agent_os())
        .build()
        .expect("auth builds")
}

/// The preset through the builder shortcut.
fn shortcut_auth() -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(keys())
        .agent_os()
        .build()
        .expect("auth builds")
}

fn auth_with_table(table: RouteTable) -> JwtAuth {
    JwtAuth::builder()
        .dangerous_any_issuer()
        .verifier(keys())
        .scopes(table)
        .claims(StandardClaims::agent_os())
        .build()
        .expect("auth builds")
}

fn token(scopes: &[String]) -> String {
    mint::hs256(
        SECRET,
        &json!({"sub": "user", "exp": 4_000_000_000u64, "scopes": scopes}),
    )
    .expect("mint")
}

fn owned(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|s| (*s).to_owned()).collect()
}

/// `GET` (or `HEAD`) on `/agents`, `/teams` or `/workflows` (one trailing slash ignored).
fn collection_family(method: &str, path: &str) -> Option<&'static str> {
    if method != "GET" && method != "HEAD" {
        return None;
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    ["agents", "teams", "workflows"]
        .into_iter()
        .find(|f| path.strip_prefix('/') == Some(*f))
}

async fn send(
    auth: &JwtAuth,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Result<Outcome, AuthError> {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut req = SimpleRequest::new(method, path);
    if let Some(b) = &bearer {
        req = req.header("Authorization", b);
    }
    auth.authenticate(&req).await
}

/// The crate's decision, in the model's terms.
async fn crate_verdict(auth: &JwtAuth, method: &str, path: &str, token: Option<&str>) -> Verdict {
    match send(auth, method, path, token).await {
        Ok(outcome) => Verdict::Allowed {
            listing: collection_family(method, path).and_then(|family| {
                outcome
                    .context()
                    .map(|ctx| (family.to_owned(), Ids::from_crate(ctx.listing_ids(family))))
            }),
        },
        Err(e) => Verdict::Denied {
            status: e.status(),
            detail: e.detail().into_owned(),
        },
    }
}

async fn call(auth: &JwtAuth, method: &str, path: &str, scopes: &[&str]) -> Verdict {
    crate_verdict(auth, method, path, Some(&token(&owned(scopes)))).await
}

// ---------------------------------------------------------------------------------------------
// The comparison harness.
// ---------------------------------------------------------------------------------------------

/// Runs requests through one or more configurations and the model, recording every mismatch.
struct Parity {
    auths: Vec<(&'static str, JwtAuth)>,
    model: AgnoModel,
    tokens: HashMap<Vec<String>, String>,
    checked: usize,
    mismatches: Vec<String>,
}

impl Parity {
    fn new(model: AgnoModel, auths: Vec<(&'static str, JwtAuth)>) -> Self {
        Self {
            auths,
            model,
            tokens: HashMap::new(),
            checked: 0,
            mismatches: Vec::new(),
        }
    }

    /// The default preset, both spellings, against agno's defaults.
    fn preset() -> Self {
        Self::new(
            AgnoModel::agent_os(),
            vec![
                ("scopes(agent_os)+claims", explicit_auth()),
                ("builder.agent_os()", shortcut_auth()),
            ],
        )
    }

    async fn check(&mut self, method: &str, path: &str, scopes: &[String]) {
        let agno = self.model.decide(method, path, scopes);
        let token = self
            .tokens
            .entry(scopes.to_vec())
            .or_insert_with(|| token(scopes))
            .clone();
        for (label, auth) in &self.auths {
            let ours = crate_verdict(auth, method, path, Some(&token)).await;
            self.checked += 1;
            if ours != agno {
                self.mismatches.push(format!(
                    "[{label}] {method} {path} scopes={scopes:?}\n    ours: {ours:?}\n    agno: {agno:?}"
                ));
            }
        }
    }

    /// Asserts no mismatch (printing each) and that at least `min` comparisons ran.
    fn finish(self, what: &str, min: usize) {
        for m in &self.mismatches {
            eprintln!("MISMATCH {m}");
        }
        assert!(
            self.mismatches.is_empty(),
            "{what}: {} of {} comparisons disagree with agno:\n{}",
            self.mismatches.len(),
            self.checked,
            self.mismatches.join("\n")
        );
        assert!(
            self.checked >= min,
            "{what}: only {} comparisons ran (expected at least {min})",
            self.checked
        );
    }
}

/// Concrete paths for an agno pattern: every `*` becomes the one-segment id `a1`; a trailing
/// `*` also gets a two-segment tail `a1/x` (agno's `*` crosses `/`). Middle `*`s stay one
/// segment (see the accepted deviation in the module docs).
fn row_paths(pattern: &str) -> Vec<String> {
    let mut paths = vec![pattern.replace('*', ID)];
    if let Some(head) = pattern.strip_suffix('*') {
        paths.push(format!("{}{ID}/x", head.replace('*', ID)));
    }
    paths
}

/// The scope sets every row's paths are sent with.
fn row_scope_sets(required: &str) -> Vec<Vec<String>> {
    let (res, act) = required.split_once(':').expect("resource:action");
    let other_act = if act == "read" { "write" } else { "read" };
    let other_res = if res == "agents" { "teams" } else { "agents" };
    vec![
        vec![],
        vec![DEFAULT_ADMIN.to_owned()],
        vec![required.to_owned()],
        vec![format!("{res}:{other_act}")],
        vec![format!("{res}:{ID}:{act}")],
        vec![format!("{res}:other:{act}")],
        vec![format!("{res}:*:{act}")],
        vec!["system:read".to_owned()],
        vec!["config:read".to_owned()],
        vec![format!("{other_res}:{act}")],
        vec![format!("{other_res}:{ID}:{act}")],
        vec![format!("{res}:{ID}:{other_act}")],
        vec![format!("{res}:run")],
        vec![format!("{res}:{ID}:{act}"), format!("{res}:{ID}:run")],
        vec![
            format!("{res}:other:{act}"),
            format!("{res}:{ID}:{other_act}"),
        ],
        vec!["root".to_owned()],
        vec![format!("{res}:{ID}:{act}:extra")],
    ]
}

/// Rows `first..=last` (1-based) × their paths × [`row_scope_sets`].
async fn check_rows(first: usize, last: usize) {
    let mut parity = Parity::preset();
    let mut per_row = 0;
    for (entry, required) in &AGNO_DEFAULT_SCOPE_MAPPINGS[first - 1..last] {
        let (method, pattern) = entry.split_once(' ').expect("METHOD /path");
        for path in row_paths(pattern) {
            for scopes in row_scope_sets(required) {
                parity.check(method, &path, &scopes).await;
                per_row += 1;
            }
        }
    }
    let rows = last - first + 1;
    parity.finish(
        &format!("rows {first}-{last}"),
        rows * row_scope_sets("x:read").len() * 2,
    );
    assert!(per_row >= rows);
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn crate_constants_equal_the_spec() {
    assert_eq!(AGNO_DEFAULT_SCOPE_MAPPINGS.len(), 103);
    for (i, (ours, spec)) in AGNO_DEFAULT_SCOPE_MAPPINGS
        .iter()
        .zip(SPEC_TABLE.iter())
        .enumerate()
    {
        assert_eq!(ours, spec, "row {}", i + 1);
    }
    assert_eq!(AGNO_DEFAULT_EXCLUDED, SPEC_EXCLUDED);
    // The groups used below cover every row exactly once.
    let covered: Vec<usize> = ROW_GROUPS.iter().flat_map(|&(a, b)| a..=b).collect();
    assert_eq!(covered, (1..=103).collect::<Vec<_>>());
}

#[test]
fn reference_model_follows_the_spec() {
    // §3.2 fnmatch: `*` crosses `/` and matches the empty string; anchored at both ends.
    assert!(fnmatch("/agents/*", "/agents/a1"));
    assert!(fnmatch("/agents/*", "/agents/"));
    assert!(fnmatch("/agents/*", "/agents/a/runs/r/checkpoints"));
    assert!(fnmatch("/agents/*/runs", "/agents/a/b/runs"));
    assert!(!fnmatch("/agents/*", "/agents"));
    assert!(!fnmatch("/agents/*/runs", "/agents/a1/runs/r1/cancel"));
    assert!(!fnmatch("/agents", "/agents/a1"));
    assert!(fnmatch("/a?c", "/abc"));
    assert!(fnmatch("*", ""));
    // §3.3 resource context.
    assert_eq!(resource_context("/agents"), (Some("agents"), None));
    assert_eq!(resource_context("/agents/"), (Some("agents"), None));
    assert_eq!(
        resource_context("/teams/t1/runs"),
        (Some("teams"), Some("t1"))
    );
    assert_eq!(resource_context("/agentsfoo"), (None, None));
    assert_eq!(resource_context("/knowledge/agents-x"), (None, None));
    // §3.2 first match in order; §4 rewrite.
    let m = AgnoModel::agent_os();
    assert_eq!(m.required_scopes("GET", "/agents/a1/runs"), ["agents:read"]);
    assert_eq!(
        m.required_scopes("POST", "/agents/a1/runs/r1/resume"),
        [] as [&str; 0]
    );
    assert_eq!(
        m.bind(
            &owned(&["agents:run", "app:execute"]),
            Some("agents"),
            Some("x")
        ),
        ["agents:x:run", "agents:x:execute"]
    );
    // §4 answers.
    let has = |user: &[&str], req: &str, rid: Option<&str>| {
        m.has_required_scopes(&owned(user), &owned(&[req]), rid)
    };
    assert!(has(&["agents:read"], "agents:any:read", Some("any")));
    assert!(has(&["agents:*:run"], "agents:run", None));
    assert!(has(&["agents:*:read"], "agents:read", None));
    assert!(!has(&["agents:x:read"], "agents:read", None));
    assert!(!has(&["agents:read"], "agents:run", None));
    assert!(has(&["system:read"], "config:read", None));
    assert!(!has(&["a:b:c:d"], "a:b:c:d", None));
    // §11.
    let ids = |user: &[&str]| m.accessible_ids(&owned(user), "agents", &["read", "run"]);
    assert_eq!(
        ids(&["agents:a:read", "agents:b:read"]),
        Ids::only(&["a", "b"])
    );
    assert_eq!(ids(&["agents:*:read"]), Ids::All);
    assert!(ids(&["teams:read"]).is_empty());
    // §7.
    assert!(m.is_excluded("/health/"));
    assert!(!m.is_excluded("/health/x"));
}

#[tokio::test]
async fn rows_01_to_26_config_agents_teams_workflows() {
    let (a, b) = ROW_GROUPS[0];
    check_rows(a, b).await;
}

#[tokio::test]
async fn rows_27_to_55_sessions_memories_learnings_knowledge() {
    let (a, b) = ROW_GROUPS[1];
    check_rows(a, b).await;
}

#[tokio::test]
async fn rows_56_to_90_metrics_evals_traces_accounts_schedules_approvals() {
    let (a, b) = ROW_GROUPS[2];
    check_rows(a, b).await;
}

#[tokio::test]
async fn rows_91_to_103_registry_components() {
    let (a, b) = ROW_GROUPS[3];
    check_rows(a, b).await;
}

/// §3.4: run history, checkpoints, resume and fork, per family, against the model.
#[tokio::test]
async fn router_level_checks_match_agno() {
    let mut parity = Parity::preset();
    let mut requests = 0;
    for family in ["agents", "teams", "workflows"] {
        let mut paths = vec![
            ("GET", format!("/{family}/{ID}")),
            ("GET", format!("/{family}/{ID}/runs")),
            ("GET", format!("/{family}/{ID}/runs/r1")),
            ("GET", format!("/{family}/{ID}/runs/r1/checkpoints")),
            ("GET", format!("/{family}/{ID}/runs/r1/checkpoints/0")),
            ("POST", format!("/{family}/{ID}/runs")),
            ("POST", format!("/{family}/{ID}/runs/r1/cancel")),
            ("POST", format!("/{family}/{ID}/runs/r1/continue")),
            ("POST", format!("/{family}/{ID}/runs/r1/resume")),
        ];
        if family != "workflows" {
            paths.push(("POST", format!("/{family}/{ID}/sessions/s1/fork")));
        }
        let other = if family == "agents" {
            "teams"
        } else {
            "agents"
        };
        let sets: Vec<Vec<String>> = [
            vec![],
            vec![DEFAULT_ADMIN.to_owned()],
            vec![format!("{family}:read")],
            vec![format!("{family}:run")],
            vec![format!("{family}:read"), format!("{family}:run")],
            vec![format!("{family}:{ID}:read")],
            vec![format!("{family}:{ID}:run")],
            vec![format!("{family}:{ID}:read"), format!("{family}:{ID}:run")],
            vec![format!("{family}:*:read"), format!("{family}:*:run")],
            vec![format!("{family}:{ID}:read"), format!("{family}:other:run")],
            vec![format!("{family}:read"), format!("{family}:{ID}:run")],
            vec![format!("{family}:*:run"), format!("{family}:{ID}:read")],
            vec![format!("{other}:read"), format!("{other}:run")],
        ]
        .into();
        for (method, path) in &paths {
            for scopes in &sets {
                parity.check(method, path, scopes).await;
                requests += 1;
            }
        }
    }
    parity.finish("router-level checks", requests * 2);
}

/// Unmapped routes (any valid token), trailing slashes, look-alike prefixes, unknown methods.
#[tokio::test]
async fn unmapped_and_edge_paths_match_agno() {
    // Not AgentOS routes: agno lets any valid token through; the preset fails closed.
    let outside = [
        ("GET", "/unknown"),
        ("GET", "/agentsfoo"),
        ("GET", "/knowledge/agents-x"),
        ("GET", "/knowledge/a1/x"),
        ("PUT", "/agents/a1"),
        ("POST", "/agents/a1"),
        ("DELETE", "/agents"),
        ("POST", "/agents/a1/runs/r1/unknown"),
        ("POST", "/sessions/a1"),
        ("POST", "/mcp"),
    ];
    // AgentOS routes (including those agno leaves unmapped) and edge spellings: as agno.
    let paths = [
        ("GET", "/metrics/refresh/status"),
        ("POST", "/agents/a1/runs/r1/resume"),
        ("POST", "/teams/a1/sessions/s1/fork"),
        ("GET", "/agents/"),
        ("GET", "/teams/"),
        ("GET", "/agents/a1/"),
        ("POST", "/agents/"),
        ("POST", "/agents/a1/runs/"),
        ("GET", "/sessions/"),
        ("DELETE", "/memories/"),
        ("GET", "/agents/a1/runs/r1/checkpoints/0/extra"),
        ("GET", "/workflows/a1/runs/r1/x/y"),
        ("GET", "/teams"),
        ("GET", "/workflows"),
    ];
    let sets: Vec<Vec<String>> = [
        &[][..],
        &[DEFAULT_ADMIN],
        &["agents:read"],
        &["agents:a1:read"],
        &["agents:a1:read", "agents:a1:run"],
        &["agents:a1:run"],
        &["agents:write"],
        &["agents:*:write"],
        &["teams:a1:read", "workflows:b2:read"],
        &["teams:read"],
        &["sessions:read", "memories:delete"],
        &["workflows:*:read"],
    ]
    .iter()
    .map(|s| owned(s))
    .collect();
    let mut parity = Parity::preset();
    for (method, path) in paths {
        for scopes in &sets {
            parity.check(method, path, scopes).await;
        }
    }
    parity.finish("unmapped and edge paths", paths.len() * sets.len() * 2);
    let denied = Verdict::Denied {
        status: 403,
        detail: "Access denied: route not permitted".into(),
    };
    for (label, auth) in [("explicit", explicit_auth()), ("shortcut", shortcut_auth())] {
        for (method, path) in outside {
            for scopes in &sets {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let ours = call(&auth, method, path, &scopes).await;
                assert_eq!(ours, denied, "[{label}] {method} {path} {scopes:?}");
            }
            let anonymous = send(&auth, method, path, None).await.expect_err("401");
            assert_eq!(anonymous.status(), 401, "[{label}] {method} {path}");
        }
    }
}

/// A custom admin scope replaces the default one (agno's `admin_scope`), on every row.
#[tokio::test]
async fn custom_admin_scope_replaces_default() {
    let table = RouteTable::agent_os()
        .admin_scope("root")
        .build()
        .expect("builds");
    let mut parity = Parity::new(
        AgnoModel::agent_os().with_admin("root"),
        vec![("admin_scope(root)", auth_with_table(table))],
    );
    let mut requests = 0;
    for (entry, required) in AGNO_DEFAULT_SCOPE_MAPPINGS {
        let (method, pattern) = entry.split_once(' ').expect("METHOD /path");
        for path in row_paths(pattern) {
            for scopes in [
                owned(&["root"]),
                owned(&[DEFAULT_ADMIN]),
                owned(&[required]),
                owned(&[DEFAULT_ADMIN, "root"]),
            ] {
                parity.check(method, &path, &scopes).await;
                requests += 1;
            }
        }
    }
    for scopes in [owned(&["root"]), owned(&[DEFAULT_ADMIN])] {
        parity.check("GET", "/agents/a1/runs", &scopes).await;
        parity
            .check("POST", "/teams/a1/sessions/s/fork", &scopes)
            .await;
        parity.check("GET", "/workflows", &scopes).await;
        requests += 3;
    }
    parity.finish("custom admin scope", requests);

    // The named answers.
    let auth = auth_with_table(
        RouteTable::agent_os()
            .admin_scope("root")
            .build()
            .expect("builds"),
    );
    assert!(
        call(&auth, "DELETE", "/agents/a1", &["root"])
            .await
            .is_allowed()
    );
    assert!(
        call(&auth, "GET", "/agents/a1/runs", &["root"])
            .await
            .is_allowed()
    );
    let denied = call(&auth, "DELETE", "/agents/a1", &[DEFAULT_ADMIN]).await;
    assert_eq!(
        denied,
        Verdict::Denied {
            status: 403,
            detail: "Insufficient permissions. Required scope(s): agents:a1:delete".into()
        }
    );
}

#[tokio::test]
async fn no_scopes_is_refused_and_admin_is_allowed_on_every_row() {
    let model = AgnoModel::agent_os();
    let auth = explicit_auth();
    let mut seen = 0;
    for (entry, _) in AGNO_DEFAULT_SCOPE_MAPPINGS {
        let (method, pattern) = entry.split_once(' ').expect("METHOD /path");
        for path in row_paths(pattern) {
            let none = call(&auth, method, &path, &[]).await;
            assert!(
                matches!(none, Verdict::Denied { status: 403, .. }),
                "{method} {path} with no scopes: {none:?}"
            );
            assert_eq!(none, model.decide(method, &path, &[]), "{method} {path}");
            let admin = call(&auth, method, &path, &[DEFAULT_ADMIN]).await;
            assert!(admin.is_allowed(), "{method} {path} as admin: {admin:?}");
            seen += 1;
        }
    }
    assert!(seen > 103);
    // Admin also passes the router-level checks and sees every agent.
    for (method, path) in [
        ("GET", "/agents/a1/runs/r1/checkpoints/3"),
        ("POST", "/workflows/w/runs/r/resume"),
        ("POST", "/teams/t/sessions/s/fork"),
    ] {
        assert!(
            call(&auth, method, path, &[DEFAULT_ADMIN])
                .await
                .is_allowed()
        );
    }
    assert_eq!(
        call(&auth, "GET", "/agents", &[DEFAULT_ADMIN]).await,
        Verdict::Allowed {
            listing: Some(("agents".into(), Ids::All))
        }
    );
}

#[tokio::test]
async fn agents_read_grants_every_agent_and_the_full_listing() {
    let auth = explicit_auth();
    for path in ["/agents/any", "/agents/anything-else", "/agents/any/x"] {
        assert!(
            call(&auth, "GET", path, &["agents:read"])
                .await
                .is_allowed(),
            "{path}"
        );
    }
    assert_eq!(
        call(&auth, "GET", "/agents", &["agents:read"]).await,
        Verdict::Allowed {
            listing: Some(("agents".into(), Ids::All))
        }
    );
    assert_eq!(
        call(&auth, "GET", "/agents", &["agents:*:read"]).await,
        Verdict::Allowed {
            listing: Some(("agents".into(), Ids::All))
        }
    );
    // read does not grant run, write or another family.
    for (method, path) in [
        ("POST", "/agents/any/runs"),
        ("PATCH", "/agents/any"),
        ("GET", "/teams/any"),
    ] {
        assert!(
            !call(&auth, method, path, &["agents:read"])
                .await
                .is_allowed()
        );
    }
}

#[tokio::test]
async fn per_resource_read_gets_a_filtered_listing() {
    let auth = explicit_auth();
    let req = SimpleRequest::new("GET", "/agents");
    let bearer = format!("Bearer {}", token(&owned(&["agents:x:read"])));
    let ctx = auth
        .authenticate(&req.header("Authorization", &bearer))
        .await
        .expect("listing fallback lets it through")
        .into_context()
        .expect("authenticated");
    let visible = ctx.listing_ids("agents");
    assert_eq!(
        visible,
        AccessibleIds::Only(["x".to_owned()].into_iter().collect())
    );
    assert!(visible.contains("x") && !visible.contains("y"));
    assert_eq!(
        visible.filter(vec!["w", "x", "y"], |s| s),
        vec!["x"],
        "only x is listed"
    );
    assert_eq!(
        call(&auth, "GET", "/agents", &["agents:a:read", "agents:b:read"]).await,
        Verdict::Allowed {
            listing: Some(("agents".into(), Ids::only(&["a", "b"])))
        }
    );
    // The fallback filters by `read`: a run scope on another agent is not listed.
    assert_eq!(
        call(&auth, "GET", "/agents", &["agents:a:read", "agents:b:run"]).await,
        Verdict::Allowed {
            listing: Some(("agents".into(), Ids::only(&["a"])))
        }
    );
    assert!(
        call(&auth, "GET", "/agents/x", &["agents:x:read"])
            .await
            .is_allowed()
    );
    assert!(
        !call(&auth, "GET", "/agents/y", &["agents:x:read"])
            .await
            .is_allowed()
    );
    // Non-GET collections never get the fallback.
    assert!(
        !call(&auth, "POST", "/agents", &["agents:x:write"])
            .await
            .is_allowed()
    );
}

#[tokio::test]
async fn run_only_or_other_family_cannot_list_agents() {
    let auth = explicit_auth();
    let refused = Verdict::Denied {
        status: 403,
        detail: "Insufficient permissions. Required scope(s): agents:read".into(),
    };
    for scopes in [
        &["agents:run"][..],
        &["agents:a:run"],
        &["teams:read"],
        &["teams:a:read"],
        &[],
    ] {
        assert_eq!(
            call(&auth, "GET", "/agents", scopes).await,
            refused,
            "{scopes:?}"
        );
        assert_eq!(
            AgnoModel::agent_os().decide("GET", "/agents", &owned(scopes)),
            refused
        );
    }
}

#[tokio::test]
async fn wildcard_satisfies_a_global_requirement() {
    // No default row requires a global `agents:run`, so add an id-less custom route.
    let table = RouteTable::agent_os()
        .route("POST /batch", ["agents:run"])
        .build()
        .expect("builds");
    let model = AgnoModel::agent_os().with_mapping("POST /batch", &["agents:run"]);
    let mut parity = Parity::new(model, vec![("custom POST /batch", auth_with_table(table))]);
    for scopes in [
        &["agents:*:run"][..],
        &["agents:run"],
        &["agents:a1:run"],
        &["agents:*:read"],
        &["teams:*:run"],
    ] {
        parity.check("POST", "/batch", &owned(scopes)).await;
    }
    parity.finish("custom global route", 5);

    let auth = auth_with_table(
        RouteTable::agent_os()
            .route("POST /batch", ["agents:run"])
            .build()
            .expect("builds"),
    );
    assert!(
        call(&auth, "POST", "/batch", &["agents:*:run"])
            .await
            .is_allowed()
    );
    assert!(
        !call(&auth, "POST", "/batch", &["agents:a1:run"])
            .await
            .is_allowed()
    );
    // And on the defaults: `agents:*:write` satisfies the id-less `POST /agents`.
    let preset = explicit_auth();
    assert!(
        call(&preset, "POST", "/agents", &["agents:*:write"])
            .await
            .is_allowed()
    );
    assert!(
        !call(&preset, "POST", "/agents", &["agents:a1:write"])
            .await
            .is_allowed()
    );
}

#[tokio::test]
async fn reading_runs_needs_run_on_that_resource() {
    let auth = explicit_auth();
    for (family, noun) in [
        ("agents", "agent"),
        ("teams", "team"),
        ("workflows", "workflow"),
    ] {
        let path = format!("/{family}/a1/runs");
        let read = format!("{family}:a1:read");
        let run = format!("{family}:a1:run");
        let bearer = format!("Bearer {}", token(std::slice::from_ref(&read)));
        let req = SimpleRequest::new("GET", &path).header("Authorization", &bearer);
        let err = auth.authenticate(&req).await.expect_err("read alone");
        assert_eq!(err.status(), 403);
        assert_eq!(err.detail(), format!("Access denied to run this {noun}"));
        assert_eq!(
            err.body(),
            format!(r#"{{"detail":"Access denied to run this {noun}"}}"#)
        );
        assert!(
            call(&auth, "GET", &path, &[&read, &run]).await.is_allowed(),
            "{path}"
        );
        // run alone fails the middleware's read first.
        assert_eq!(
            call(&auth, "GET", &path, &[&run]).await,
            Verdict::Denied {
                status: 403,
                detail: format!("Insufficient permissions. Required scope(s): {read}")
            }
        );
        // resume (unmapped in the middleware) needs only run.
        let resume = format!("/{family}/a1/runs/r1/resume");
        assert!(call(&auth, "POST", &resume, &[&run]).await.is_allowed());
        assert_eq!(
            call(&auth, "POST", &resume, &[&read]).await,
            Verdict::Denied {
                status: 403,
                detail: format!("Access denied to run this {noun}")
            }
        );
    }
    assert_eq!(
        call(
            &auth,
            "POST",
            "/agents/a1/sessions/s1/fork",
            &["agents:other:run"]
        )
        .await,
        Verdict::Denied {
            status: 403,
            detail: "Access denied to run this agent".into()
        }
    );
}

#[tokio::test]
async fn insufficient_scope_body_names_the_bound_scope() {
    let auth = shortcut_auth();
    let bearer = format!("Bearer {}", token(&owned(&["agents:read"])));
    let req = SimpleRequest::new("POST", "/agents/a1/runs").header("Authorization", &bearer);
    let err = auth.authenticate(&req).await.expect_err("read is not run");
    assert_eq!(err.status(), 403);
    assert_eq!(
        err.detail(),
        "Insufficient permissions. Required scope(s): agents:a1:run"
    );
    assert_eq!(
        err.body(),
        r#"{"detail":"Insufficient permissions. Required scope(s): agents:a1:run"}"#
    );
    // Outside the three families the scope is not bound to an id.
    assert_eq!(
        call(&auth, "DELETE", "/sessions/s1", &["sessions:s1:delete"]).await,
        Verdict::Denied {
            status: 403,
            detail: "Insufficient permissions. Required scope(s): sessions:delete".into()
        }
    );
}

#[tokio::test]
async fn system_read_is_config_read() {
    let auth = explicit_auth();
    for path in ["/config", "/models"] {
        assert!(
            call(&auth, "GET", path, &["system:read"])
                .await
                .is_allowed()
        );
        assert!(
            call(&auth, "GET", path, &["config:read"])
                .await
                .is_allowed()
        );
        assert!(
            !call(&auth, "GET", path, &["system:write"])
                .await
                .is_allowed()
        );
    }
    assert!(
        call(&auth, "POST", "/databases/all/migrate", &["system:write"])
            .await
            .is_allowed()
    );
}

#[tokio::test]
async fn excluded_routes_need_no_token() {
    let model = AgnoModel::agent_os();
    for auth in [explicit_auth(), shortcut_auth()] {
        for path in AGNO_DEFAULT_EXCLUDED {
            assert!(model.is_excluded(path));
            for method in ["GET", "POST", "DELETE"] {
                let outcome = send(&auth, method, path, None).await;
                assert!(
                    matches!(outcome, Ok(Outcome::Anonymous)),
                    "{method} {path}: {outcome:?}"
                );
                // A presented (even broken) token is ignored.
                let outcome = send(&auth, method, path, Some("not-a-jwt")).await;
                assert!(matches!(outcome, Ok(Outcome::Anonymous)), "{method} {path}");
            }
        }
        assert!(matches!(
            send(&auth, "GET", "/health/", None).await,
            Ok(Outcome::Anonymous)
        ));
        // Not excluded: a token is required, mapped or not.
        for (method, path) in [
            ("GET", "/health/x"),
            ("GET", "/agents"),
            ("GET", "/unknown"),
        ] {
            assert!(!model.is_excluded(path));
            let err = send(&auth, method, path, None)
                .await
                .expect_err("token required");
            assert_eq!(err.status(), 401, "{method} {path}");
        }
        // Unlisted: denied for a valid token (fail closed).
        assert!(!call(&auth, "GET", "/unknown", &[]).await.is_allowed());
        assert!(
            !call(&auth, "GET", "/unknown", &[DEFAULT_ADMIN])
                .await
                .is_allowed()
        );
    }
}

#[tokio::test]
async fn head_behaves_like_get() {
    let auth = explicit_auth();
    let model = AgnoModel::agent_os();
    let sets: Vec<Vec<String>> = [
        &[][..],
        &[DEFAULT_ADMIN],
        &["agents:read"],
        &["agents:x:read"],
        &["agents:run"],
        &["teams:read"],
        &["agents:a1:read"],
        &["agents:a1:read", "agents:a1:run"],
    ]
    .iter()
    .map(|s| owned(s))
    .collect();
    let mut mismatches = Vec::new();
    for path in [
        "/agents",
        "/agents/a1",
        "/agents/a1/runs",
        "/teams",
        "/config",
    ] {
        for scopes in &sets {
            let tok = token(scopes);
            let head = crate_verdict(&auth, "HEAD", path, Some(&tok)).await;
            let get = crate_verdict(&auth, "GET", path, Some(&tok)).await;
            // agno never maps HEAD; the preset treats it as GET (agno-behaviour.md §15.11).
            let agno_get = model.decide("GET", path, scopes);
            if head != get || get != agno_get {
                mismatches.push(format!(
                    "{path} {scopes:?}: HEAD={head:?} GET={get:?} agno GET={agno_get:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
