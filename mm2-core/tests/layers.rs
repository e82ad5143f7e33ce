//! mm2-core's top-level modules form layers: each imports only modules below it, so a use case can
//! be read bottom-up and no refactor can quietly tie two features together again (issue 12 found
//! `lag ↔ mm2` and `mm2 ↔ topology` tied through their submodules). This test reads the sources,
//! builds the graph of `crate::<module>` references between top-level modules (doc links count:
//! a link to a higher layer is a dependency of the reader too) and fails on any cycle, naming the
//! files that close it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level module of a file under `src/` (`mm2/state.rs` → `mm2`, `topology/mod.rs` → `topology`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next().expect("non-empty path");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<ident>` in `text`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        // `mm2_core::crate::` cannot occur; `$crate::` (macros) refers to this crate too.
        let ident: String = text[i + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !ident.is_empty() {
            refs.insert(ident);
        }
    }
    refs
}

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// module → (module it references → files that reference it).
fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| top_module(&src, f)).collect();
    let mut graph = Graph::new();
    for file in &files {
        let from = top_module(&src, file);
        let text = fs::read_to_string(file).expect("read source");
        for to in crate_refs(&text) {
            if to != from && modules.contains(&to) {
                let rel = file.strip_prefix(&src).unwrap().display().to_string();
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(rel);
            }
        }
    }
    graph
}

/// A cycle through `start`, if one exists (depth-first search over the graph).
fn cycle_from(graph: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &Graph,
        node: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    walk(graph, start, start, &mut path, &mut seen).then_some(path)
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let graph = module_graph();
    assert!(
        graph.contains_key("mm2"),
        "the scan found mm2-core's modules: {graph:?}"
    );
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module) {
            let mut why = String::new();
            for (i, from) in cycle.iter().enumerate() {
                let to = &cycle[(i + 1) % cycle.len()];
                let files = &graph[from][to];
                why.push_str(&format!(
                    "\n  {from} -> {to} (in {})",
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            panic!("import cycle among mm2-core's top-level modules:{why}");
        }
    }
}

#[test]
fn the_scan_sees_a_cycle_when_there_is_one() {
    // The detector itself: a graph with a → b → a must report it, a → b alone must not.
    let mut graph = Graph::new();
    graph
        .entry("a".into())
        .or_default()
        .entry("b".into())
        .or_default();
    assert_eq!(cycle_from(&graph, "a"), None);
    graph
        .entry("b".into())
        .or_default()
        .entry("a".into())
        .or_default();
    assert_eq!(
        cycle_from(&graph, "a"),
        Some(vec!["a".to_string(), "b".to_string()])
    );
    assert_eq!(
        crate_refs("use crate::lag::x; see [`crate::mm2`] and $crate::terminal"),
        BTreeSet::from(["lag".to_string(), "mm2".to_string(), "terminal".to_string()])
    );
}
