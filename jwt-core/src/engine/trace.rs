//! What a decision tells an operator: the fields of its `jwt_auth` span, recorded only when a
//! subscriber listens (the decision itself never depends on it). Never a token or key.

use tracing::Level;

use crate::engine::validation::Validation;
use crate::engine::{JwtAuth, Outcome};
use crate::error::{AuthErrorKind, InvalidToken};
use crate::render::AuthError;
use crate::token::jose::TokenHeader;
use crate::token::payload::ClaimLookup;
use crate::token::request::RequestParts;

/// The span's `outcome` and `reason` fields for a decision's result.
fn outcome_of(result: &Result<Outcome, AuthError>) -> (&'static str, &'static str) {
    match result {
        Ok(Outcome::Authenticated(_)) => ("authenticated", "ok"),
        Ok(Outcome::Anonymous | Outcome::ResourceMetadata(_)) => ("anonymous", "ok"),
        Err(e) => ("refused", e.reason()),
    }
}

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
pub(crate) fn record_mismatch<L: ClaimLookup + ?Sized>(
    span: &tracing::Span,
    reason: &InvalidToken,
    validation: &Validation,
    claims: &L,
) {
    if span.is_disabled() {
        return;
    }
    let (expected, received) = match reason {
        InvalidToken::InvalidAudience => (
            format!("{:?}", validation.audience_settings()),
            claims
                .member("aud")
                .map(|v| v.to_value().to_string())
                .unwrap_or_default(),
        ),
        InvalidToken::InvalidIssuer => (
            format!("{:?}", validation.issuer_settings()),
            claims
                .member("iss")
                .map(|v| v.to_value().to_string())
                .unwrap_or_default(),
        ),
        _ => return,
    };
    let bounded = |s: String| s.chars().take(256).collect::<String>();
    span.record("expected", bounded(expected).as_str());
    span.record("received", bounded(received).as_str());
}

/// A decision's `jwt_auth` span and clock: built when a subscriber listens at DEBUG (or for the
/// `metrics` feature), nothing otherwise. A decision that continues after a wait
/// ([`JwtAuth::verdict_after`]) keeps the span it started with.
#[derive(Clone)]
pub(crate) struct Trace {
    pub(crate) span: tracing::Span,
    /// When the decision started; `None` when nobody listens (then nothing is recorded).
    pub(crate) started: Option<std::time::Instant>,
}

impl Trace {
    /// Starts the trace of a decision on `req`. Diagnostics cost nothing when nobody listens:
    /// with no subscriber interested in DEBUG (and without the `metrics` feature) no span is
    /// built, no clock is read, no field is looked up or formatted.
    pub(crate) fn start<R: RequestParts>(req: &R) -> Self {
        if !cfg!(feature = "metrics") && !tracing::level_enabled!(Level::DEBUG) {
            return Trace {
                span: tracing::Span::none(),
                started: None,
            };
        }
        let span = tracing::debug_span!(
            "jwt_auth",
            method = req.method(),
            route = tracing::field::Empty,
            outcome = tracing::field::Empty,
            status = tracing::field::Empty,
            reason = tracing::field::Empty,
            sub = tracing::field::Empty,
            iss = tracing::field::Empty,
            kid = tracing::field::Empty,
            alg = tracing::field::Empty,
            required = tracing::field::Empty,
            cache_hit = tracing::field::Empty,
            expected = tracing::field::Empty,
            received = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        );
        let listened =
            !span.is_disabled() || cfg!(feature = "metrics") || tracing::enabled!(Level::DEBUG);
        Trace {
            span,
            started: listened.then(std::time::Instant::now),
        }
    }
}

impl JwtAuth {
    /// The end of a traced decision: its duration, outcome and reason on the span, the metrics,
    /// and a refusal on its way out.
    pub(super) fn finish(
        &self,
        trace: &Trace,
        started: std::time::Instant,
        result: Result<Outcome, AuthError>,
    ) -> Result<Outcome, AuthError> {
        let span = &trace.span;
        let elapsed = started.elapsed();
        let (outcome, _) = outcome_of(&result);
        span.record("outcome", outcome);
        span.record("duration_us", elapsed.as_micros() as u64);
        #[cfg(feature = "metrics")]
        {
            let reason = outcome_of(&result).1;
            metrics::counter!("jwt_auth_decisions_total", "outcome" => outcome, "reason" => reason)
                .increment(1);
            metrics::histogram!("jwt_auth_decision_seconds", "outcome" => outcome)
                .record(elapsed.as_secs_f64());
        }
        self.close(span, result)
    }

    /// The outcome on the span (and its log line), and a refusal on its way out.
    fn close(
        &self,
        span: &tracing::Span,
        result: Result<Outcome, AuthError>,
    ) -> Result<Outcome, AuthError> {
        let (outcome, reason) = outcome_of(&result);
        match result {
            Ok(decided) => {
                span.in_scope(|| tracing::debug!(outcome, "request allowed"));
                Ok(decided)
            }
            Err(e) => {
                span.record("status", e.status());
                span.record("reason", reason);
                span.in_scope(|| match e.kind() {
                    AuthErrorKind::InsufficientScope { required } => tracing::debug!(
                        status = e.status(),
                        reason,
                        detail = %e.detail(),
                        required = %required.join(" "),
                        "request refused"
                    ),
                    _ => tracing::debug!(
                        status = e.status(),
                        reason,
                        detail = %e.detail(),
                        "request refused"
                    ),
                });
                Err(self.refused(e))
            }
        }
    }
}
