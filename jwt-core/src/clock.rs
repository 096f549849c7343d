//! The clock: one reading of the time for every check (token times, DPoP proofs and nonces,
//! revocation and replay windows, log rate limits), so that all of them agree and a test or a
//! platform port changes it in one place.

/// Seconds since the Unix epoch.
///
/// On Linux the coarse real-time clock: it is read from the vDSO without touching a hardware
/// counter (several times cheaper than `SystemTime::now` on virtual machines). It trails the
/// real time by less than its resolution (a few milliseconds), which is added back so the
/// result is never earlier than the precise clock's: a token issued this second is not read as
/// issued in the future. `exp`, `nbf` and `iat` are whole seconds, far coarser than either.
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

    #[test]
    fn the_clock_is_never_behind_the_precise_one() {
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
                ours >= before && ours <= after + 1,
                "{before} {ours} {after}"
            );
        }
    }
}
