//! The AgentOS preset: agno's default route → scope table, its
//! route-level read/run checks (§3.4), its default excluded routes (§7), the `system` → `config`
//! alias and the reserved subjects, expressed in our pattern grammar so that every allow/deny
//! outcome on AgentOS routes equals agno's.
//!
//! How agno's fnmatch entries are translated:
//! - under `/agents`, `/teams` and `/workflows`, the id segment becomes `{agent_id}` /
//!   `{team_id}` / `{workflow_id}` and a two-part scope `X:action` becomes the template
//!   `<type>:{<type>_id}:action`, which is what agno's rewrite demands;
//! - every other `*` becomes a one-segment parameter;
//! - an entry ending in `*` also gets a `{*rest}` twin, because agno's `*` crosses `/`
//!   (`GET /agents/*` covers `GET /agents/a1/runs/r1/checkpoints`).

use crate::authz::routes::{RouteTable, RouteTableBuilder};
use crate::authz::scope::ScopeRules;
use crate::token::claims::{ReservedSubjects, StandardClaims};

/// agno's default scope mappings, in agno's order (103 rows).
pub const AGNO_DEFAULT_SCOPE_MAPPINGS: [(&str, &str); 103] = [
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

/// agno's default excluded routes.
pub const AGNO_DEFAULT_EXCLUDED: [&str; 7] = [
    "/",
    "/health",
    "/info",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/docs/oauth2-redirect",
];

/// The subjects agno refuses (`sa:*`, `__oauth__:*`, `__scheduler__`): (prefixes, exact names).
pub const AGNO_RESERVED_SUBJECTS: (&[&str], &[&str]) = (&["sa:", "__oauth__:"], &["__scheduler__"]);

/// The resource families whose id agno binds into required scopes, with their denial nouns.
const FAMILIES: [(&str, &str, &str); 3] = [
    ("agents", "agent", "agent_id"),
    ("teams", "team", "team_id"),
    ("workflows", "workflow", "workflow_id"),
];

/// Translates one agno entry into ours: (entry, scope template, has a `{*rest}` twin).
fn translate(entry: &str, scope: &str) -> (String, String, bool) {
    let (method, path) = entry.split_once(' ').unwrap_or(("GET", entry));
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let family = FAMILIES.iter().find(|(name, ..)| *name == segs[0]);
    let mut out = Vec::with_capacity(segs.len());
    let mut bound_id: Option<&str> = None;
    for (i, seg) in segs.iter().enumerate() {
        if *seg != "*" {
            out.push((*seg).to_owned());
            continue;
        }
        let name = match (i, family) {
            (1, Some((_, _, id))) => {
                bound_id = Some(id);
                (*id).to_owned()
            }
            (1, None) => "id".to_owned(),
            _ => format!("p{i}"),
        };
        out.push(format!("{{{name}}}"));
    }
    let template = match (family, bound_id) {
        (Some((fam, ..)), Some(id)) => {
            let action = scope.rsplit(':').next().unwrap_or(scope);
            format!("{fam}:{{{id}}}:{action}")
        }
        _ => scope.to_owned(),
    };
    let trailing_star = segs.last() == Some(&"*");
    (
        format!("{method} /{}", out.join("/")),
        template,
        trailing_star,
    )
}

impl RouteTable {
    /// The AgentOS preset as a builder, so that routes can be overridden, added or removed
    /// before [`RouteTableBuilder::build`].
    ///
    /// It lists every AgentOS route: agno's 103 mappings, its route-level checks, its excluded
    /// routes, and, as "any valid token", the AgentOS routes agno's middleware leaves unmapped
    /// (`POST .../runs/{run_id}/resume`, `POST .../sessions/{session_id}/fork`,
    /// `GET /metrics/refresh/status`), so AgentOS routes behave exactly as under agno. A path
    /// outside AgentOS is not listed and therefore denied (403 with a valid token, 401 without),
    /// where agno would let any valid token through: add your own routes (or
    /// `.unmapped(Unmapped::Authenticated)` to get agno's behaviour back).
    ///
    /// ```
    /// use jwt_core::{Access, RouteTable, ScopeMapper};
    /// let table = RouteTable::agent_os()
    ///     .route("GET /agents", ["agents:list"])   // override one default
    ///     .exclude("/public/*")                     // add an exclusion
    ///     .build()?;
    /// assert_eq!(*table.lookup("GET", "/health")?.access, Access::Excluded);
    /// let m = table.lookup("POST", "/agents/my-agent/runs")?;
    /// assert_eq!(m.route, Some("POST /agents/{agent_id}/runs"));
    /// // agno leaves these unmapped (any valid token); the preset lists them as such.
    /// let resume = table.lookup("POST", "/agents/a1/runs/r1/resume")?;
    /// assert_eq!(resume.route, Some("POST /agents/{agent_id}/runs/{run_id}/resume"));
    /// // Outside AgentOS: not listed, so denied (add your own routes to the builder).
    /// assert_eq!(*table.lookup("POST", "/mcp")?.access, Access::Denied);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn agent_os() -> RouteTableBuilder {
        let mut b =
            RouteTable::builder().scope_rules(ScopeRules::agent_os().alias("system", "config"));
        for (entry, scope) in AGNO_DEFAULT_SCOPE_MAPPINGS {
            let (ours, template, twin) = translate(entry, scope);
            b = b.route(&ours, [template.clone()]);
            if twin {
                let deep = ours.trim_end_matches(|c| c != '/').to_owned();
                let last = ours.rsplit('/').next().unwrap_or_default().to_owned();
                b = b.route(&format!("{deep}{last}/{{*rest}}"), [template]);
            }
        }
        for (family, noun, id) in FAMILIES {
            b = b.listing(&format!("GET /{family}"), family, "read");
            let run = format!("{family}:{{{id}}}:run");
            // §3.4: reading runs needs `run` on top of the middleware's `read`.
            for sub in [
                "runs",
                "runs/{run_id}",
                "runs/{run_id}/checkpoints",
                "runs/{run_id}/checkpoints/{message_index}",
            ] {
                let entry = format!("GET /{family}/{{{id}}}/{sub}");
                b = b
                    .route(&entry, [format!("{family}:{{{id}}}:read")])
                    .resource_check(&entry, &run, "run", noun);
            }
            // Routes agno leaves unmapped in the middleware but guards in the router.
            b = b.resource_check(
                &format!("POST /{family}/{{{id}}}/runs/{{run_id}}/resume"),
                &run,
                "run",
                noun,
            );
            if family != "workflows" {
                b = b.resource_check(
                    &format!("POST /{family}/{{{id}}}/sessions/{{session_id}}/fork"),
                    &run,
                    "run",
                    noun,
                );
            }
        }
        // Served by AgentOS, unmapped in agno's middleware: any valid token.
        b = b.authenticated("GET /metrics/refresh/status");
        for path in AGNO_DEFAULT_EXCLUDED {
            b = b.exclude(path);
        }
        b
    }
}

impl ReservedSubjects {
    /// agno's list: `sa:*`, `__oauth__:*` and `__scheduler__`.
    pub fn agent_os() -> Self {
        let (prefixes, exact) = AGNO_RESERVED_SUBJECTS;
        let with_prefixes = prefixes.iter().fold(Self::default(), |r, p| r.prefix(*p));
        exact.iter().fold(with_prefixes, |r, e| r.exact(*e))
    }
}

impl StandardClaims {
    /// agno's defaults plus its reserved subjects: scopes from the `scopes` claim only (agno's
    /// `scopes_claim`), not the `scope` / `scp` that [`StandardClaims::default`] also reads.
    ///
    /// ```
    /// use jwt_core::{ClaimsConfig, StandardClaims};
    /// let claims = serde_json::json!({"sub": "alice", "scopes": ["agents:read"], "scope": "teams:read"});
    /// let id = StandardClaims::agent_os().identity(claims.as_object().unwrap())?;
    /// assert_eq!(id.scopes, ["agents:read"]);
    /// # Ok::<(), jwt_core::InvalidToken>(())
    /// ```
    pub fn agent_os() -> Self {
        Self::default()
            .scope_claims(["scopes"])
            .reserved_subjects(ReservedSubjects::agent_os())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation() {
        assert_eq!(
            translate("POST /agents/*/runs/*/cancel", "agents:run"),
            (
                "POST /agents/{agent_id}/runs/{p3}/cancel".to_owned(),
                "agents:{agent_id}:run".to_owned(),
                false
            )
        );
        assert_eq!(
            translate("GET /sessions/*", "sessions:read"),
            (
                "GET /sessions/{id}".to_owned(),
                "sessions:read".to_owned(),
                true
            )
        );
        assert_eq!(
            translate("GET /agents", "agents:read"),
            ("GET /agents".to_owned(), "agents:read".to_owned(), false)
        );
    }

    #[test]
    fn preset_builds() {
        let t = RouteTable::agent_os().build().unwrap();
        assert!(t.len() > 103);
    }
}
