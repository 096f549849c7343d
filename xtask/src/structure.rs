//! `cargo xtask structure`: the module tree of a crate and its import cycles.
//!
//! Reads the sources (no compiler needed): every file is a module (`mod.rs` names its folder),
//! every `crate::`, `super::` and `self::` path in non-test code is an edge to the module that
//! defines it (a name re-exported at the crate root is followed to the module it comes from).
//! Edges a module has to its own descendants (declaring and re-exporting children) are structure,
//! not imports, and the crate root only re-exports. A cycle is a strongly connected group of two
//! or more modules; the same check runs on the top-level folders (the layers).
//!
//! The file check sees what the module check leaves out: a file's code that uses its own child
//! modules (`engine/mod.rs` calling `dpop::..` or `crate::engine::validation::now_secs`) is an
//! edge too, re-exports (`pub use`) and `mod` declarations aside. A child that uses its parent's
//! file while the parent uses the child is a file cycle: two files that can only change together.
//! The last line is the longest function of the crate's non-test code, in lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a function of the crate may be, in lines: a longer one reads as one block instead
/// of its steps.
const MAX_FUNCTION_LINES: usize = 70;

/// A module: its path (`authz::routes::table`), file and line count.
struct Module {
    file: PathBuf,
    lines: usize,
    /// Code without comments and without the trailing `#[cfg(test)]` module.
    code: String,
}

/// One source file of a crate: its module path (`authz::routes::table`; `lib.rs` and `mod.rs`
/// name their folder, `""` is the root), its path below `src/`, and its text.
pub(crate) struct SourceFile {
    pub(crate) module: String,
    pub(crate) file: PathBuf,
    pub(crate) text: String,
}

/// Every `.rs` file below `src`, in path order.
pub(crate) fn source_files(src: &Path) -> Result<Vec<SourceFile>, String> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).map_err(|e| e.to_string())?;
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            out.push(SourceFile {
                module: parts.join("::"),
                file: rel.to_path_buf(),
                text,
            });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

/// The text before the test module at the end of the file (`#[cfg(test)] mod tests`).
pub(crate) fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// The modules of the crate whose `src` is `src`, by path (`""` is the root).
fn modules(src: &Path) -> Result<BTreeMap<String, Module>, String> {
    Ok(source_files(src)?
        .into_iter()
        .map(|f| {
            let module = Module {
                lines: f.text.lines().count(),
                code: code_of(&f.text),
                file: f.file,
            };
            (f.module, module)
        })
        .collect())
}

/// The text without comments and without the test module at the end of the file.
fn code_of(text: &str) -> String {
    without_tests(text)
        .lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path written after `crate::`, `super::` or `self::`, resolved against `module`; a
/// grouped import (`use a::{b, c::d}`) gives the common prefix, which names the module.
fn referenced_paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            // Only a path start: not the tail of an identifier (`my_crate::`).
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let mut base: Vec<String> = match start {
                "crate::" => Vec::new(),
                _ => module
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            };
            let mut rest = &code[at..];
            // Resolve leading `super::`s.
            loop {
                if let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                } else if let Some(r) = rest.strip_prefix("self::") {
                    rest = r;
                } else if let Some(r) = rest.strip_prefix("crate::") {
                    base.clear();
                    rest = r;
                } else {
                    break;
                }
            }
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path: Vec<String> = rest[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            base.extend(path);
            out.push(base);
        }
    }
    out
}

/// Names re-exported at the root (`pub use a::b::{X, Y};`) → the module they come from.
fn root_exports(root: &Module) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = root.code.replace('\n', " ");
    for stmt in code.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim();
        let (prefix, names) = match rest.split_once("::{") {
            Some((p, n)) => (p.to_owned(), n.trim_end_matches('}').to_owned()),
            None => match rest.rsplit_once("::") {
                Some((p, n)) => (p.to_owned(), n.to_owned()),
                None => continue,
            },
        };
        for name in names.split(',') {
            let name = name.trim();
            if !name.is_empty() {
                out.insert(name.to_owned(), prefix.trim().to_owned());
            }
        }
    }
    out
}

/// The module a path lands in: its longest prefix that is a module, following root
/// re-exports.
fn owner(
    path: &[String],
    modules: &BTreeMap<String, Module>,
    exports: &BTreeMap<String, String>,
) -> Option<String> {
    if let [name, ..] = path
        && !modules.contains_key(name.as_str())
        && let Some(from) = exports.get(name)
    {
        let mut via: Vec<String> = from.split("::").map(str::to_owned).collect();
        via.extend(path[1..].iter().cloned());
        return longest_module(&via, modules);
    }
    longest_module(path, modules)
}

fn longest_module(path: &[String], modules: &BTreeMap<String, Module>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

fn is_descendant(child: &str, parent: &str) -> bool {
    parent.is_empty() || child.starts_with(&format!("{parent}::"))
}

/// Strongly connected groups of two or more modules (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(edges) = s.graph.get(v) {
            for w in edges {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.out.push(group);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Prints the module tree of the crate in `crate_dir` with each module's imports, then
/// `import cycles: N`; an error when N > 0.
pub(crate) fn run(crate_dir: &Path) -> Result<(), String> {
    let src = crate_dir.join("src");
    let modules = modules(&src)?;
    let root = modules.get("").ok_or("no src/lib.rs")?;
    let exports = root_exports(root);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, module) in &modules {
        let edges = graph.entry(name.clone()).or_default();
        if name.is_empty() {
            continue;
        }
        for path in referenced_paths(name, &module.code) {
            if let Some(target) = owner(&path, &modules, &exports)
                && target != *name
                && !target.is_empty()
                && !is_descendant(&target, name)
            {
                edges.insert(target);
            }
        }
    }
    println!(
        "{} (src/)",
        crate_dir
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    for (name, module) in &modules {
        if name.is_empty() {
            continue;
        }
        let depth = name.matches("::").count();
        let leaf = name.rsplit("::").next().unwrap_or(name);
        let uses: Vec<&str> = graph[name].iter().map(String::as_str).collect();
        println!(
            "{}{leaf}  ({}, {} lines){}",
            "  ".repeat(depth + 1),
            module.file.display(),
            module.lines,
            if uses.is_empty() {
                String::new()
            } else {
                format!(" -> {}", uses.join(", "))
            }
        );
    }
    let found = cycles(&graph);
    for group in &found {
        println!("cycle: {}", group.join(" <-> "));
    }
    println!("import cycles: {}", found.len());
    // The same at the level of the top folders (`token`, `keys`, `authz`, ...): the layers.
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_owned();
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &graph {
        let edges = folders.entry(top(from)).or_default();
        for to in targets {
            if top(to) != top(from) {
                edges.insert(top(to));
            }
        }
    }
    folders.remove("");
    let layered = cycles(&folders);
    for group in &layered {
        println!("folder cycle: {}", group.join(" <-> "));
    }
    println!("folder cycles: {}", layered.len());
    let files = file_graph(&modules, &exports);
    let file_cycles = cycles(&files);
    for group in &file_cycles {
        println!("file cycle: {}", group.join(" <-> "));
    }
    println!("file cycles: {}", file_cycles.len());
    let (longest, name, at) = longest_function(&modules);
    println!(
        "longest function in {}/src: {longest} lines ({name}, {at})",
        crate_dir
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    if longest > MAX_FUNCTION_LINES {
        return Err(format!(
            "{name} ({at}) is {longest} lines long; split it into named steps of at most {MAX_FUNCTION_LINES}"
        ));
    }
    if found.is_empty() && layered.is_empty() && file_cycles.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} import cycle(s), {} folder cycle(s) and {} file cycle(s) in {}",
            found.len(),
            layered.len(),
            file_cycles.len(),
            src.display()
        ))
    }
}

/// The files' graph: every path a file's code names (re-exports and `mod` declarations aside),
/// its own descendants and ancestors included, and bare paths through its child modules
/// (`dpop::DpopCheck` in `engine/mod.rs`).
fn file_graph(
    modules: &BTreeMap<String, Module>,
    exports: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, module) in modules {
        let edges = graph.entry(name.clone()).or_default();
        if name.is_empty() {
            continue;
        }
        let code: String = module
            .code
            .replace('\n', " ")
            .split(';')
            .filter(|stmt| {
                let mut stmt = stmt.trim_start();
                // Attributes in front of the item (`#[cfg(feature = "x")] pub use ..`).
                while let Some(rest) = stmt.strip_prefix("#[") {
                    stmt = rest.split_once(']').map_or("", |(_, r)| r).trim_start();
                }
                !(stmt.starts_with("pub use ")
                    || stmt.starts_with("pub(crate) use ")
                    || stmt.contains("mod "))
            })
            .collect::<Vec<_>>()
            .join(";");
        let mut paths = referenced_paths(name, &code);
        // Bare paths through a child module: `child::item`.
        let prefix = format!("{name}::");
        for child in modules.keys().filter_map(|m| m.strip_prefix(&prefix)) {
            if child.contains("::") {
                continue;
            }
            let needle = format!("{child}::");
            let bytes = code.as_bytes();
            let mut from = 0;
            while let Some(found) = code[from..].find(&needle) {
                let at = from + found;
                from = at + needle.len();
                let before = at.checked_sub(1).map(|i| bytes[i]);
                if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                    continue;
                }
                let mut path: Vec<String> = name.split("::").map(str::to_owned).collect();
                path.push(child.to_owned());
                paths.push(path);
            }
        }
        for path in paths {
            if let Some(target) = owner(&path, modules, exports)
                && target != *name
                && !target.is_empty()
            {
                edges.insert(target);
            }
        }
    }
    graph
}

/// The longest function (`fn` item, body included) of the non-test code: its length in lines,
/// name and `file:line`.
fn longest_function(modules: &BTreeMap<String, Module>) -> (usize, String, String) {
    let mut best = (0, String::new(), String::new());
    for module in modules.values() {
        let lines: Vec<&str> = module.code.lines().collect();
        for (start, line) in lines.iter().enumerate() {
            let Some(name) = fn_name(line) else { continue };
            if let Some(end) = body_end(&lines, start) {
                let len = end - start + 1;
                if len > best.0 {
                    best = (
                        len,
                        name.to_owned(),
                        format!("{}:{}", module.file.display(), start + 1),
                    );
                }
            }
        }
    }
    best
}

/// The name of the function a line declares, if it does (`pub(crate) async fn name<..>(`).
fn fn_name(line: &str) -> Option<&str> {
    let at = line.find("fn ")?;
    if at > 0 && !line.as_bytes()[at - 1].is_ascii_whitespace() {
        return None;
    }
    let rest = &line[at + 3..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The line where the body of the function declared at `start` closes: braces counted outside
/// string and character literals; `None` for a declaration without a body (`fn f();`).
fn body_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let mut chars = line.chars().peekable();
        let mut in_str = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' if in_str => {
                    chars.next();
                }
                '"' => in_str = !in_str,
                '\'' if !in_str => {
                    // A char literal ('{', '\'') is skipped; a lifetime ('a) is not one.
                    let rest: String = chars.clone().take(3).collect();
                    if rest.starts_with('\\') {
                        // The backslash and the escaped character, then up to the closing quote.
                        chars.next();
                        chars.next();
                        for n in chars.by_ref() {
                            if n == '\'' {
                                break;
                            }
                        }
                    } else if rest.chars().nth(1) == Some('\'') {
                        chars.next();
                        chars.next();
                    }
                }
                '{' if !in_str => {
                    depth += 1;
                    opened = true;
                }
                '}' if !in_str => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        return Some(i);
                    }
                }
                ';' if !in_str && !opened => return None,
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry((*a).into()).or_default().insert((*b).into());
            g.entry((*b).into()).or_default();
        }
        g
    }

    #[test]
    fn finds_cycles_and_only_cycles() {
        assert!(cycles(&graph(&[("a", "b"), ("b", "c")])).is_empty());
        assert_eq!(
            cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])),
            vec![vec!["a".to_owned(), "b".into(), "c".into()]]
        );
        assert_eq!(
            cycles(&graph(&[("x", "y"), ("y", "x"), ("p", "q"), ("q", "p")])).len(),
            2
        );
    }

    #[test]
    fn resolves_relative_and_grouped_paths() {
        let code = "use super::pattern::{Pattern, Segment};\nuse crate::error::ConfigError;\nlet x = self::inner::f();\nmy_crate::ignored();";
        let paths = referenced_paths("authz::routes::table", code);
        assert!(paths.contains(&vec!["authz".into(), "routes".into(), "pattern".into()]));
        assert!(paths.contains(&vec!["error".into(), "ConfigError".into()]));
        assert!(
            paths
                .iter()
                .any(|p| p.ends_with(&["inner".to_owned(), "f".into()]))
        );
        assert_eq!(paths.len(), 3);
    }

    #[test]
    fn measures_functions_and_skips_literals() {
        let code = "fn short() {}\npub(crate) async fn long<'a>(x: &'a str) {\n    let c = '{';\n    let s = \"}}\";\n    if x.is_empty() {\n    }\n}\nfn decl();\n";
        let lines: Vec<&str> = code.lines().collect();
        assert_eq!(fn_name(lines[1]), Some("long"));
        assert_eq!(body_end(&lines, 0), Some(0));
        assert_eq!(body_end(&lines, 1), Some(6));
        assert_eq!(body_end(&lines, 7), None);
        assert_eq!(fn_name("let f = |x| x;"), None);
    }

    #[test]
    fn comments_and_tests_are_not_code() {
        let code = code_of(
            "use crate::a; // crate::b\n/// [`crate::c`]\nfn f() {}\n#[cfg(test)]\nmod tests { use crate::d; }\n",
        );
        assert!(code.contains("crate::a") && !code.contains("crate::b"));
        assert!(!code.contains("crate::c") && !code.contains("crate::d"));
    }
}
