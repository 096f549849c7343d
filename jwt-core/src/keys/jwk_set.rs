//! JWK Set documents (RFC 7517 §5): the one parser behind [`crate::Jwks`] (a file or inline JSON)
//! and [`crate::RemoteJwks`] (a fetched document), with the one size limit.
//!
//! The rules, in the order they are applied:
//!
//! 1. strict JSON (a member named twice is refused), a top-level object with a `keys` array;
//! 2. at most `max_keys` entries ([`MAX_JWKS_KEYS`] by default): a larger document is refused
//!    whole, before any key is parsed;
//! 3. each entry through [`VerificationKey::from_jwk`]: an unusable key (wrong `use` or `key_ops`,
//!    unknown type or curve, weak, malformed) is skipped with a warning, private key material
//!    refuses the whole set;
//! 4. at least one usable key; a `kid` several keys share is logged and matches nothing
//!    ([`Fallback::ExactlyOne`]).
//!
//! Symmetric (`oct`) keys depend on the caller: a configured set may be all-symmetric, a fetched
//! one never (a published secret is no secret).
//!
//! Each caller turns a [`JwkSetError`] into its own error type ([`JwkSetError::into_config`] for
//! configuration; the remote source maps it to its fetch errors).

use std::path::Path;

use serde_json::Value;

use crate::error::{ConfigError, JwkRejection};
use crate::keys::material::{Fallback, JwkDefaults, KeySet, VerificationKey};
use crate::token::jose;

/// The most JWKs one JWK Set document may hold, for configured
/// and fetched sets alike. Real sets hold a handful; a larger one is refused whole, before any key
/// is parsed, so a hostile or broken document cannot make us parse thousands of RSA keys.
pub(crate) const MAX_JWKS_KEYS: usize = 100;

/// Whether symmetric (`oct`) keys may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Symmetric {
    /// Only when every key of the set is `oct` (no mixed sets): configured sets.
    WhenAllOct,
    /// Never: fetched sets (feature `remote-jwks`).
    #[cfg_attr(not(feature = "remote-jwks"), allow(dead_code))]
    Refused,
}

/// How one caller parses JWK Sets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// The most entries accepted.
    pub(crate) max_keys: usize,
    /// Whether `oct` keys may be used.
    pub(crate) symmetric: Symmetric,
    /// Algorithms for keys without `alg`.
    pub(crate) defaults: JwkDefaults,
    /// Names the source in log lines (`"JWKS"`, `"remote JWKS"`).
    pub(crate) source: &'static str,
}

/// Why a JWK Set document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwkSetError {
    /// Not strict JSON.
    NotJson,
    /// The top level is not a JSON object.
    NotObject,
    /// No `keys` array.
    NoKeysArray,
    /// More entries than allowed.
    TooManyKeys { count: usize, limit: usize },
    /// An entry carries private key material.
    PrivateMaterial,
    /// No entry is usable for verification.
    NoUsableKeys,
    /// HMAC and asymmetric keys in one set.
    MixedFamilies,
}

impl JwkSetError {
    /// The configuration error for a JWK Set read from `origin` (a file) or given inline.
    pub(crate) fn into_config(self, origin: Option<&Path>) -> ConfigError {
        let bad = |reason: String| ConfigError::InvalidJwks {
            origin: origin.map(Path::to_path_buf),
            reason,
        };
        match self {
            Self::NotJson => bad("not valid JSON".into()),
            Self::NotObject => bad("top level is not a JSON object".into()),
            Self::NoKeysArray => bad("missing \"keys\" array".into()),
            Self::TooManyKeys { count, limit } => {
                bad(format!("{count} keys; at most {limit} are accepted"))
            }
            Self::PrivateMaterial => bad("contains private key material".into()),
            Self::NoUsableKeys => ConfigError::EmptyJwks,
            Self::MixedFamilies => ConfigError::MixedAlgorithmFamilies,
        }
    }
}

/// Parses a JWK Set document into a key set (see the module docs for the rules).
pub(crate) fn parse(text: &[u8], rules: &Rules) -> Result<KeySet, JwkSetError> {
    let doc = jose::parse_strict_json(text).map_err(|_| JwkSetError::NotJson)?;
    let Value::Object(doc) = doc else {
        return Err(JwkSetError::NotObject);
    };
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err(JwkSetError::NoKeysArray);
    };
    if entries.len() > rules.max_keys {
        return Err(JwkSetError::TooManyKeys {
            count: entries.len(),
            limit: rules.max_keys,
        });
    }
    let allow_oct = match rules.symmetric {
        Symmetric::Refused => false,
        Symmetric::WhenAllOct => {
            !entries.is_empty()
                && entries
                    .iter()
                    .all(|e| e.get("kty").and_then(Value::as_str) == Some("oct"))
        }
    };
    let mut keys = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match VerificationKey::from_jwk(entry, rules.defaults, allow_oct) {
            Ok(key) => keys.push(key),
            Err(JwkRejection::PrivateMaterial) => return Err(JwkSetError::PrivateMaterial),
            Err(reason) => {
                let kid = short(entry.get("kid").and_then(Value::as_str).unwrap_or(""));
                tracing::warn!(source = rules.source, index, kid, %reason, "skipping unusable JWK");
            }
        }
    }
    if keys.is_empty() {
        return Err(JwkSetError::NoUsableKeys);
    }
    let mut kids: Vec<&str> = keys.iter().filter_map(VerificationKey::kid).collect();
    kids.sort_unstable();
    for pair in kids.windows(2) {
        if pair[0] == pair[1] {
            let kid = short(pair[0]);
            tracing::warn!(
                source = rules.source,
                kid,
                "duplicate kid in a JWK Set, treated as ambiguous"
            );
        }
    }
    KeySet::new(keys, Fallback::ExactlyOne).map_err(|_| JwkSetError::MixedFamilies)
}

/// A `kid` as logged: at most 64 characters of it.
fn short(kid: &str) -> String {
    kid.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"e1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    const OCT: &str =
        r#"{"kty":"oct","kid":"h","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}"#;

    fn rules(max_keys: usize, symmetric: Symmetric) -> Rules {
        Rules {
            max_keys,
            symmetric,
            defaults: JwkDefaults::default(),
            source: "test",
        }
    }

    #[test]
    fn one_parser_same_rules_for_both_callers() {
        for symmetric in [Symmetric::WhenAllOct, Symmetric::Refused] {
            let r = rules(2, symmetric);
            let parse = |doc: &str| parse(doc.as_bytes(), &r);
            assert_eq!(parse("{").unwrap_err(), JwkSetError::NotJson);
            assert_eq!(
                parse(r#"{"keys":[],"keys":[]}"#).unwrap_err(),
                JwkSetError::NotJson
            );
            assert_eq!(parse("[]").unwrap_err(), JwkSetError::NotObject);
            assert_eq!(
                parse(r#"{"keys":"none"}"#).unwrap_err(),
                JwkSetError::NoKeysArray
            );
            assert_eq!(
                parse(&format!(r#"{{"keys":[{ED},{ED},{ED}]}}"#)).unwrap_err(),
                JwkSetError::TooManyKeys { count: 3, limit: 2 }
            );
            assert_eq!(
                parse(r#"{"keys":[]}"#).unwrap_err(),
                JwkSetError::NoUsableKeys
            );
            let private = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#;
            assert_eq!(parse(private).unwrap_err(), JwkSetError::PrivateMaterial);
            // A kid two keys share: the set is accepted, the kid matches nothing.
            let dup = parse(&format!(r#"{{"keys":[{ED},{ED}]}}"#)).unwrap();
            assert_eq!(
                dup.candidates(jsonwebtoken::Algorithm::EdDSA, Some("e1"))
                    .count(),
                0
            );
        }
    }

    #[test]
    fn symmetric_keys_only_where_allowed() {
        let all_oct = format!(r#"{{"keys":[{OCT}]}}"#);
        let configured = parse(all_oct.as_bytes(), &rules(100, Symmetric::WhenAllOct)).unwrap();
        assert_eq!(configured.keys().len(), 1);
        assert_eq!(
            parse(all_oct.as_bytes(), &rules(100, Symmetric::Refused)).unwrap_err(),
            JwkSetError::NoUsableKeys
        );
        // Mixed: the `oct` key is skipped, the asymmetric one kept.
        let mixed = format!(r#"{{"keys":[{OCT},{ED}]}}"#);
        let set = parse(mixed.as_bytes(), &rules(100, Symmetric::WhenAllOct)).unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.keys()[0].kid(), Some("e1"));
    }

    #[test]
    fn configuration_errors_read_as_before() {
        let path = Path::new("/etc/jwks.json");
        let reason = |e: JwkSetError| match e.into_config(Some(path)) {
            ConfigError::InvalidJwks { origin, reason } => {
                assert_eq!(origin.as_deref(), Some(path));
                reason
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(JwkSetError::TooManyKeys {
                count: 101,
                limit: MAX_JWKS_KEYS
            }),
            "101 keys; at most 100 are accepted"
        );
        assert_eq!(
            reason(JwkSetError::NotObject),
            "top level is not a JSON object"
        );
        assert!(matches!(
            JwkSetError::NoUsableKeys.into_config(None),
            ConfigError::EmptyJwks
        ));
    }
}
