//! `cargo xtask features`: every feature of every library crate built alone (no default
//! features, that one feature on), and each crate with none at all, so that a feature that only
//! compiles beside another (a missing `dep:` or `cfg`) fails here rather than for a user.
//!
//! An adapter feature that only forwards a jwt-core feature (`redis = ["jwt-core/redis"]`) and
//! that the adapter's own code never names in a `cfg` builds exactly when the adapter with no
//! feature builds and jwt-core with that feature builds (features are additive; the adapter's
//! code is the same either way): both are checked, so it is reported as covered, not compiled
//! again (each such check cost CI about 20 s of dependency checking under another feature set).

use std::path::Path;
use std::process::Command;

/// The library crates whose features are checked.
const CRATES: [&str; 5] = ["jwt-core", "jwt-axum", "jwt-actix", "jwt-poem", "jwt-warp"];

/// Whether `feature` of the crate at `dir` only forwards jwt-core's feature of the same name and
/// the crate's sources never mention it (`feature = "<name>"`).
fn only_forwards(dir: &Path, manifest: &str, feature: &str) -> bool {
    let forwarded = format!("{feature} = [\"jwt-core/{feature}\"]");
    if !manifest.lines().any(|l| l.trim() == forwarded) {
        return false;
    }
    let named = format!("feature = \"{feature}\"");
    let Ok(files) = std::fs::read_dir(dir.join("src")) else {
        return false;
    };
    files
        .flatten()
        .all(|f| std::fs::read_to_string(f.path()).is_ok_and(|text| !text.contains(&named)))
}

/// The features a crate's `Cargo.toml` declares (its `[features]` table, `default` aside).
pub(crate) fn features_of(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[features]";
            continue;
        }
        if !inside || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && name != "default" {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// Checks every crate with no feature, then with each feature alone; prints one line per check
/// and `features: N checked, F failed`.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let mut failed = Vec::new();
    let mut checked = 0;
    for krate in CRATES {
        let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml"))
            .map_err(|e| format!("{krate}/Cargo.toml: {e}"))?;
        let sets = std::iter::once(None).chain(features_of(&manifest).into_iter().map(Some));
        for feature in sets {
            if let Some(f) = &feature
                && krate != "jwt-core"
                && only_forwards(&root.join(krate), &manifest, f)
            {
                println!(
                    "{krate} {f}: forwards jwt-core/{f} (covered: checked there and with no feature here)"
                );
                continue;
            }
            let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cmd.current_dir(root)
                .args(["check", "--quiet", "-p", krate, "--no-default-features"]);
            if let Some(f) = &feature {
                cmd.args(["--features", f]);
            }
            let label = format!("{krate} {}", feature.as_deref().unwrap_or("(no features)"));
            let out = cmd.output().map_err(|e| format!("cargo check: {e}"))?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            // A warning only this feature set shows (an unused import behind a `cfg`) is a
            // defect too: clippy runs with every feature on and never sees it.
            let warned = stderr.lines().any(|l| l.starts_with("warning:"));
            let ok = out.status.success() && !warned;
            checked += 1;
            println!("{label}: {}", if ok { "ok" } else { "FAILED" });
            if !ok {
                eprint!("{stderr}");
            }
            if !ok {
                failed.push(label);
            }
        }
    }
    println!("features: {checked} checked, {} failed", failed.len());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "features that do not build alone: {}",
            failed.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_features_table_only() {
        let manifest = "[package]\nname = \"x\"\n\n[features]\ndefault = [\"a\"]\n## docs\na = []\nb-c = [\"dep:d\"]\n\n[dependencies]\nd = \"1\"\n";
        assert_eq!(features_of(manifest), ["a", "b-c"]);
    }
}
