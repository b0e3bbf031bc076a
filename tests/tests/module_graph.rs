//! The module graphs of `core/src`, `api/src` and `host/src` are acyclic (ARCHITECTURE.md's
//! layers). Each crate's top-level modules are the nodes, a submodule counting as part of
//! its top-level module; an edge is a `crate::<name>` path (or a `super::` path that climbs
//! to the crate root) in one module's code naming another. Comments and doc comments do
//! not count: the files are read as Rust tokens, where doc comments are string literals.
//! A name the crate root re-exports (`pub use env::Env`) counts as its module; an item
//! defined in the root itself counts as the node `crate` (the root's own code, which
//! declares the modules, is not read).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Top-level module name -> the modules its code names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The name of the node for items defined in the crate root.
const ROOT: &str = "crate";

fn tokens(path: &Path) -> Vec<TokenTree> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let stream = TokenStream::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    stream.into_iter().collect()
}

fn is_ident(tree: Option<&TokenTree>, name: &str) -> bool {
    matches!(tree, Some(TokenTree::Ident(i)) if i == name)
}

fn is_path_sep(trees: &[TokenTree], at: usize) -> bool {
    let colon =
        |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    colon(trees.get(at)) && colon(trees.get(at + 1))
}

/// The first identifier of each comma-separated entry of a `use` group.
fn group_heads(group: &TokenStream) -> Vec<String> {
    let trees: Vec<TokenTree> = group.clone().into_iter().collect();
    let mut heads = Vec::new();
    let mut at_start = true;
    for tree in &trees {
        match tree {
            TokenTree::Punct(p) if p.as_char() == ',' => at_start = true,
            TokenTree::Ident(i) if at_start => {
                heads.push(i.to_string());
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    heads
}

/// Every name `crate::` (or enough `super::`s to reach the root) is followed by, in
/// `trees`, whose module sits `depth` levels below the root.
fn crate_names(trees: &[TokenTree], depth: usize, out: &mut Vec<String>) {
    let mut i = 0;
    while i < trees.len() {
        let mut climbs = None;
        if is_ident(trees.get(i), "crate") && is_path_sep(trees, i + 1) {
            climbs = Some(i + 3);
        } else if is_ident(trees.get(i), "super")
            && !is_ident(trees.get(i.wrapping_sub(2)), "super")
        {
            let mut j = i;
            let mut ups = 0;
            while is_ident(trees.get(j), "super") && is_path_sep(trees, j + 1) {
                ups += 1;
                j += 3;
            }
            if ups == depth {
                climbs = Some(j);
            }
        }
        if let Some(next) = climbs {
            match trees.get(next) {
                Some(TokenTree::Ident(name)) => out.push(name.to_string()),
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    out.extend(group_heads(&g.stream()));
                }
                _ => {}
            }
        }
        if let Some(TokenTree::Group(g)) = trees.get(i) {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let nested = i >= 2 && is_ident(trees.get(i - 2), "mod");
            crate_names(&inner, if nested { depth + 1 } else { depth }, out);
        }
        i += 1;
    }
}

/// The crate root's `mod` declarations, and the names its `pub use`s re-export from them.
fn root_items(root: &Path) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let trees = tokens(root);
    let mut modules = BTreeSet::new();
    let mut exports = BTreeMap::new();
    for (i, tree) in trees.iter().enumerate() {
        if is_ident(Some(tree), "mod") {
            if let (Some(TokenTree::Ident(name)), Some(TokenTree::Punct(p))) =
                (trees.get(i + 1), trees.get(i + 2))
            {
                if p.as_char() == ';' {
                    modules.insert(name.to_string());
                }
            }
        }
    }
    for (i, tree) in trees.iter().enumerate() {
        if !is_ident(Some(tree), "use") {
            continue;
        }
        let Some(TokenTree::Ident(module)) = trees.get(i + 1) else {
            continue;
        };
        let end = trees[i..]
            .iter()
            .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ';'));
        let item = &trees[i..i + end.unwrap_or(trees.len() - i)];
        // The last identifier of each leaf path is the name the root exports.
        let text = TokenStream::from_iter(item.iter().cloned()).to_string();
        for leaf in text.split([',', '{', '}']) {
            let name = leaf.split_whitespace().last().unwrap_or("");
            if !name.is_empty() && name != ":" && !name.ends_with(':') {
                exports.insert(name.to_string(), module.to_string());
            }
        }
    }
    (modules, exports)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()).unwrap_or_default())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level-module graph of the library whose root is `src/lib.rs`.
fn graph(src: &Path) -> Graph {
    let root = src.join("lib.rs");
    let (modules, exports) = root_items(&root);
    assert!(!modules.is_empty(), "{}: no modules", root.display());
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let top = parts[0].trim_end_matches(".rs").to_string();
        if !modules.contains(&top) {
            // The crate root, or a binary's root (`main.rs`), which no module can name.
            continue;
        }
        let depth = parts.len() - usize::from(parts.last().is_some_and(|p| p == "mod.rs"));
        let mut names = Vec::new();
        crate_names(&tokens(&file), depth, &mut names);
        let edges = graph.entry(top.clone()).or_default();
        for name in names {
            let target = if modules.contains(&name) {
                name
            } else if let Some(module) = exports.get(&name) {
                if !modules.contains(module) {
                    // A re-exported dependency (`pub use incident_api as api`).
                    continue;
                }
                module.clone()
            } else {
                ROOT.to_string()
            };
            if target != top {
                edges.insert(target);
            }
        }
    }
    for module in &modules {
        assert!(
            graph.contains_key(module),
            "{}: no file of module {module}",
            src.display()
        );
    }
    graph
}

/// A cycle of `graph`, as the path of modules around it, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut found = path[start..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn describe(graph: &Graph) -> String {
    graph
        .iter()
        .map(|(node, edges)| {
            format!(
                "  {node} -> {}",
                edges.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_acyclic(crate_dir: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("src");
    let graph = graph(&src);
    assert!(
        graph.values().any(|edges| !edges.is_empty()),
        "{crate_dir}/src: no module names another"
    );
    if let Some(found) = cycle(&graph) {
        panic!(
            "{crate_dir}/src has a module cycle: {}\nits graph:\n{}",
            found.join(" -> "),
            describe(&graph)
        );
    }
}

#[test]
fn the_core_modules_form_a_dag() {
    assert_acyclic("core");
}

#[test]
fn the_api_modules_form_a_dag() {
    assert_acyclic("api");
}

#[test]
fn the_host_modules_form_a_dag() {
    assert_acyclic("host");
}

/// The names `crate_names` finds in `source`, a file `depth` levels below the root.
fn names_in(source: &str, depth: usize) -> Vec<String> {
    let trees: Vec<TokenTree> = TokenStream::from_str(source)
        .expect("tokens")
        .into_iter()
        .collect();
    let mut names = Vec::new();
    crate_names(&trees, depth, &mut names);
    names
}

#[test]
fn a_cycle_is_found() {
    // Goal: the checker itself sees a two-module circle written the ways the crates write
    // their paths (a `use` group, a full path, a `super::` from a submodule), and ignores
    // the same names in comments and doc comments.
    let a = "/// crate::b::X in a doc comment\nuse crate::{b::X, c};";
    let b = "// crate::a in a comment\nfn f() { super::a::g() }";
    assert_eq!(names_in(a, 1), ["b", "c"]);
    assert_eq!(names_in(b, 1), ["a"]);
    // An inline module climbs one `super` more to the root.
    let nested = "mod tests { fn g() { super::super::d::h(); super::e(); crate::{f, g::h}; } }";
    assert_eq!(names_in(nested, 1), ["d", "f", "g"]);
    let graph: Graph = [("a", ["b"]), ("b", ["a"])]
        .into_iter()
        .map(|(n, e)| (n.to_string(), e.into_iter().map(String::from).collect()))
        .collect();
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
