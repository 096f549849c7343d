//! The key a token is bound to (RFC 7800 `cnf`), read once per decision: DPoP's `jkt` (RFC 9449)
//! and mutual TLS's `x5t#S256` (RFC 8705), each checked by the proof that can verify it. A `cnf`
//! that is not an object of those members, each a non-empty string, or that names a binding
//! whose proof is not configured, is refused: a bound token never passes as a plain bearer one.

use serde_json::{Map, Value};

use crate::error::InvalidToken;

/// What `cnf` binds the token to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Binding<'a> {
    /// The DPoP key's RFC 7638 thumbprint.
    pub(crate) jkt: Option<&'a str>,
    /// The client certificate's SHA-256 thumbprint, base64url.
    pub(crate) x5t: Option<&'a str>,
}

impl<'a> Binding<'a> {
    /// Reads `claims`' `cnf`; `dpop` and `mtls` say which proofs are configured.
    pub(crate) fn of(
        claims: &'a Map<String, Value>,
        dpop: bool,
        mtls: bool,
    ) -> Result<Self, InvalidToken> {
        let Some(cnf) = claims.get("cnf") else {
            return Ok(Self::default());
        };
        let Value::Object(cnf) = cnf else {
            return Err(InvalidToken::SenderConstrained);
        };
        let mut binding = Self::default();
        for (name, value) in cnf {
            let text = match value {
                Value::String(s) if !s.is_empty() => s.as_str(),
                _ => return Err(InvalidToken::SenderConstrained),
            };
            match name.as_str() {
                "jkt" if dpop => binding.jkt = Some(text),
                "x5t#S256" if mtls => binding.x5t = Some(text),
                _ => return Err(InvalidToken::SenderConstrained),
            }
        }
        if binding == Self::default() {
            // `{}`: bound to nothing anyone could prove.
            return Err(InvalidToken::SenderConstrained);
        }
        Ok(binding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(cnf: Value, dpop: bool, mtls: bool) -> Result<Binding<'static>, InvalidToken> {
        let claims: &'static Map<String, Value> =
            Box::leak(Box::new(json!({ "cnf": cnf }).as_object().unwrap().clone()));
        Binding::of(claims, dpop, mtls)
    }

    #[test]
    fn each_member_needs_its_proof() {
        let both = json!({"jkt": "k", "x5t#S256": "t"});
        assert_eq!(
            of(both.clone(), true, true),
            Ok(Binding {
                jkt: Some("k"),
                x5t: Some("t")
            })
        );
        assert!(of(both.clone(), true, false).is_err());
        assert!(of(both, false, true).is_err());
        assert_eq!(
            of(json!({"x5t#S256": "t"}), false, true).unwrap().x5t,
            Some("t")
        );
        for bad in [
            json!({}),
            json!("k"),
            json!({"jkt": ""}),
            json!({"jkt": 1}),
            json!({"jwk": {}}),
            json!({"x5t#S256": null}),
        ] {
            assert!(of(bad.clone(), true, true).is_err(), "{bad}");
        }
        let unbound = json!({"sub": "a"});
        assert_eq!(
            Binding::of(unbound.as_object().unwrap(), false, false),
            Ok(Binding::default())
        );
    }
}
