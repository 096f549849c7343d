//! What a decision tells an operator: the fields of its `jwt_auth` span, recorded only when a
//! subscriber listens (the decision itself never depends on it). Never a token or key.

use crate::engine::validation::Validation;
use crate::error::InvalidToken;
use crate::token::jose::TokenHeader;

/// Records the token's `kid` and `alg` on the decision's span.
pub(crate) fn record_header(span: &tracing::Span, header: Option<&TokenHeader>) {
    if span.is_disabled() {
        return;
    }
    if let Some(h) = header {
        span.record("alg", tracing::field::debug(h.alg));
        if let Some(kid) = h.kid.as_deref() {
            // A `kid` is attacker-controlled: bounded, and only printable ASCII.
            let kid: String = kid
                .chars()
                .take(64)
                .map(|c| if c.is_ascii_graphic() { c } else { '?' })
                .collect();
            span.record("kid", kid.as_str());
        }
    }
}

/// On an audience or issuer mismatch, what was expected and what the (verified) token said.
pub(crate) fn record_mismatch(
    span: &tracing::Span,
    reason: &InvalidToken,
    validation: &Validation,
    claims: &serde_json::Map<String, serde_json::Value>,
) {
    if span.is_disabled() {
        return;
    }
    let (expected, received) = match reason {
        InvalidToken::InvalidAudience => (
            format!("{:?}", validation.audience_settings()),
            claims.get("aud").map(|v| v.to_string()).unwrap_or_default(),
        ),
        InvalidToken::InvalidIssuer => (
            format!("{:?}", validation.issuer_settings()),
            claims.get("iss").map(|v| v.to_string()).unwrap_or_default(),
        ),
        _ => return,
    };
    let bounded = |s: String| s.chars().take(256).collect::<String>();
    span.record("expected", bounded(expected).as_str());
    span.record("received", bounded(received).as_str());
}
