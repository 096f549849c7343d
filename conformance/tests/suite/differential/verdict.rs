//! Classifying responses and the two checks: bypasses (a handler ran without the scopes its
//! route demands for the parameters it received) and disagreements between adapters.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use jwt_core::{ScopeRules, ScopeSet, ScopeTemplate};
use serde_json::Value;

use super::corpus::{ADMIN_SCOPE, Token, required_scopes};
use super::wire::WireResponse;

/// What one adapter did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A handler ran (2xx with the handlers' JSON): its route name and the parameters it saw.
    Handler {
        /// The route name the handler reported.
        route: String,
        /// The parameters as the handler received them.
        params: BTreeMap<String, String>,
    },
    /// 400, 401 or 403; `core` when the body is the middleware's `{"detail": ..}` JSON.
    Refused {
        /// The status.
        status: u16,
        /// Whether the middleware (not the HTTP stack or an extractor) answered.
        core: bool,
    },
    /// 404 or 405.
    NotRouted(u16),
    /// Any other status (or a 2xx without the handlers' JSON).
    Other(u16),
    /// No response at all.
    Failed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Handler { route, params } => {
                write!(f, "handler {route:?}")?;
                for (k, v) in params {
                    write!(f, " {k}={v:?}")?;
                }
                Ok(())
            }
            Outcome::Refused { status, core: true } => write!(f, "refused {status}"),
            Outcome::Refused {
                status,
                core: false,
            } => write!(f, "refused {status} (not by the middleware)"),
            Outcome::NotRouted(status) => write!(f, "not routed {status}"),
            Outcome::Other(status) => write!(f, "other {status}"),
            Outcome::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// The handlers' answer, `{"route": .., "params": {..}}`, if `body` is one.
fn handler_answer(body: &[u8]) -> Option<(String, BTreeMap<String, String>)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let route = value.get("route")?.as_str()?.to_owned();
    let mut params = BTreeMap::new();
    for (k, v) in value.get("params")?.as_object()? {
        params.insert(k.clone(), v.as_str()?.to_owned());
    }
    Some((route, params))
}

/// Whether `res` is the middleware's error rendering: JSON `{"detail": "<string>"}`.
fn is_core_error(res: &WireResponse) -> bool {
    let json = res
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/json"));
    let body: Option<Value> = serde_json::from_slice(&res.body).ok();
    json && body
        .as_ref()
        .and_then(Value::as_object)
        .is_some_and(|o| o.len() == 1 && o.get("detail").is_some_and(Value::is_string))
}

/// Classifies a response.
pub(crate) fn classify(res: &WireResponse) -> Outcome {
    match res.status {
        200..=299 => match handler_answer(&res.body) {
            Some((route, params)) => Outcome::Handler { route, params },
            None => Outcome::Other(res.status),
        },
        400 | 401 | 403 => Outcome::Refused {
            status: res.status,
            core: is_core_error(res),
        },
        404 | 405 => Outcome::NotRouted(res.status),
        other => Outcome::Other(other),
    }
}

/// Why `outcome` is a bypass for a request carrying `token`, or `None` when it is not.
///
/// A handler that ran is a bypass when its route needs a token and the request had no valid
/// one, or when the route's required scopes, rendered with the parameters the handler itself
/// received, are not all granted by the token's scopes (admin scope `root`).
pub(crate) fn bypass(outcome: &Outcome, token: &Token) -> Option<String> {
    let Outcome::Handler { route, params } = outcome else {
        return None;
    };
    let templates = match required_scopes(route) {
        None => return Some(format!("unknown route {route:?}")),
        Some(None) => return None,
        Some(Some(templates)) => templates,
    };
    if !token.valid {
        return Some("ran without a valid token".into());
    }
    let granted = ScopeSet::parse(
        &token.scopes,
        &ScopeRules::agent_os().admin_scope(ADMIN_SCOPE),
    );
    let bound: Vec<(&str, Cow<'_, str>)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), Cow::Borrowed(v.as_str())))
        .collect();
    let missing: Vec<String> = templates
        .iter()
        .map(|t| ScopeTemplate::new(*t).render(&bound).into_owned())
        .filter(|needed| !granted.can(needed))
        .collect();
    if missing.is_empty() {
        None
    } else {
        Some(format!("needs {}", missing.join(" ")))
    }
}

/// Why the adapters' outcomes for one request disagree, or `None`: one adapter's handler ran
/// while another refused, or two handlers saw a different route or parameters. Not routed
/// (404 vs 405, or vs anything) is never a disagreement.
pub(crate) fn disagreement(outcomes: &[(&str, &Outcome)]) -> Option<String> {
    let handler = outcomes
        .iter()
        .find(|(_, o)| matches!(o, Outcome::Handler { .. }));
    let refused = outcomes
        .iter()
        .find(|(_, o)| matches!(o, Outcome::Refused { .. }));
    if let (Some((h, _)), Some((r, _))) = (handler, refused) {
        return Some(format!("{h} ran a handler, {r} refused"));
    }
    let (first, reference) = handler?;
    outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Handler { .. }))
        .find(|(_, o)| o != reference)
        .map(|(other, _)| format!("{first} and {other} ran different handlers"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::differential::corpus::route;

    fn token(valid: bool, scopes: &[&'static str]) -> Token {
        Token {
            name: "t",
            header: None,
            valid,
            scopes: scopes.to_vec(),
        }
    }

    fn handler(route: &str, params: &[(&str, &str)]) -> Outcome {
        Outcome::Handler {
            route: route.into(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    #[test]
    fn bypasses_are_judged_on_the_handlers_params() {
        let a1 = token(true, &["items:a1:read"]);
        assert_eq!(bypass(&handler(route::ITEM, &[("id", "a1")]), &a1), None);
        assert_eq!(
            bypass(&handler(route::ITEM, &[("id", "a2")]), &a1).as_deref(),
            Some("needs items:a2:read")
        );
        // The nested route needs its own scope: `items:read` is not enough.
        let items = token(true, &["items:read"]);
        assert!(bypass(&handler(route::ADMIN_ITEMS, &[]), &items).is_some());
        assert_eq!(bypass(&handler(route::ITEMS, &[]), &items), None);
        // No valid token: only the excluded route may run.
        let expired = token(false, &[ADMIN_SCOPE]);
        assert!(bypass(&handler(route::ITEMS, &[]), &expired).is_some());
        assert_eq!(bypass(&handler(route::HEALTH, &[]), &expired), None);
        // The admin scope grants everything; refusals are never bypasses.
        let root = token(true, &[ADMIN_SCOPE]);
        assert_eq!(
            bypass(&handler(route::ADMIN_ITEM, &[("id", "x")]), &root),
            None
        );
        let refused = Outcome::Refused {
            status: 403,
            core: true,
        };
        assert_eq!(bypass(&refused, &a1), None);
    }

    #[test]
    fn disagreements() {
        let h1 = handler(route::ITEM, &[("id", "a1")]);
        let h2 = handler(route::ITEM, &[("id", "a%2D1")]);
        let refused = Outcome::Refused {
            status: 401,
            core: true,
        };
        let nf = Outcome::NotRouted(404);
        let na = Outcome::NotRouted(405);
        assert_eq!(disagreement(&[("a", &h1), ("b", &h1), ("c", &nf)]), None);
        assert_eq!(
            disagreement(&[("a", &nf), ("b", &na), ("c", &refused)]),
            None
        );
        assert!(disagreement(&[("a", &h1), ("b", &refused)]).is_some());
        assert!(disagreement(&[("a", &h1), ("b", &nf), ("c", &h2)]).is_some());
    }

    #[test]
    fn classification() {
        let res = |status, ct: Option<&str>, body: &str| WireResponse {
            status,
            content_type: ct.map(str::to_owned),
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            classify(&res(200, None, r#"{"route":"r","params":{"id":"x"}}"#)),
            handler("r", &[("id", "x")])
        );
        assert_eq!(classify(&res(200, None, "ok")), Outcome::Other(200));
        assert_eq!(
            classify(&res(401, Some("application/json"), r#"{"detail":"x"}"#)),
            Outcome::Refused {
                status: 401,
                core: true
            }
        );
        assert_eq!(
            classify(&res(400, Some("text/plain"), "Invalid URL")),
            Outcome::Refused {
                status: 400,
                core: false
            }
        );
        assert_eq!(classify(&res(405, None, "")), Outcome::NotRouted(405));
        assert_eq!(classify(&res(500, None, "")), Outcome::Other(500));
    }
}
