//! `cargo xtask api`: the public surface of each library crate, one item per line, so that a
//! change to it shows up in review as a diff of `api/<crate>.txt`.
//!
//! Reads the sources: every `pub` item (not `pub(crate)`, not `pub(super)`) outside test modules,
//! with its module path and its signature up to the body. The crates deny `unreachable_pub`, so
//! every such item is reachable from outside. `cargo xtask api --bless` rewrites the snapshots;
//! the test `api_snapshots_are_current` fails when they are stale.

use std::path::Path;

use crate::structure::{source_files, without_tests};

/// The crates whose surface is a promise.
pub(crate) const LIBRARY_CRATES: [&str; 5] =
    ["jwt-core", "jwt-axum", "jwt-actix", "jwt-poem", "jwt-warp"];

/// The listing of the crate in `crate_dir`.
pub(crate) fn listing(crate_dir: &Path) -> Result<String, String> {
    let mut out = Vec::new();
    for file in source_files(&crate_dir.join("src"))? {
        for item in public_items(&file.text) {
            out.push(if file.module.is_empty() {
                item
            } else {
                format!("{}: {item}", file.module)
            });
        }
    }
    Ok(out.join("\n") + "\n")
}

/// The public items of one file, each as its signature on one line.
fn public_items(text: &str) -> Vec<String> {
    let lines: Vec<&str> = without_tests(text).lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        let exported_macro = line.starts_with("macro_rules!")
            && i > 0
            && lines[i - 1].trim_start().starts_with("#[macro_export]");
        if line.starts_with("pub ") || exported_macro {
            // The signature runs to the first `{` or `;` at the end of a line.
            let mut sig = String::new();
            let mut j = i;
            loop {
                let part = lines[j].trim();
                if !sig.is_empty() {
                    sig.push(' ');
                }
                sig.push_str(part);
                let done = part.ends_with('{') || part.ends_with(';') || part.ends_with('}');
                if done || j + 1 == lines.len() || j - i > 30 {
                    break;
                }
                j += 1;
            }
            // A body (or a struct's fields) is not the signature; a grouped `use` is.
            let sig = match sig.find('{') {
                Some(at) if !sig.starts_with("pub use") => &sig[..at],
                _ => sig.as_str(),
            };
            let sig = sig.trim_end_matches(';').trim().to_owned();
            out.push(sig);
            i = j + 1;
            continue;
        }
        i += 1;
    }
    out
}

/// Prints every library crate's listing, or (`bless`) writes them to `api/<crate>.txt`.
pub(crate) fn run(root: &Path, bless: bool) -> Result<(), String> {
    for krate in LIBRARY_CRATES {
        let text = listing(&root.join(krate))?;
        if bless {
            let dir = root.join("api");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let path = dir.join(format!("{krate}.txt"));
            std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {} ({} items)", path.display(), text.lines().count());
        } else {
            println!("== {krate} ({} items)", text.lines().count());
            print!("{text}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_signatures_without_bodies() {
        let text = "pub struct A;\npub(crate) fn hidden() {}\npub fn f(\n    x: u8,\n) -> u8 {\n    x\n}\nimpl A {\n    pub fn g(&self) {}\n}\n#[macro_export]\nmacro_rules! m {\n}\n#[cfg(test)]\nmod tests {\n    pub fn not_api() {}\n}\n";
        assert_eq!(
            public_items(text),
            [
                "pub struct A",
                "pub fn f( x: u8, ) -> u8",
                "pub fn g(&self)",
                "macro_rules! m"
            ]
        );
    }

    /// The committed `api/<crate>.txt` match the sources: a change to the public surface comes
    /// with its snapshot (`cargo xtask api --bless`), so reviewers see it.
    #[test]
    fn api_snapshots_are_current() {
        let root = crate::root();
        for krate in LIBRARY_CRATES {
            let now = listing(&root.join(krate)).unwrap();
            let path = root.join("api").join(format!("{krate}.txt"));
            let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (run `cargo xtask api --bless`)", path.display())
            });
            assert!(
                now == committed,
                "the public API of {krate} changed; review it and run `cargo xtask api --bless`"
            );
        }
    }
}
