//! The peers measured beside ours in `bench http`: `peer-server` from `xtask/peers`, a workspace
//! of its own (the peers' `jsonwebtoken` versions and crypto backends stay out of ours), built
//! with its committed lockfile into our target directory.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, target_dir};

/// One peer: `peer-server --peer <name>`.
pub(super) struct Peer {
    /// `peer-server --peer`.
    pub(super) name: &'static str,
    /// The crate, the framework version it runs on and how it verifies.
    pub(super) label: &'static str,
}

/// The peers, in the order the report shows them.
pub(super) const PEERS: [Peer; 3] = [
    Peer {
        name: "axum-jwt-auth",
        label: "axum-jwt-auth 0.7 (axum 0.8, jsonwebtoken 10 on RustCrypto)",
    },
    Peer {
        name: "jwt-authorizer",
        label: "jwt-authorizer 0.15 (axum 0.7, jsonwebtoken 9 on ring)",
    },
    Peer {
        name: "actix-web-httpauth",
        label: "actix-web-httpauth 0.8 + jsonwebtoken 11 validator",
    },
];

/// Builds `peer-server` (release, `--locked`) and returns its path.
pub(super) fn build() -> Result<PathBuf, String> {
    let manifest = root().join("xtask/peers/Cargo.toml");
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(&manifest)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --manifest-path {} failed",
            manifest.display()
        ));
    }
    Ok(target_dir().join("release/peer-server"))
}
