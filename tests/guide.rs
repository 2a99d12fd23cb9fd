//! The user guide (docs/panduan in Bahasa Indonesia, docs/guide in English) against the product:
//! every `juknis` command and option it tells people to type exists, every dashboard page it
//! names is a page of the dashboard, every picture it shows is one the browser test writes, and
//! the appliance serves it with a help link on every page that lands on an existing section.

mod web_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::header;
use juknis::web::help;
use juknis::web::i18n::{EN, ID, Text};
use web_support::*;

fn guide_files() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in ["docs/panduan", "docs/guide"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .expect("guide folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("guide page");
            out.push((f, text));
        }
    }
    out
}

/// Command lines in fenced code blocks (continuations joined) and in inline code spans.
fn command_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let l = line.trim();
            if let Some(head) = l.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(l);
            let full = std::mem::take(&mut pending);
            let cmd = full.split('#').next().unwrap_or("").trim().to_owned();
            if cmd.starts_with("juknis ") {
                out.push(cmd);
            }
        } else {
            // `juknis audit verify --state-dir DIR` written inline.
            for span in line.split('`').skip(1).step_by(2) {
                if span.starts_with("juknis ") {
                    out.push(span.to_owned());
                }
            }
        }
    }
    out
}

fn help_of(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(path)
        .arg("--help")
        .output()
        .expect("run juknis --help");
    assert!(
        out.status.success(),
        "`juknis {} --help` failed: {}",
        path.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands a help text lists under "Commands:".
fn subcommands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn every_command_and_option_the_guide_names_exists() {
    let mut checked = 0;
    for (file, text) in guide_files() {
        for line in command_lines(&text) {
            let words: Vec<&str> = line.split_whitespace().skip(1).collect();
            let mut path: Vec<String> = Vec::new();
            let mut help = help_of(&path);
            for w in &words {
                if w.starts_with('-') {
                    break;
                }
                let subs = subcommands(&help);
                if subs.is_empty() {
                    break;
                }
                assert!(
                    subs.contains(*w),
                    "{}: `{line}`: `juknis {}` has no subcommand `{w}` (it has {subs:?})",
                    file.display(),
                    path.join(" ")
                );
                path.push((*w).to_owned());
                help = help_of(&path);
            }
            for w in words.iter().filter(|w| w.starts_with('-')) {
                let opt = w.split('=').next().unwrap_or(w);
                let listed = help
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '[')
                    .any(|tok| tok == opt);
                assert!(
                    listed,
                    "{}: `{line}`: `juknis {}` has no option `{opt}`",
                    file.display(),
                    path.join(" ")
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} command lines found in the guide"
    );
}

fn nav_labels(t: &Text) -> Vec<&'static str> {
    vec![
        t.nav_overview,
        t.nav_topology,
        t.nav_history,
        t.nav_availability,
        t.nav_maintenance,
        t.nav_lookup,
        t.nav_balikan,
        t.nav_documents,
        t.nav_audit,
        t.nav_users,
    ]
}

#[test]
fn every_dashboard_page_the_guide_names_is_a_page_of_the_dashboard() {
    let labels: Vec<&str> = nav_labels(&ID).into_iter().chain(nav_labels(&EN)).collect();
    let mut named = 0;
    for (file, text) in guide_files() {
        // "menu **Cek NIK**", "halaman **Riwayat**", "the **Data balikan** page".
        let flat = text.replace('\n', " ");
        let parts: Vec<&str> = flat.split("**").collect();
        for i in (1..parts.len()).step_by(2) {
            let before = parts[i - 1].trim_end().to_lowercase();
            let after = parts
                .get(i + 1)
                .map(|s| s.trim_start().to_lowercase())
                .unwrap_or_default();
            // English pages give the Indonesian name beside: "**Overview** (Ringkasan)".
            let glossed = after
                .strip_prefix('(')
                .and_then(|a| a.split(')').next())
                .is_some_and(|g| nav_labels(&ID).iter().any(|l| l.to_lowercase() == g));
            let is_page = before.ends_with("menu")
                || before.ends_with("halaman")
                || before.ends_with("buka")
                || after.starts_with("page")
                || glossed;
            if !is_page || parts[i].contains(' ') && parts[i].len() > 20 {
                continue;
            }
            let name = parts[i];
            if [
                "Sehat",
                "Terganggu",
                "Putus",
                "Belum diketahui",
                "Healthy",
                "Degraded",
                "Down",
                "Not known yet",
            ]
            .contains(&name)
                || name.starts_with("admin")
                || name.starts_with("operator")
                || name.starts_with("technician")
            {
                continue;
            }
            assert!(
                labels.contains(&name)
                    || name == "Gangguan terakhir"
                    || name == "Periksa"
                    || name == "Bantuan"
                    || name == "Masuk"
                    || name == "Keluar"
                    || name == "Help",
                "{}: names a dashboard page `{name}` that the menu does not have ({labels:?})",
                file.display()
            );
            named += 1;
        }
    }
    assert!(named >= 8, "only {named} page names found");
    // And the other way: every page of the menu is explained in the Indonesian guide.
    let all: String = guide_files()
        .into_iter()
        .filter(|(f, _)| f.starts_with(root().join("docs/panduan")))
        .map(|(_, t)| t)
        .collect();
    for l in nav_labels(&ID) {
        assert!(
            all.contains(&format!("**{l}**")),
            "the guide never explains the page {l}"
        );
    }
}

#[test]
fn every_picture_is_one_the_browser_test_writes_and_exists() {
    let browser = std::fs::read_to_string(root().join("tests/browser.rs")).expect("browser.rs");
    for (file, text) in guide_files() {
        for part in text.split("](").skip(1) {
            let dest = part.split(')').next().unwrap_or("");
            let target = file
                .parent()
                .expect("dir")
                .join(dest.split('#').next().unwrap_or(""));
            assert!(
                Path::new(&target).exists(),
                "{}: link to {dest} leads nowhere",
                file.display()
            );
            if let Some(name) = dest.strip_prefix("../screenshots/") {
                let stem = name
                    .trim_end_matches("-laptop.png")
                    .trim_end_matches("-phone.png");
                let whole = name.trim_end_matches(".png");
                assert!(
                    browser.contains(&format!("\"{stem}\""))
                        || browser.contains(&format!("\"{whole}\"")),
                    "{}: screenshot {name} is not written by tests/browser.rs, so it would go stale",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn both_languages_have_every_page() {
    for p in help::PAGES {
        assert!(
            !help::title_of(p.id).is_empty(),
            "{}: no Indonesian title",
            p.slug
        );
        assert!(
            !help::title_of(p.en).is_empty(),
            "{}: no English title",
            p.slug
        );
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("docs/panduan"))
        .expect("panduan")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".md")
                .to_owned()
        })
        .collect();
    let served: BTreeSet<String> = help::PAGES.iter().map(|p| p.slug.to_owned()).collect();
    assert_eq!(
        on_disk, served,
        "every page of docs/panduan is served, and only those"
    );
}

#[tokio::test]
async fn the_appliance_serves_the_guide_and_every_page_links_to_its_section() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    // Public: readable before logging in, in both languages, with its pictures.
    for p in help::PAGES {
        for lang in ["id", "en"] {
            let (res, body) =
                send(&app, get(&format!("/panduan/{}?lang={lang}", p.slug), None)).await;
            assert_eq!(res.status(), 200, "{} {lang}", p.slug);
            let src = if lang == "id" { p.id } else { p.en };
            assert!(
                body.contains(&help::title_of(src)),
                "{} {lang}: title missing",
                p.slug
            );
            assert!(
                !body.contains("](../"),
                "{} {lang}: a link was not rewritten",
                p.slug
            );
        }
    }
    let (res, _) = send(&app, get("/panduan/gambar/ringkasan-laptop.png", None)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
    let (res, _) = send(&app, get("/panduan/tidak-ada", None)).await;
    assert_eq!(res.status(), 404);

    // Every dashboard page carries a help link, and it lands on an existing heading.
    let (cookie, _) = login(&app, "admin").await;
    for (uri, active) in [
        ("/", "overview"),
        ("/topologi", "topology"),
        ("/riwayat", "history"),
        ("/cek-nik", "lookup"),
        ("/balikan", "balikan"),
        ("/dokumen", "documents"),
        ("/audit", "audit"),
    ] {
        for lang in ["id", "en"] {
            let (_, page) = send(&app, get(&format!("{uri}?lang={lang}"), Some(&cookie))).await;
            let link = format!("href=\"/bantuan/{active}?lang={lang}\"");
            assert!(
                page.contains(&link),
                "{uri} ({lang}) has no help link {link}"
            );
            let (res, _) = send(&app, get(&format!("/bantuan/{active}?lang={lang}"), None)).await;
            assert_eq!(res.status(), 303, "{active}");
            let to = res.headers()[header::LOCATION]
                .to_str()
                .expect("location")
                .to_owned();
            let (path, anchor) = to.split_once('#').unwrap_or((&to, ""));
            let (res, body) = send(&app, get(path, None)).await;
            assert_eq!(res.status(), 200, "{to}");
            if !anchor.is_empty() {
                assert!(
                    body.contains(&format!("id=\"{anchor}\"")),
                    "{to}: no such section"
                );
            }
        }
    }
    let (_, login_page) = send(&app, get("/masuk", None)).await;
    assert!(
        login_page.contains("/bantuan/login"),
        "the log-in page links to help"
    );
}
