//! What a route demands of how the caller authenticated, beyond scopes: RFC 9470 step-up
//! ([`StepUp`]: an `acr` from a set, an `auth_time` recent enough) and RFC 8693 delegation
//! ([`Actors`]: whether the call may, or must, come through an actor, and which outermost
//! actors are allowed). Both read the claims of a JWT and the members of an introspection
//! answer alike. The `act` chain itself is read, and bounded, for every token ([`actor_chain`]).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{AuthErrorKind, InvalidToken};
use crate::token::claims::numeric_date;

/// The deepest `act` chain accepted by default (8 actors).
pub const DEFAULT_MAX_ACTOR_DEPTH: usize = 8;

/// RFC 9470 step-up: the authentication a route demands. A token whose `acr` is not one of
/// `acr_values`, or whose `auth_time` is older than `max_age` seconds, is refused with 401
/// `insufficient_user_authentication` and a challenge naming what to obtain (`acr_values`,
/// `max_age`). A token without the claim a requirement reads is refused the same way.
///
/// ```
/// use jwt_core::{RouteTable, StepUp};
/// let table = RouteTable::builder()
///     .route("POST /payments", ["payments:write"])
///     .step_up("POST /payments", StepUp::acr(["urn:example:mfa"]).max_age(300))
///     .build()?;
/// let m = table.lookup("POST", "/payments")?;
/// assert_eq!(m.conditions.step_up.as_ref().unwrap().max_age, Some(300));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepUp {
    /// The accepted `acr` values (any one); empty: `acr` is not read.
    pub acr_values: Vec<String>,
    /// The most seconds since `auth_time`; `None`: `auth_time` is not read.
    pub max_age: Option<u64>,
}

impl StepUp {
    /// No requirement yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `acr` must be one of `values`.
    pub fn acr<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            acr_values: values.into_iter().map(Into::into).collect(),
            max_age: None,
        }
    }

    /// `auth_time` must be at most `secs` seconds ago.
    pub fn max_age(mut self, secs: u64) -> Self {
        self.max_age = Some(secs);
        self
    }

    /// Whether it demands anything.
    pub fn is_empty(&self) -> bool {
        self.acr_values.is_empty() && self.max_age.is_none()
    }

    /// Checks `claims` at `now` (leeway for an `auth_time` in the future).
    pub(crate) fn check(
        &self,
        claims: &Map<String, Value>,
        now: u64,
        leeway: u64,
    ) -> Result<(), AuthErrorKind> {
        let refused = || AuthErrorKind::InsufficientUserAuthentication {
            acr_values: self.acr_values.clone(),
            max_age: self.max_age,
        };
        if !self.acr_values.is_empty() {
            match claims.get("acr") {
                None | Some(Value::Null) => return Err(refused()),
                Some(Value::String(acr)) if self.acr_values.contains(acr) => {}
                Some(Value::String(_)) => return Err(refused()),
                Some(_) => return Err(InvalidToken::InvalidClaim("acr".into()).into()),
            }
        }
        if let Some(max_age) = self.max_age {
            if matches!(claims.get("auth_time"), None | Some(Value::Null)) {
                return Err(refused());
            }
            let auth_time = numeric_date(claims, "auth_time")?.map_or(0, |f| f as u64);
            if auth_time > now.saturating_add(leeway) {
                return Err(InvalidToken::InvalidClaim("auth_time".into()).into());
            }
            if now.saturating_sub(auth_time) > max_age {
                return Err(refused());
            }
        }
        Ok(())
    }
}

/// Whether a route takes delegated calls (a token with an RFC 8693 `act` claim).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delegation {
    /// Direct and delegated calls alike (default).
    #[default]
    Either,
    /// Only a delegated call (an agent acting for someone).
    Required,
    /// Only a direct call: a token carrying `act` is refused.
    Forbidden,
}

/// RFC 8693 delegation rules of a route: whether a call may (or must) be delegated, and which
/// outermost actors (the current actor, RFC 8693 §4.1) may make it, named by their `sub`
/// ([`Actors::allow_subjects`]) or their `client_id` ([`Actors::allow_clients`]): each list is
/// compared with its own claim only. A refusal is 403 `insufficient_scope` with its own reason
/// (`actor_required`, `actor_forbidden`, `actor_not_allowed`).
///
/// ```
/// use jwt_core::{Actors, RouteTable};
/// let table = RouteTable::builder()
///     .route("POST /agents/{id}/runs", ["agents:{id}:run"])
///     .actors("POST /agents/{id}/runs", Actors::required().allow_clients(["agent-svc", "planner"]))
///     .route("DELETE /account", ["account:delete"])
///     .actors("DELETE /account", Actors::forbidden())
///     .build()?;
/// assert!(table.lookup("DELETE", "/account")?.conditions.actors.is_some());
/// // Contradictory: forbidden, yet naming allowed actors.
/// assert!(RouteTable::builder()
///     .route("GET /x", ["x"])
///     .actors("GET /x", Actors::forbidden().allow_subjects(["a"]))
///     .build()
///     .is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Actors {
    /// Whether the call may or must be delegated.
    pub delegation: Delegation,
    /// The outermost actors allowed by `sub`.
    pub subjects: Vec<String>,
    /// The outermost actors allowed by `client_id`.
    pub clients: Vec<String>,
}

impl Actors {
    /// Only delegated calls.
    pub fn required() -> Self {
        Self {
            delegation: Delegation::Required,
            ..Self::default()
        }
    }

    /// Only direct calls.
    pub fn forbidden() -> Self {
        Self {
            delegation: Delegation::Forbidden,
            ..Self::default()
        }
    }

    /// A delegated call passes when its outermost actor's `sub` is one of `subjects` (or its
    /// `client_id` one of [`Actors::allow_clients`]); direct calls still pass unless
    /// [`Actors::required`].
    pub fn allow_subjects<I, S>(mut self, subjects: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subjects.extend(subjects.into_iter().map(Into::into));
        self
    }

    /// A delegated call passes when its outermost actor's `client_id` is one of `clients` (or
    /// its `sub` one of [`Actors::allow_subjects`]).
    pub fn allow_clients<I, S>(mut self, clients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.clients.extend(clients.into_iter().map(Into::into));
        self
    }

    /// Forbids delegated calls yet names allowed actors.
    pub(crate) fn is_contradictory(&self) -> bool {
        self.delegation == Delegation::Forbidden
            && !(self.subjects.is_empty() && self.clients.is_empty())
    }

    /// Checks a token's (already bounded) chain.
    pub(crate) fn check(&self, chain: &[Actor]) -> Result<(), AuthErrorKind> {
        let refused = |reason| AuthErrorKind::ActorDenied { reason };
        let listed = !(self.subjects.is_empty() && self.clients.is_empty());
        match (self.delegation, chain.first()) {
            (Delegation::Forbidden, Some(_)) => Err(refused("actor_forbidden")),
            (Delegation::Required, None) => Err(refused("actor_required")),
            (_, Some(current)) if listed => {
                let named = |id: &Option<String>, list: &[String]| {
                    id.as_ref().is_some_and(|id| list.contains(id))
                };
                if named(&current.sub, &self.subjects) || named(&current.client_id, &self.clients) {
                    Ok(())
                } else {
                    Err(refused("actor_not_allowed"))
                }
            }
            _ => Ok(()),
        }
    }
}

/// What a route demands beyond scopes: step-up and delegation rules. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conditions {
    /// RFC 9470 step-up.
    pub step_up: Option<StepUp>,
    /// RFC 8693 delegation rules.
    pub actors: Option<Actors>,
}

impl Conditions {
    /// No condition: what a route without any gets.
    pub const NONE: &'static Conditions = &Conditions {
        step_up: None,
        actors: None,
    };

    /// Whether a context decided under these conditions may be handed out again for the same
    /// request: not when the answer depends on the time (`max_age`).
    pub(crate) fn is_timeless(&self) -> bool {
        self.step_up.as_ref().is_none_or(|s| s.max_age.is_none())
    }
}

/// One actor of an RFC 8693 `act` chain: who acts (`sub`), for which client (`client_id`),
/// issued by whom (`iss`), each when the claim names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Actor {
    /// The actor's `sub`.
    pub sub: Option<String>,
    /// The actor's `client_id`.
    pub client_id: Option<String>,
    /// The actor's `iss`.
    pub iss: Option<String>,
}

/// The `act` chain of `claims`, outermost (current) actor first; empty for a direct call.
/// Refused (401 `invalid_token`): an `act` that is not an object, an actor whose `sub`,
/// `client_id` or `iss` is not a string, a chain deeper than `max_depth`.
pub(crate) fn actor_chain(
    claims: &Map<String, Value>,
    max_depth: usize,
) -> Result<Vec<Actor>, InvalidToken> {
    let invalid = || InvalidToken::InvalidClaim("act".into());
    let mut chain = Vec::new();
    let mut next = claims.get("act");
    while let Some(act) = next {
        let Value::Object(act) = act else {
            return Err(invalid());
        };
        if chain.len() == max_depth {
            return Err(invalid());
        }
        let text = |name: &str| match act.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid()),
        };
        chain.push(Actor {
            sub: text("sub")?,
            client_id: text("client_id")?,
            iss: text("iss")?,
        });
        next = act.get("act");
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn chains_are_objects_and_bounded() {
        let two = claims(json!({"act": {"sub": "a", "act": {"client_id": "b"}}}));
        let chain = actor_chain(&two, 8).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].sub.as_deref(), Some("a"));
        assert_eq!(chain[1].client_id.as_deref(), Some("b"));
        assert!(actor_chain(&claims(json!({})), 8).unwrap().is_empty());
        for bad in [
            json!({"act": "a"}),
            json!({"act": ["a"]}),
            json!({"act": null}),
            json!({"act": {"sub": 5}}),
            json!({"act": {"act": true}}),
        ] {
            assert!(actor_chain(&claims(bad.clone()), 8).is_err(), "{bad}");
        }
        let mut deep = json!({"sub": "last"});
        for i in 0..8 {
            deep = json!({"sub": format!("a{i}"), "act": deep});
        }
        // Nine actors: one too many.
        assert!(actor_chain(&claims(json!({"act": deep.clone()})), 8).is_err());
        assert_eq!(
            actor_chain(&claims(json!({"act": deep})), 9).unwrap().len(),
            9
        );
    }

    #[test]
    fn delegation_rules() {
        let agent = Actor {
            sub: Some("agent-svc".into()),
            ..Actor::default()
        };
        let reason = |r: Result<(), AuthErrorKind>| match r {
            Err(AuthErrorKind::ActorDenied { reason }) => reason,
            Err(other) => panic!("{other:?}"),
            Ok(()) => "ok",
        };
        assert_eq!(
            reason(Actors::forbidden().check(std::slice::from_ref(&agent))),
            "actor_forbidden"
        );
        assert_eq!(reason(Actors::forbidden().check(&[])), "ok");
        assert_eq!(reason(Actors::required().check(&[])), "actor_required");
        let one = std::slice::from_ref(&agent);
        let required = Actors::required;
        assert_eq!(
            reason(required().allow_subjects(["agent-svc"]).check(one)),
            "ok"
        );
        assert_eq!(
            reason(required().allow_subjects(["other"]).check(one)),
            "actor_not_allowed"
        );
        // Each list reads its own claim: a subject never stands for a client.
        assert_eq!(
            reason(required().allow_clients(["agent-svc"]).check(one)),
            "actor_not_allowed"
        );
        assert_eq!(
            reason(Actors::default().allow_subjects(["other"]).check(&[])),
            "ok"
        );
    }

    #[test]
    fn step_up_rules() {
        let now = 1_800_000_000;
        let acr = StepUp::acr(["mfa"]);
        assert!(acr.check(&claims(json!({"acr": "mfa"})), now, 10).is_ok());
        for bad in [json!({"acr": "pwd"}), json!({})] {
            assert!(matches!(
                acr.check(&claims(bad), now, 10),
                Err(AuthErrorKind::InsufficientUserAuthentication { .. })
            ));
        }
        assert!(matches!(
            acr.check(&claims(json!({"acr": 1})), now, 10),
            Err(AuthErrorKind::InvalidToken(_))
        ));
        let recent = StepUp::new().max_age(300);
        assert!(
            recent
                .check(&claims(json!({"auth_time": now - 300})), now, 10)
                .is_ok()
        );
        assert!(
            recent
                .check(&claims(json!({"auth_time": now - 301})), now, 10)
                .is_err()
        );
        assert!(recent.check(&claims(json!({})), now, 10).is_err());
        assert!(matches!(
            recent.check(&claims(json!({"auth_time": now + 60})), now, 10),
            Err(AuthErrorKind::InvalidToken(_))
        ));
    }
}
