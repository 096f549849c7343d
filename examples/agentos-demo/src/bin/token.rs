//! `demo-token`: mints a token with the demo's keys (what `cargo xtask token` runs).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use agentos_demo::AlgArg;
use agentos_demo::keys::DemoKeys;
use clap::Parser;
use serde_json::{Map, Value, json};

/// Mint a token signed with the demo's keys.
#[derive(Parser)]
#[command(name = "cargo xtask token")]
struct Args {
    /// The subject (user id).
    #[arg(long, default_value = "alice")]
    sub: String,
    /// Space-delimited scopes, e.g. "agents:read agents:agent-1:run".
    #[arg(long, default_value = "")]
    scopes: String,
    /// A session id claim.
    #[arg(long)]
    session_id: Option<String>,
    /// An audience claim (the demo's OS id with --verify-audience).
    #[arg(long)]
    aud: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// The signing algorithm (the demo must run with the same --alg).
    #[arg(long, value_enum, default_value = "RS256")]
    alg: AlgArg,
    /// The demo's data directory.
    #[arg(long, default_value = "demo-data")]
    data_dir: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let keys = match DemoKeys::load_or_generate(&args.data_dir) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("demo-token: {e}");
            return ExitCode::FAILURE;
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(args.sub));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + args.ttl));
    let scopes: Vec<&str> = args.scopes.split_ascii_whitespace().collect();
    claims.insert("scopes".into(), json!(scopes));
    if let Some(s) = args.session_id {
        claims.insert("session_id".into(), json!(s));
    }
    if let Some(a) = args.aud {
        claims.insert("aud".into(), json!(a));
    }
    match keys.mint(args.alg.algorithm(), &Value::Object(claims)) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo-token: {e}");
            ExitCode::FAILURE
        }
    }
}
