//! The example targets built without a test harness (`test = false` in their `Cargo.toml`):
//! `cargo test` links no test binary for them (CI links about fifty; each of these would link
//! aws-lc and web frameworks to run zero tests). That is only sound while they hold no test, so
//! this check fails when one of their sources does: a test there would never run.

use std::path::{Path, PathBuf};

/// The workspace members whose targets may turn the harness off.
const MEMBERS: [&str; 4] = [
    "examples/agentos-demo",
    "examples/grpc-demo",
    "examples/hyper-adapter",
    "examples/mcp-server",
];

/// What marks a test in Rust source.
const TEST_MARKS: [&str; 6] = [
    "#[test]",
    "#[tokio::test",
    "#[cfg(test)]",
    "#[actix_web::test]",
    "#[actix_rt::test]",
    "#[rstest",
];

/// The source files of `member`'s harness-less targets: a `[[bin]]` with `test = false` is its
/// `path`; a `[lib]` with `test = false` is every file under `src/` but the bins' and `main.rs`.
fn harnessless_sources(dir: &Path, manifest: &str) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut bins = Vec::new();
    for table in manifest.split("\n[").skip(1) {
        let (head, body) = table.split_once('\n').unwrap_or((table, ""));
        let value = |key: &str| {
            body.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        };
        let off = value("test").as_deref() == Some("false");
        match head.trim() {
            "[bin]]" => {
                // Without a `path`, cargo takes `src/bin/<name>.rs` (or `src/main.rs`).
                let path = value("path").unwrap_or_else(|| {
                    let named = format!("src/bin/{}.rs", value("name").unwrap_or_default());
                    if dir.join(&named).is_file() {
                        named
                    } else {
                        "src/main.rs".into()
                    }
                });
                bins.push(dir.join(&path));
                if off {
                    out.push(dir.join(path));
                }
            }
            "lib]" if off => out.push(dir.join("src")),
            _ => {}
        }
    }
    let mut files = Vec::new();
    for path in out {
        if path.is_dir() {
            let mut stack = vec![path];
            while let Some(dir) = stack.pop() {
                let entries =
                    std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|e| e == "rs")
                        && !bins.contains(&p)
                        && !p.ends_with("src/main.rs")
                        && !p.components().any(|c| c.as_os_str() == "bin")
                    {
                        files.push(p);
                    }
                }
            }
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

/// The harness-less source files of the members at `dirs`, and those of them holding a test.
fn scan(dirs: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<String>), String> {
    let mut files = Vec::new();
    for dir in dirs {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
            .map_err(|e| format!("{}/Cargo.toml: {e}", dir.display()))?;
        files.extend(harnessless_sources(dir, &manifest)?);
    }
    let mut holding = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        if TEST_MARKS.iter().any(|mark| text.contains(mark)) {
            holding.push(file.display().to_string());
        }
    }
    Ok((files, holding))
}

/// Fails when a harness-less target's source holds a test; prints how many files were checked.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let dirs: Vec<PathBuf> = MEMBERS.iter().map(|m| root.join(m)).collect();
    let (files, holding) = scan(&dirs)?;
    println!(
        "harness-less example targets: {} source files, {} holding a test",
        files.len(),
        holding.len()
    );
    if holding.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "a target built with `test = false` holds tests that would never run: {}",
            holding.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_in_a_harnessless_target_is_found() {
        let dir = std::env::temp_dir().join(format!("xtask-harnessless-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src/bin")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"x\"\n\n[lib]\ntest = false\n\n[[bin]]\nname = \"a\"\npath = \"src/bin/a.rs\"\ntest = false\n\n[[bin]]\nname = \"b\"\npath = \"src/bin/b.rs\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
        std::fs::write(
            dir.join("src/bin/a.rs"),
            "fn main() {}\n#[test]\nfn t() {}\n",
        )
        .unwrap();
        // b keeps its harness: its tests run, so they are no finding.
        std::fs::write(
            dir.join("src/bin/b.rs"),
            "fn main() {}\n#[test]\nfn t() {}\n",
        )
        .unwrap();
        let (files, holding) = scan(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(holding.len(), 1, "{holding:?}");
        assert!(holding[0].ends_with("src/bin/a.rs"));
        std::fs::write(dir.join("src/lib.rs"), "#[cfg(test)]\nmod tests {}\n").unwrap();
        assert_eq!(scan(std::slice::from_ref(&dir)).unwrap().1.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
