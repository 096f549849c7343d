//! The many-distinct-tokens run: a pool of HS256 tokens minted once by bench-server
//! (`--mint-tokens`), and a wrk script that sends every request with the next token of a window
//! of the pool, so that no server is ever sent a token twice and its token cache never hits.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Tokens a wrk run gets per second of load: above any rate bench-server reaches on this
/// machine with a signature to check (about 50 000 req/s); a run that still takes more fails
/// instead of reusing a token.
const PER_SECOND: u64 = 100_000;
/// Requests wrk may have sent but not seen answered when it stops (one per connection, `-c32`):
/// they used a token too.
const IN_FLIGHT: u64 = 32;

/// wrk's script: `init` reads `count` tokens from line `first` on (every line has the same
/// length, so it seeks there) and formats each request once; `request` hands them out in
/// order. The window is never wrapped around: [`TokenPool::advance`] fails a run that may have
/// used more than its window.
const SCRIPT: &str = r#"-- Written by `cargo xtask bench http`: every request carries the next token of a window.
local requests = {}
local next_request = 0

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local width = #file:read("*l") + 1
  local first, count = tonumber(args[2]), tonumber(args[3])
  assert(file:seek("set", first * width))
  for _ = 1, count do
    local token = file:read("*l")
    if not token then break end
    requests[#requests + 1] = wrk.format(nil, nil, { Authorization = "Bearer " .. token })
  end
  file:close()
  assert(#requests == count, "the token file is shorter than the window")
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
"#;

/// The minted tokens and the script that sends them.
pub(super) struct TokenPool {
    tokens: PathBuf,
    script: PathBuf,
    count: u64,
}

/// Where one server is in the pool: every server starts at the pool's first token (each has its
/// own cache) and never goes back.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cursor {
    used: u64,
    window: u64,
}

impl TokenPool {
    /// Tokens for a server measured `seconds` (after `warm_up` seconds), in slices of
    /// `slice_seconds`.
    pub(super) fn size(seconds: u32, warm_up: u32, slice_seconds: u32) -> u64 {
        let runs = u64::from(1 + seconds.div_ceil(slice_seconds));
        PER_SECOND * u64::from(seconds + warm_up) + runs * IN_FLIGHT
    }

    /// Has bench-server mint `count` tokens into `dir`.
    pub(super) fn mint(
        bench_server: &Path,
        keys_dir: &Path,
        dir: &Path,
        count: u64,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tokens = dir.join("distinct-hs256.tokens");
        let script = dir.join("distinct-tokens.lua");
        std::fs::write(&script, SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
        let status = Command::new(bench_server)
            .arg("--mint-tokens")
            .arg(count.to_string())
            .arg("--tokens-out")
            .arg(&tokens)
            .arg("--keys-dir")
            .arg(keys_dir)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("{}: {e}", bench_server.display()))?;
        if !status.success() {
            return Err(format!("bench-server --mint-tokens {count} failed"));
        }
        Ok(Self {
            tokens,
            script,
            count,
        })
    }

    /// wrk's arguments for a run of `seconds` from `cursor`: the options before the URL and the
    /// script's arguments after it. Fails when the pool has no window that large left.
    pub(super) fn wrk_args(
        &self,
        cursor: &mut Cursor,
        seconds: u32,
    ) -> Result<([OsString; 2], [OsString; 4]), String> {
        let window = (PER_SECOND * u64::from(seconds)).min(self.count - cursor.used);
        if window <= IN_FLIGHT {
            return Err(format!(
                "the pool of {} distinct tokens is used up: run with fewer --seconds",
                self.count
            ));
        }
        cursor.window = window;
        Ok((
            ["-s".into(), self.script.clone().into_os_string()],
            [
                "--".into(),
                self.tokens.clone().into_os_string(),
                cursor.used.to_string().into(),
                window.to_string().into(),
            ],
        ))
    }

    /// After a run that completed `completed` requests: moves `cursor` past every token it may
    /// have sent, or fails when it may have sent more than its window (a token twice).
    pub(super) fn advance(cursor: &mut Cursor, completed: u64) -> Result<(), String> {
        let sent = completed + IN_FLIGHT;
        if sent > cursor.window {
            return Err(format!(
                "a run may have sent {sent} requests from a window of {} distinct tokens: some token went twice",
                cursor.window
            ));
        }
        cursor.used += sent;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_never_reuses_a_token() {
        let pool = TokenPool {
            tokens: "t".into(),
            script: "s".into(),
            count: TokenPool::size(2, 1, 1),
        };
        let mut cursor = Cursor::default();
        let (_, args) = pool.wrk_args(&mut cursor, 1).unwrap();
        assert_eq!(args[2], "0");
        assert_eq!(args[3], "100000");
        TokenPool::advance(&mut cursor, 60_000).unwrap();
        let (_, args) = pool.wrk_args(&mut cursor, 1).unwrap();
        assert_eq!(args[2], "60032");
        // More answers than the window allows: a token may have gone twice.
        assert!(TokenPool::advance(&mut cursor, 99_990).is_err());
        // The pool runs out rather than wrapping around.
        let mut cursor = Cursor {
            used: pool.count - 10,
            window: 0,
        };
        assert!(pool.wrk_args(&mut cursor, 1).is_err());
    }
}
