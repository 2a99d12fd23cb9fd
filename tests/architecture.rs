//! The layering, enforced. Every `crate::` path in `src/` (in `use` lines, brace groups and
//! paths in code) names the top-level module it reaches into; each module may reach only the
//! modules [`LAYERS`] allows it, and those must sit below it in the table, so the modules form
//! a stack without cycles. The pure core (no network, no database, no async runtime) is also
//! held to the crates it may not use. A failure names the file, the line and what to do.
//!
//! Reads the source tree only; no build artefacts, no network.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top: a module, the modules it may use, and why it sits where it does. A module
/// may use only modules listed before it.
const LAYERS: &[(&str, &[&str], &str)] = &[
    // The pure core: the domain as data and arithmetic. No IO beyond reading a given file.
    ("cause", &[], "reading an error's chain of causes"),
    ("nik", &[], "NIK syntax and masking"),
    ("topology", &[], "the declared network, agreement and rules"),
    (
        "doc",
        &[],
        "the document model every generated document is written in",
    ),
    ("flow", &[], "Lampiran II's decisions, in the gate's order"),
    ("logtext", &[], "text kept out of logs"),
    ("secret", &[], "secrets that never print"),
    ("health", &["topology"], "judging rounds into states"),
    (
        "render",
        &["flow", "topology"],
        "Lampiran I and II from the topology",
    ),
    // Adapters: network, database, HTTP.
    (
        "http",
        &[],
        "JSON errors and no-store for every HTTP surface",
    ),
    ("sqlite", &[], "opening SQLite files the one way"),
    ("metrics", &["health"], "Prometheus registry"),
    (
        "store",
        &["sqlite", "topology"],
        "probe history, incidents' handling, dashboard-made maintenance windows",
    ),
    (
        "probe",
        &["health", "store", "topology"],
        "measurements over the network",
    ),
    (
        "reflector",
        &["topology"],
        "the far end of bandwidth probes",
    ),
    (
        "portal",
        &["cause", "nik", "probe", "secret", "topology"],
        "the Web Portal's wire client (TLS trust from probe::trust)",
    ),
    (
        "sim",
        &["cause", "nik", "portal", "topology"],
        "the Dukcapil simulator (it reads the data balikan keys an OPD's topology declares)",
    ),
    (
        "gate",
        &[
            "cause", "flow", "health", "http", "metrics", "nik", "portal", "probe", "secret",
            "sqlite", "topology",
        ],
        "the NIK gateway",
    ),
    (
        "outbox",
        &[
            "cause", "health", "http", "metrics", "nik", "portal", "secret", "sqlite", "topology",
        ],
        "data balikan, durable",
    ),
    (
        "notify",
        &["cause", "gate", "health", "metrics", "sqlite", "topology"],
        "alerts (logins from the gate's secrets file)",
    ),
    // Documents built from what the adapters keep.
    (
        "study",
        &[
            "cause", "doc", "gate", "nik", "portal", "sim", "store", "topology",
        ],
        "the kajian teknis (wire sizes from the portal and simulator)",
    ),
    (
        "report",
        &[
            "doc", "gate", "nik", "outbox", "portal", "store", "study", "topology",
        ],
        "the semester report and availability",
    ),
    // The faces: the dashboard, then the command line over everything.
    (
        "web",
        &[
            "gate", "health", "http", "logtext", "metrics", "notify", "outbox", "portal", "probe",
            "render", "report", "secret", "sqlite", "store", "topology",
        ],
        "the dashboard",
    ),
    ("cli", &["*"], "the commands"),
];

/// Crates the pure core may not use: they mean network, database or an async runtime.
const NOT_IN_CORE: &[&str] = &[
    "tokio", "axum", "hyper", "reqwest", "rusqlite", "snmp2", "lettre", "tower", "rustls",
];

/// Pure parts of those crates the core may use: `lettre::Address` is e-mail syntax only.
const PURE_EXCEPTIONS: &[&str] = &["lettre::Address"];

/// The modules of the pure core (the first block of [`LAYERS`]).
const CORE: &[&str] = &[
    "cause", "nik", "topology", "doc", "flow", "logtext", "secret", "health", "render",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/probe/snmp/poll.rs` → `probe`); `None` for the
/// crate root and the separate binaries.
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    if first == "bin" || first == "lib.rs" || first == "main.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_owned())
}

/// A line without its `//` comment (string literals holding `//` are rare in paths' lines; a
/// `crate::` inside a string is no dependency either, so cutting too much is harmless).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// How many `super::` lead from a file's module to the crate root (`src/probe.rs`: 1,
/// `src/probe/snmp/poll.rs`: 3).
fn depth(file: &Path) -> usize {
    file.strip_prefix(src())
        .map_or(0, |rel| rel.components().count())
}

/// The modules a source text reaches through `crate::` (or through as many `super::` as lead
/// to the crate root, `depth`), each with the line it is on.
fn uses(text: &str, depth: usize) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().map(code).collect();
    let mut joined = lines.join("\n");
    if depth > 0 {
        joined = joined.replace(&"super::".repeat(depth), "crate::");
    }
    let line_of = |byte: usize| joined[..byte].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = joined[from..].find("crate::") {
        let at = from + i;
        from = at + "crate::".len();
        // `juknis_crate::` or `$crate::` are not this crate's paths.
        if joined[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let rest = &joined[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, self}`: the first segment of each item at depth 0.
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    _ if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            items.push(item);
            for it in items {
                let name: String = it
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    out.push((line_of(at), name));
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((line_of(at), name));
            }
        }
    }
    out
}

fn table() -> BTreeMap<&'static str, (usize, BTreeSet<&'static str>)> {
    LAYERS
        .iter()
        .enumerate()
        .map(|(i, (m, deps, _))| (*m, (i, deps.iter().copied().collect())))
        .collect()
}

#[test]
fn the_table_is_a_stack_without_cycles() {
    let t = table();
    let mut wrong = Vec::new();
    for (m, (i, deps)) in &t {
        for d in deps.iter().filter(|d| **d != "*") {
            match t.get(d) {
                None => wrong.push(format!("{m} lists {d}, which is not in LAYERS")),
                Some((j, _)) if j >= i => wrong.push(format!(
                    "{m} may use {d}, but {d} is not below it in LAYERS: a cycle in the making"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_module_is_in_the_table() {
    let t = table();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let missing: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(f))
        .filter(|m| !t.contains_key(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a place in tests/architecture.rs LAYERS (say where they sit): {missing:?}"
    );
}

/// Every file of a top-level module, sorted, with its module.
fn module_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|f| module_of(&f).map(|m| (f, m)))
        .collect()
}

#[test]
fn modules_use_only_what_lies_below_them() {
    let t = table();
    let mut wrong = Vec::new();
    for (f, m) in &module_files() {
        let Some((_, allowed)) = t.get(m.as_str()) else {
            continue;
        };
        if allowed.contains("*") {
            continue;
        }
        let text = fs::read_to_string(f).expect("source is readable");
        for (line, used) in uses(&text, depth(f)) {
            // Only top-level modules count (`crate::SOME_ITEM` of lib.rs, or a `super::`
            // chain from an inline `mod tests` that stops inside the module, is no layer).
            if used == *m || allowed.contains(used.as_str()) || !t.contains_key(used.as_str()) {
                continue;
            }
            let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(f);
            let src_line = text.lines().nth(line - 1).unwrap_or("").trim();
            wrong.push(format!(
                "{}:{line}: `{m}` uses `{used}`, which LAYERS does not allow it ({src_line})",
                rel.display()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "layering broken (move the code to the module it belongs in, or, if the layering \
         itself is wrong, change LAYERS in tests/architecture.rs and say why):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_pure_core_does_no_network_database_or_async_io() {
    let mut wrong = Vec::new();
    for (f, m) in &module_files() {
        if !CORE.contains(&m.as_str()) {
            continue;
        }
        let text = fs::read_to_string(f).expect("source is readable");
        for (n, line) in text.lines().enumerate() {
            let line = code(line);
            for krate in NOT_IN_CORE {
                let needle = format!("{krate}::");
                let found = line.match_indices(&needle).any(|(i, _)| {
                    !line[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                        && !PURE_EXCEPTIONS.iter().any(|x| line[i..].starts_with(x))
                });
                if found {
                    let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(f);
                    wrong.push(format!(
                        "{}:{}: the pure core module `{m}` uses `{krate}` ({})",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The checker itself: a brace group over several lines, a nested group, a path in code, a
/// comment that names a module without using it, and `super::` up to the root.
#[test]
fn the_checker_reads_groups_paths_and_skips_comments() {
    let text = "use crate::{\n    gate,\n    outbox::{self, Sender},\n};\n// crate::web is only named here\nlet x = crate::probe::run();\nlet y = juknis_crate::z;\n";
    let found = uses(text, 0);
    assert_eq!(
        found,
        vec![
            (1, "gate".to_owned()),
            (1, "outbox".to_owned()),
            (6, "probe".to_owned()),
        ]
    );
    let nested = "use super::super::gate::Gate;\nuse super::Sibling;\n";
    assert_eq!(uses(nested, 2), vec![(1, "gate".to_owned())]);
    assert_eq!(uses(nested, 3), vec![]);
}
