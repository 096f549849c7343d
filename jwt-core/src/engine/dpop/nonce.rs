//! Server-provided DPoP nonces (RFC 9449 §9): a proof must carry a nonce this server issued
//! recently, which bounds how long a proof made in advance (by malware holding the key for a
//! while) stays usable. Nonces are stateless: an HMAC over a time period, so every instance
//! sharing the secret issues and accepts the same ones.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ConfigError, DpopConfigError};

/// The tag length kept from the HMAC (128 bits).
const TAG_LEN: usize = 16;

/// Issues and checks DPoP nonces. A nonce is valid in the period it was issued and the next
/// one, so it lives between one and two periods.
///
/// ```
/// use std::time::Duration;
/// use jwt_core::DpopNonces;
/// let nonces = DpopNonces::new(b"a-secret-shared-by-every-instance!", Duration::from_secs(300))?;
/// let nonce = nonces.current();
/// assert!(nonces.accepts(&nonce));
/// assert!(!nonces.accepts("made-up"));
/// # Ok::<(), jwt_core::ConfigError>(())
/// ```
pub struct DpopNonces {
    key: hmac::Key,
    period: u64,
}

impl DpopNonces {
    /// Nonces signed with `secret` (at least 32 bytes; share it between instances), each
    /// period `period` long (at least one second).
    ///
    /// # Errors
    /// [`ConfigError::Dpop`] for a short secret or a zero period.
    pub fn new(secret: impl AsRef<[u8]>, period: Duration) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        if secret.len() < 32 {
            return Err(DpopConfigError::WeakNonceSecret.into());
        }
        if period.as_secs() == 0 {
            return Err(DpopConfigError::ZeroDuration("nonce period").into());
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            period: period.as_secs(),
        })
    }

    /// The nonce to hand out now.
    pub fn current(&self) -> String {
        self.issue(crate::clock::now_secs())
    }

    /// Whether `nonce` was issued by this secret in the current or the previous period.
    pub fn accepts(&self, nonce: &str) -> bool {
        self.accepts_at(nonce, crate::clock::now_secs())
    }

    pub(crate) fn issue(&self, now: u64) -> String {
        let counter = now / self.period;
        let mut raw = counter.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.tag(counter));
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub(crate) fn accepts_at(&self, nonce: &str, now: u64) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((counter, tag)) = raw.split_first_chunk::<8>() else {
            return false;
        };
        let counter = u64::from_be_bytes(*counter);
        let current = now / self.period;
        (counter == current || counter.checked_add(1) == Some(current))
            && tag.len() == TAG_LEN
            && aws_lc_rs::constant_time::verify_slices_are_equal(tag, &self.tag(counter)).is_ok()
    }

    fn tag(&self, counter: u64) -> [u8; TAG_LEN] {
        let full = hmac::sign(&self.key, &counter.to_be_bytes());
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full.as_ref()[..TAG_LEN]);
        tag
    }
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces")
            .field("period_secs", &self.period)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpop_nonces_live_one_to_two_periods_and_need_the_secret() {
        let n = DpopNonces::new([1u8; 32], Duration::from_secs(60)).unwrap();
        let issued = n.issue(1_000);
        assert!(n.accepts_at(&issued, 1_000));
        assert!(n.accepts_at(&issued, 1_079));
        assert!(!n.accepts_at(&issued, 1_080));
        assert!(!n.accepts_at(&issued, 900));
        let other = DpopNonces::new([2u8; 32], Duration::from_secs(60)).unwrap();
        assert!(!other.accepts_at(&issued, 1_000));
        assert!(!n.accepts_at("", 1_000));
        assert!(!n.accepts_at(&issued[..10], 1_000));
        assert!(DpopNonces::new([1u8; 31], Duration::from_secs(60)).is_err());
        assert!(DpopNonces::new([1u8; 32], Duration::ZERO).is_err());
    }
}
