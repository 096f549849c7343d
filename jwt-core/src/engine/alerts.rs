//! Refusals that signal an attack rather than a client mistake (a forged or unsigned token, a
//! key nobody issued, a replayed DPoP proof) are logged at `WARN`, which the default
//! subscriber shows, at most once per reason per [`WINDOW_SECS`] with the number of refusals
//! left out since. Every other refusal stays at `DEBUG` in the decision's span. Never the token
//! or key material: the reason code, status and the client-facing detail only.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::now_secs;
use crate::render::AuthError;

/// At most one warning per reason in this many seconds.
pub(crate) const WINDOW_SECS: u64 = 10;

/// The reason codes ([`AuthError::reason`]) that signal an attack.
const ATTACK_REASONS: [&str; 7] = [
    "bad_signature",
    "alg_none",
    "unknown_key",
    "duplicate_member",
    "dpop_replayed",
    "dpop_bad_signature",
    "dpop_key_mismatch",
];

/// Per reason: the window (seconds since the epoch / [`WINDOW_SECS`]) of the last warning, plus
/// one (0: never), and the refusals not logged since.
static LAST_WINDOW: [AtomicU64; ATTACK_REASONS.len()] =
    [const { AtomicU64::new(0) }; ATTACK_REASONS.len()];
static SUPPRESSED: [AtomicU64; ATTACK_REASONS.len()] =
    [const { AtomicU64::new(0) }; ATTACK_REASONS.len()];

/// Logs `err` at `WARN` when it signals an attack and this reason has not been logged in the
/// current window; counts it otherwise.
pub(crate) fn refused(err: &AuthError) {
    let reason = err.reason();
    let Some(at) = ATTACK_REASONS.iter().position(|r| *r == reason) else {
        return;
    };
    let window = now_secs() / WINDOW_SECS + 1;
    let last = LAST_WINDOW[at].load(Ordering::Relaxed);
    if last == window
        || LAST_WINDOW[at]
            .compare_exchange(last, window, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        SUPPRESSED[at].fetch_add(1, Ordering::Relaxed);
        return;
    }
    let suppressed = SUPPRESSED[at].swap(0, Ordering::Relaxed);
    tracing::warn!(
        reason,
        status = err.status(),
        detail = %err.detail(),
        suppressed,
        "request refused: possible attack (at most one warning per reason every {WINDOW_SECS} s; `suppressed` counts the refusals left out since the last)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_reasons_are_reason_codes() {
        use crate::error::{DpopRejection, InvalidToken};
        let codes = [
            InvalidToken::BadSignature.reason(),
            InvalidToken::AlgNone.reason(),
            InvalidToken::UnknownKey.reason(),
            InvalidToken::DuplicateMember.reason(),
            DpopRejection::Replayed.reason(),
            DpopRejection::BadSignature.reason(),
            DpopRejection::KeyMismatch.reason(),
        ];
        assert_eq!(codes, ATTACK_REASONS);
        assert!(!ATTACK_REASONS.contains(&InvalidToken::Expired.reason()));
    }
}
