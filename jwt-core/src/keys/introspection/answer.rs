//! Reading an introspection answer (RFC 7662 §2.2): the members that decide, checked before
//! anything else sees them. What the engine checks for every token (`exp`, `nbf`, `iat`, `aud`,
//! `iss`, `cnf`) it checks on the answer's members as on a JWT's claims.

use serde_json::{Map, Value};

use crate::error::InvalidToken;
use crate::keys::remote::FetchError;
use crate::token::claims::numeric_date;
use crate::token::jose;

/// The answer's claims, or why the token is refused; an [`FetchError::BadAnswer`] when the
/// answer cannot be read at all (the server failed, nothing is decided from it).
///
/// - `active` must be the JSON boolean `true` (a string `"true"`, a number, no member: inactive);
/// - `token_type`, when present, must be `Bearer` or `DPoP` (any case), `token_use`, when
///   present, `access_token`, and a `typ` must not name a refresh or offline token: a refresh
///   token is not an access token (where a server labels neither, the audience is the guard);
/// - `iss`, with `issuer` pinned: must equal it; an answer without `iss` gets it.
///
/// `active` is removed; every other member is kept as a claim.
pub(super) fn read(
    body: &[u8],
    issuer: Option<&str>,
) -> Result<Result<Map<String, Value>, InvalidToken>, FetchError> {
    let value = jose::parse_strict_json(body).map_err(|e| match e {
        InvalidToken::DuplicateMember => FetchError::BadAnswer("a member appears twice"),
        _ => FetchError::BadAnswer("not JSON"),
    })?;
    let Value::Object(mut claims) = value else {
        return Err(FetchError::BadAnswer("not a JSON object"));
    };
    Ok(check(&mut claims, issuer).map(|()| claims))
}

fn check(claims: &mut Map<String, Value>, issuer: Option<&str>) -> Result<(), InvalidToken> {
    if claims.remove("active") != Some(Value::Bool(true)) {
        return Err(InvalidToken::Inactive);
    }
    match claims.get("token_type") {
        None => {}
        Some(Value::String(t))
            if t.eq_ignore_ascii_case("bearer") || t.eq_ignore_ascii_case("dpop") => {}
        Some(_) => return Err(InvalidToken::WrongType),
    }
    match claims.get("token_use") {
        None => {}
        Some(Value::String(t)) if t == "access_token" => {}
        Some(_) => return Err(InvalidToken::WrongType),
    }
    // Keycloak names a refresh token's kind in `typ` (`Refresh`, `Offline`).
    if let Some(Value::String(typ)) = claims.get("typ") {
        let typ = typ.to_ascii_lowercase();
        if typ.contains("refresh") || typ.contains("offline") {
            return Err(InvalidToken::WrongType);
        }
    }
    if let Some(pinned) = issuer {
        match claims.get("iss") {
            None => {
                claims.insert("iss".into(), Value::String(pinned.to_owned()));
            }
            Some(Value::String(iss)) if iss == pinned => {}
            Some(_) => return Err(InvalidToken::InvalidIssuer),
        }
    }
    Ok(())
}

/// The answer's `exp` as whole seconds, when it is a NumericDate (the engine refuses any other
/// `exp` later).
pub(super) fn exp_secs(claims: &Map<String, Value>) -> Option<u64> {
    numeric_date(claims, "exp").ok().flatten().map(|f| f as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(
        body: &str,
        issuer: Option<&str>,
    ) -> Result<Result<Map<String, Value>, InvalidToken>, FetchError> {
        read(body.as_bytes(), issuer)
    }

    #[test]
    fn active_must_be_the_boolean_true() {
        let ok = read_str(r#"{"active":true,"sub":"a"}"#, None)
            .unwrap()
            .unwrap();
        assert_eq!(ok.get("sub"), Some(&Value::from("a")));
        assert!(!ok.contains_key("active"));
        for inactive in [
            r#"{"active":false}"#,
            r#"{"active":"true"}"#,
            r#"{"active":1}"#,
            r#"{"active":null}"#,
            r#"{"sub":"a"}"#,
            r#"{}"#,
        ] {
            assert_eq!(
                read_str(inactive, None).unwrap(),
                Err(InvalidToken::Inactive),
                "{inactive}"
            );
        }
    }

    #[test]
    fn an_unreadable_answer_is_the_servers_failure() {
        for bad in [
            "",
            "not json",
            "[]",
            "\"x\"",
            "true",
            r#"{"active":true,"active":true}"#,
        ] {
            assert!(
                matches!(read_str(bad, None), Err(FetchError::BadAnswer(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_types_and_issuer() {
        for good in ["Bearer", "bearer", "DPoP", "dpop"] {
            let body = format!(r#"{{"active":true,"token_type":"{good}"}}"#);
            assert!(read_str(&body, None).unwrap().is_ok(), "{good}");
        }
        for bad in [
            r#"{"active":true,"token_type":"refresh_token"}"#,
            r#"{"active":true,"token_type":5}"#,
            r#"{"active":true,"token_use":"refresh_token"}"#,
            r#"{"active":true,"typ":"Refresh"}"#,
            r#"{"active":true,"typ":"Offline"}"#,
        ] {
            assert_eq!(
                read_str(bad, None).unwrap(),
                Err(InvalidToken::WrongType),
                "{bad}"
            );
        }
        let filled = read_str(r#"{"active":true}"#, Some("https://as"))
            .unwrap()
            .unwrap();
        assert_eq!(filled["iss"], "https://as");
        assert_eq!(
            read_str(
                r#"{"active":true,"iss":"https://other"}"#,
                Some("https://as")
            )
            .unwrap(),
            Err(InvalidToken::InvalidIssuer)
        );
        assert_eq!(
            read_str(r#"{"active":true,"iss":7}"#, Some("https://as")).unwrap(),
            Err(InvalidToken::InvalidIssuer)
        );
    }

    #[test]
    fn exp_in_seconds() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(exp_secs(&m(serde_json::json!({"exp": 10}))), Some(10));
        assert_eq!(exp_secs(&m(serde_json::json!({"exp": 10.7}))), Some(10));
        assert_eq!(exp_secs(&m(serde_json::json!({"exp": "10"}))), None);
        assert_eq!(exp_secs(&m(serde_json::json!({"exp": -1}))), None);
        assert_eq!(exp_secs(&m(serde_json::json!({}))), None);
    }
}
