//! `demo-keys`: (re)generates the demo's keys (what `cargo xtask keys` runs).

use std::path::PathBuf;
use std::process::ExitCode;

use agentos_demo::keys::{DemoKeys, JWKS_FILE};
use clap::Parser;

/// Regenerate the demo's HS256 secret, RSA and EC key pairs and JWKS file.
#[derive(Parser)]
#[command(name = "cargo xtask keys")]
struct Args {
    /// The demo's data directory.
    #[arg(long, default_value = "demo-data")]
    data_dir: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match DemoKeys::generate(&args.data_dir) {
        Ok(()) => {
            println!(
                "new keys in {} (hs256.secret, rsa.key, ec.key, {JWKS_FILE}); tokens minted before are now invalid",
                args.data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo-keys: {e}");
            ExitCode::FAILURE
        }
    }
}
