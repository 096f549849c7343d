//! Starts and stops a real `redis-server` on 127.0.0.1 for the `redis_` tests (shared by the
//! crates that test the Redis store, via `#[path]`): a free port, no persistence, killed on drop;
//! [`RedisServer::stop`] and [`RedisServer::restart`] for outage tests.
//!
//! `redis-server` missing: the test is skipped with a message, except when `CI` is set, where it
//! fails (`.ci/run` installs and starts nothing itself for these: each test starts its own).

#![allow(dead_code, unreachable_pub)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether `redis-server` can run here: `false` (with a message on stderr) only when it is not
/// installed and `CI` is not set; panics in CI.
pub fn redis_ready() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if in_ci() {
            panic!("CI is set but `redis-server` is not installed (see .ci/run)");
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: redis-server not found (apt-get install redis-server)"
        );
    }
    found
}

/// A running `redis-server`, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers `PING`.
    pub fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut server = RedisServer { child: None, port };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (an outage); data is lost, as after a crash without persistence.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.command("PING").is_some_and(|r| r.starts_with("+PONG")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer on port {}", self.port);
    }

    /// Sends one inline command and returns the first reply line, `None` when the server is not
    /// reachable.
    pub fn command(&self, line: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(format!("{line}\r\n").as_bytes()).ok()?;
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
