//! Reading what the provider sent: the JWK Set (through the crate's one JWK Set parser,
//! [`crate::keys::jwk_set`], with symmetric keys refused), the discovery document's `issuer` and
//! `jwks_uri`, and `Cache-Control: max-age`.

use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

use super::config::{Settings, check_url};
use super::error::FetchError;
use crate::keys::jwk_set::{self, JwkSetError, Symmetric};
use crate::keys::material::KeySet;
use crate::token::jose;

/// Parses a fetched JWK Set: strict JSON, at most `max_keys` entries, asymmetric keys only.
pub(super) fn jwks(body: &[u8], s: &Settings) -> Result<KeySet, FetchError> {
    let rules = jwk_set::Rules {
        max_keys: s.max_keys,
        // `oct` keys are refused: a published secret is no secret.
        symmetric: Symmetric::Refused,
        defaults: s.defaults,
        source: "remote JWKS",
    };
    jwk_set::parse(body, &rules).map_err(|e| match e {
        JwkSetError::NotJson => FetchError::InvalidDocument("JWKS is not valid JSON"),
        JwkSetError::NotObject | JwkSetError::NoKeysArray => {
            FetchError::InvalidDocument("JWKS has no \"keys\" array")
        }
        JwkSetError::TooManyKeys { count, limit } => FetchError::TooManyKeys { count, limit },
        JwkSetError::PrivateMaterial => {
            FetchError::InvalidDocument("JWKS contains private key material")
        }
        JwkSetError::NoUsableKeys => FetchError::NoUsableKeys,
        JwkSetError::MixedFamilies => FetchError::InvalidDocument("JWKS mixes algorithm families"),
    })
}

/// The `jwks_uri` of a discovery document whose `issuer` must be exactly `issuer`.
pub(super) fn discovery_jwks_uri(body: &[u8], issuer: &str) -> Result<Url, FetchError> {
    discovery_endpoint(body, issuer, "jwks_uri")
}

/// The endpoint URL named `member` (`jwks_uri`, `introspection_endpoint`) in a discovery
/// document whose `issuer` must be exactly `issuer`; the URL passes the URL rule.
pub(in crate::keys) fn discovery_endpoint(
    body: &[u8],
    issuer: &str,
    member: &'static str,
) -> Result<Url, FetchError> {
    let doc = jose::parse_strict_json(body)
        .map_err(|_| FetchError::InvalidDocument("discovery document is not JSON"))?;
    let found = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or(FetchError::InvalidDocument(
            "discovery document has no issuer",
        ))?;
    if found != issuer {
        return Err(FetchError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: found.chars().take(200).collect(),
        });
    }
    let Some(url) = doc.get(member).and_then(Value::as_str) else {
        return Err(FetchError::MissingEndpoint(member));
    };
    check_url(url, member).map_err(|e| match member {
        "jwks_uri" => FetchError::BadJwksUri(e.to_string()),
        _ => FetchError::BadEndpoint {
            member,
            reason: e.to_string(),
        },
    })
}

/// `max-age` from a `Cache-Control` value; `no-store` / `no-cache` count as zero (the caller
/// clamps to the minimum). `None` when there is no usable directive.
pub(super) fn cache_control_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age")
            && let Some(arg) = arg
            && !arg.is_empty()
            && arg.bytes().all(|b| b.is_ascii_digit())
        {
            // Absurdly long values saturate (and are clamped to 24 h anyway).
            max_age = Some(Duration::from_secs(arg.parse().unwrap_or(u64::MAX)));
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_cache_control() {
        let s = |v| cache_control_max_age(v).map(|d| d.as_secs());
        assert_eq!(s("public, max-age=300"), Some(300));
        assert_eq!(s("max-age=\"120\", must-revalidate"), Some(120));
        assert_eq!(s("no-store"), Some(0));
        assert_eq!(s("max-age=abc"), None);
        assert_eq!(s("public"), None);
        assert_eq!(s("max-age=99999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn jwks_remote_documents_are_bounded() {
        let s = Settings {
            max_keys: 2,
            ..Settings::default()
        };
        let ed = r#"{"kty":"OKP","crv":"Ed25519","kid":"e1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let three = format!(r#"{{"keys":[{ed},{ed},{ed}]}}"#);
        assert!(matches!(
            jwks(three.as_bytes(), &s),
            Err(FetchError::TooManyKeys { count: 3, limit: 2 })
        ));
        let oct =
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}"#;
        assert_eq!(
            jwks(oct.as_bytes(), &s).unwrap_err(),
            FetchError::NoUsableKeys
        );
        let private = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#;
        assert_eq!(
            jwks(private.as_bytes(), &s).unwrap_err(),
            FetchError::InvalidDocument("JWKS contains private key material")
        );
        for (doc, reason) in [
            ("<html>", "JWKS is not valid JSON"),
            (r#"{"keys":"none"}"#, "JWKS has no \"keys\" array"),
            ("[]", "JWKS has no \"keys\" array"),
        ] {
            assert_eq!(
                jwks(doc.as_bytes(), &s).unwrap_err(),
                FetchError::InvalidDocument(reason)
            );
        }
        let dup = format!(r#"{{"keys":[{ed},{ed}]}}"#);
        let set = jwks(dup.as_bytes(), &s).unwrap();
        assert_eq!(
            set.candidates(jsonwebtoken::Algorithm::EdDSA, Some("e1"))
                .count(),
            0
        );
    }

    #[test]
    fn discovery_documents_must_name_the_issuer() {
        let doc = |issuer: &str, uri: &str| {
            serde_json::json!({"issuer": issuer, "jwks_uri": uri}).to_string()
        };
        let iss = "https://idp.example.com";
        assert_eq!(
            discovery_jwks_uri(doc(iss, "https://idp.example.com/keys").as_bytes(), iss)
                .unwrap()
                .as_str(),
            "https://idp.example.com/keys"
        );
        assert!(matches!(
            discovery_jwks_uri(doc("https://other", "https://x/keys").as_bytes(), iss),
            Err(FetchError::IssuerMismatch { .. })
        ));
        assert!(matches!(
            discovery_jwks_uri(doc(iss, "http://keys.example.com/jwks").as_bytes(), iss),
            Err(FetchError::BadJwksUri(_))
        ));
        assert_eq!(
            discovery_jwks_uri(br#"{"issuer":"https://idp.example.com"}"#, iss).unwrap_err(),
            FetchError::MissingEndpoint("jwks_uri")
        );
    }
}
