//! The clock: one reading of the time for every check (token times, DPoP proofs and nonces,
//! revocation and replay windows, log rate limits), so that all of them agree and a test or a
//! platform port changes it in one place.

/// Seconds since the Unix epoch.
///
/// On Linux the coarse real-time clock: it is read from the vDSO without touching a hardware
/// counter (several times cheaper than `SystemTime::now` on virtual machines). It trails the
/// real time by about its resolution (a few milliseconds), which is added back; a busy or
/// tickless machine can delay its update a little more, so a reading may still fall in the
/// second before the precise clock's. Every check allows for that: `exp`, `nbf` and `iat` are
/// whole seconds compared with a leeway (10 s by default), DPoP proofs with a clock skew.
pub(crate) fn now_secs() -> u64 {
    #[cfg(target_os = "linux")]
    {
        use rustix::time::{ClockId, Timespec, clock_getres, clock_gettime};
        static RESOLUTION: std::sync::OnceLock<Timespec> = std::sync::OnceLock::new();
        let res = RESOLUTION.get_or_init(|| clock_getres(ClockId::RealtimeCoarse));
        let now = clock_gettime(ClockId::RealtimeCoarse);
        let nanos = now.tv_nsec.saturating_add(res.tv_nsec);
        let carry = i64::from(nanos >= 1_000_000_000).saturating_add(res.tv_sec);
        u64::try_from(now.tv_sec.saturating_add(carry)).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Never more than a second from the precise clock, either way (the coarse clock's update
    /// can lag under load; see `now_secs`).
    #[test]
    fn the_clock_follows_the_precise_one() {
        for _ in 0..1000 {
            let before = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let ours = now_secs();
            let after = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert!(
                ours + 1 >= before && ours <= after + 1,
                "{before} {ours} {after}"
            );
        }
    }
}
