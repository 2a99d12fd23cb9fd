//! The user guide served by the appliance itself: `docs/panduan/` (Bahasa Indonesia) and
//! `docs/guide/` (English), embedded at build time and rendered from Markdown, so a technician
//! in a closed network can read it without internet. Each dashboard page links to its section
//! through `/bantuan/{page}`.
//!
//! Public: the guide holds no data of the appliance, so it is readable before logging in (the
//! log-in page links to the section on lock-out). Raw HTML in the Markdown is shown as text,
//! never passed through.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::dashboard::{LANG_COOKIE, render};
use super::i18n::{Lang, Text};

/// One page of the guide, in both languages.
pub struct Page {
    /// The file stem, also the URL: `/panduan/{slug}`.
    pub slug: &'static str,
    pub id: &'static str,
    pub en: &'static str,
}

macro_rules! page {
    ($slug:literal) => {
        Page {
            slug: $slug,
            id: include_str!(concat!("../../docs/panduan/", $slug, ".md")),
            en: include_str!(concat!("../../docs/guide/", $slug, ".md")),
        }
    };
}

/// The guide's pages, in reading order; `README` is the table of contents.
pub const PAGES: [Page; 9] = [
    page!("README"),
    page!("01-memasang"),
    page!("02-topologi"),
    page!("03-memantau"),
    page!("04-bila-terputus"),
    page!("05-cek-nik"),
    page!("06-data-balikan"),
    page!("07-kajian-laporan"),
    page!("08-pengguna"),
];

/// Pictures the guide shows, embedded: (file name, bytes). The screenshots are written by
/// `tests/browser.rs` (`JUKNIS_SCREENSHOTS=1`) from the running dashboard.
pub const PICTURES: [(&str, &[u8]); 10] = [
    (
        "lampiran1-bandung.png",
        include_bytes!("../../docs/lampiran1-bandung.png"),
    ),
    (
        "lampiran2-bandung.png",
        include_bytes!("../../docs/lampiran2-bandung.png"),
    ),
    (
        "masuk-laptop.png",
        include_bytes!("../../docs/screenshots/masuk-laptop.png"),
    ),
    (
        "ringkasan-laptop.png",
        include_bytes!("../../docs/screenshots/ringkasan-laptop.png"),
    ),
    (
        "topologi-laptop.png",
        include_bytes!("../../docs/screenshots/topologi-laptop.png"),
    ),
    (
        "riwayat-laptop.png",
        include_bytes!("../../docs/screenshots/riwayat-laptop.png"),
    ),
    (
        "cek-nik-laptop.png",
        include_bytes!("../../docs/screenshots/cek-nik-laptop.png"),
    ),
    (
        "balikan-laptop.png",
        include_bytes!("../../docs/screenshots/balikan-laptop.png"),
    ),
    (
        "dokumen-laptop.png",
        include_bytes!("../../docs/screenshots/dokumen-laptop.png"),
    ),
    (
        "audit-laptop.png",
        include_bytes!("../../docs/screenshots/audit-laptop.png"),
    ),
];

/// Where each dashboard page's help link leads: (the page's `active` name, guide page, section
/// anchor in Indonesian, section anchor in English). An empty anchor is the page's top.
pub const SECTIONS: [(&str, &str, &str, &str); 12] = [
    (
        "overview",
        "03-memantau",
        "3-2-halaman-dasbor",
        "3-1-the-dashboard-s-pages",
    ),
    (
        "topology",
        "02-topologi",
        "2-3-membuat-lampiran-i-topologi",
        "2-2-lampiran-i-and-ii",
    ),
    (
        "history",
        "03-memantau",
        "3-2-halaman-dasbor",
        "3-1-the-dashboard-s-pages",
    ),
    (
        "lookup",
        "05-cek-nik",
        "5-2-melakukan-cek-nik-di-dasbor",
        "5-2-on-the-dashboard",
    ),
    (
        "balikan",
        "06-data-balikan",
        "6-2-mengunggah",
        "6-2-uploading",
    ),
    (
        "availability",
        "03-memantau",
        "3-2-halaman-dasbor",
        "3-1-the-dashboard-s-pages",
    ),
    ("documents", "07-kajian-laporan", "", ""),
    ("audit", "08-pengguna", "8-5-log-audit", ""),
    ("login", "08-pengguna", "8-3-masuk-dan-keluar", ""),
    ("users", "08-pengguna", "8-2-menambah-pengguna", ""),
    (
        "maintenance",
        "03-memantau",
        "3-2-halaman-dasbor",
        "3-1-the-dashboard-s-pages",
    ),
    (
        "incident",
        "04-bila-terputus",
        "4-7-mengakui-gangguan-dan-mencatat-penyebab",
        "4-7-acknowledging-an-incident-and-recording-its-cause",
    ),
];

/// The guide's routes: `/panduan`, `/panduan/{page}`, `/panduan/gambar/{file}` and the
/// per-page help links `/bantuan/{page}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/panduan", get(index))
        .route("/panduan/{page}", get(page))
        .route("/panduan/gambar/{file}", get(picture))
        .route("/bantuan/{active}", get(help_link))
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The language asked for (`?lang=`), else the dashboard's language cookie, else Indonesian.
fn language(q: &LangQuery, headers: &HeaderMap) -> Lang {
    if let Some(l) = q.lang.as_deref().and_then(Lang::parse) {
        return l;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .and_then(|(_, v)| Lang::parse(v))
        .unwrap_or(Lang::Id)
}

/// The URL of a dashboard page's help section.
pub fn section_url(active: &str, lang: Lang) -> Option<String> {
    let (_, page, id_anchor, en_anchor) = SECTIONS.iter().find(|(a, ..)| *a == active)?;
    let anchor = match lang {
        Lang::Id => id_anchor,
        Lang::En => en_anchor,
    };
    let mut url = format!("/panduan/{page}?lang={}", lang.code());
    if !anchor.is_empty() {
        url.push('#');
        url.push_str(anchor);
    }
    Some(url)
}

async fn help_link(
    Path(active): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&q, &headers);
    match section_url(&active, lang) {
        Some(url) => Redirect::to(&url).into_response(),
        None => Redirect::to(&format!("/panduan?lang={}", lang.code())).into_response(),
    }
}

#[derive(Template)]
#[template(path = "help.html")]
struct HelpPage {
    lang: &'static str,
    other_lang: &'static str,
    t: &'static Text,
    slug: &'static str,
    title: String,
    body: String,
    toc: Vec<(&'static str, String, bool)>,
}

async fn index(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    show("README", language(&q, &headers))
}

async fn page(
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    show(slug.trim_end_matches(".md"), language(&q, &headers))
}

fn show(slug: &str, lang: Lang) -> Response {
    let Some(p) = PAGES.iter().find(|p| p.slug == slug) else {
        return (StatusCode::NOT_FOUND, "halaman panduan tidak ada").into_response();
    };
    let other = match lang {
        Lang::Id => Lang::En,
        Lang::En => Lang::Id,
    };
    let toc = PAGES
        .iter()
        .map(|q| {
            let src = match lang {
                Lang::Id => q.id,
                Lang::En => q.en,
            };
            (q.slug, title_of(src), q.slug == p.slug)
        })
        .collect();
    let src = match lang {
        Lang::Id => p.id,
        Lang::En => p.en,
    };
    render(&HelpPage {
        lang: lang.code(),
        other_lang: other.code(),
        t: lang.text(),
        slug: p.slug,
        title: title_of(src),
        body: to_html(src, lang),
        toc,
    })
}

async fn picture(Path(file): Path<String>) -> Response {
    match PICTURES.iter().find(|(name, _)| *name == file) {
        Some((_, bytes)) => {
            let mut res = bytes.into_response();
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            res
        }
        None => (StatusCode::NOT_FOUND, "gambar tidak ada").into_response(),
    }
}

/// The first heading's text, the page's title.
pub fn title_of(markdown: &str) -> String {
    markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// An anchor from a heading's text: lower-case letters and digits, everything else one `-`
/// ("3.2 Halaman dasbor" gives `3-2-halaman-dasbor`), as the dashboard's help links expect.
pub fn anchor(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Markdown to HTML for the appliance: headings get anchors, links between guide pages and to
/// pictures point at the appliance's own URLs, raw HTML is escaped.
pub fn to_html(markdown: &str, lang: Lang) -> String {
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, Options::ENABLE_TABLES).collect();
    let mut out: Vec<Event<'_>> = Vec::with_capacity(events.len());
    let mut i = 0;
    while i < events.len() {
        match &events[i] {
            Event::Start(Tag::Heading { level, .. }) => {
                let level = *level;
                let mut text = String::new();
                let mut j = i + 1;
                while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                    if let Event::Text(t) | Event::Code(t) = &events[j] {
                        text.push_str(t);
                    }
                    j += 1;
                }
                out.push(Event::Html(CowStr::from(format!(
                    "<{} id=\"{}\">",
                    tag_name(level),
                    anchor(&text)
                ))));
                out.extend(events[i + 1..j].iter().cloned().map(escape_html));
                out.push(Event::Html(CowStr::from(format!("</{}>", tag_name(level)))));
                i = j + 1;
                continue;
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => out.push(Event::Start(Tag::Link {
                link_type: *link_type,
                dest_url: CowStr::from(local_url(dest_url, lang)),
                title: title.clone(),
                id: id.clone(),
            })),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => out.push(Event::Start(Tag::Image {
                link_type: *link_type,
                dest_url: CowStr::from(local_url(dest_url, lang)),
                title: title.clone(),
                id: id.clone(),
            })),
            e => out.push(escape_html(e.clone())),
        }
        i += 1;
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    html
}

fn tag_name(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h1",
        HeadingLevel::H2 => "h2",
        HeadingLevel::H3 => "h3",
        HeadingLevel::H4 => "h4",
        HeadingLevel::H5 => "h5",
        HeadingLevel::H6 => "h6",
    }
}

/// Raw HTML in the guide is shown as text.
fn escape_html(e: Event<'_>) -> Event<'_> {
    match e {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        e => e,
    }
}

/// A link in the guide as the appliance serves it: `05-cek-nik.md#x` → `/panduan/05-cek-nik?lang=..#x`,
/// `../screenshots/a.png` or `../a.png` → `/panduan/gambar/a.png`; other links unchanged.
fn local_url(dest: &str, lang: Lang) -> String {
    let (path, frag) = match dest.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (dest, None),
    };
    if dest.contains("://") {
        return dest.to_owned();
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    if let Some(stem) = file.strip_suffix(".md") {
        let mut url = format!("/panduan/{stem}?lang={}", lang.code());
        if let Some(f) = frag {
            url.push('#');
            url.push_str(f);
        }
        return url;
    }
    if file.ends_with(".png") {
        return format!("/panduan/gambar/{file}");
    }
    dest.to_owned()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("3.2 Halaman dasbor", "3-2-halaman-dasbor")]
    #[case("3.1 The dashboard's pages", "3-1-the-dashboard-s-pages")]
    #[case("  Cek NIK!  ", "cek-nik")]
    fn anchors_are_stable(#[case] text: &str, #[case] want: &str) {
        assert_eq!(anchor(text), want);
    }

    #[rstest]
    #[case("05-cek-nik.md", Lang::Id, "/panduan/05-cek-nik?lang=id")]
    #[case(
        "04-bila-terputus.md#4-2-x",
        Lang::En,
        "/panduan/04-bila-terputus?lang=en#4-2-x"
    )]
    #[case("../panduan/README.md", Lang::Id, "/panduan/README?lang=id")]
    #[case(
        "../screenshots/masuk-laptop.png",
        Lang::Id,
        "/panduan/gambar/masuk-laptop.png"
    )]
    #[case(
        "../lampiran1-bandung.png",
        Lang::En,
        "/panduan/gambar/lampiran1-bandung.png"
    )]
    fn links_point_at_the_appliance(#[case] dest: &str, #[case] lang: Lang, #[case] want: &str) {
        assert_eq!(local_url(dest, lang), want);
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = to_html("# T\n\n<script>alert(1)</script>\n\nx <b>y</b>\n", Lang::Id);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn every_dashboard_help_link_lands_on_a_heading_that_exists() {
        for (active, page, id_anchor, en_anchor) in SECTIONS {
            let p = PAGES.iter().find(|p| p.slug == page).unwrap();
            for (anchor, src, lang) in [(id_anchor, p.id, Lang::Id), (en_anchor, p.en, Lang::En)] {
                if anchor.is_empty() {
                    continue;
                }
                let html = to_html(src, lang);
                assert!(
                    html.contains(&format!("id=\"{anchor}\"")),
                    "{active}: no heading #{anchor} in {page} ({lang:?})"
                );
            }
        }
    }

    #[test]
    fn every_picture_the_guide_shows_is_embedded() {
        for p in PAGES {
            for src in [p.id, p.en] {
                for e in Parser::new(src) {
                    if let Event::Start(Tag::Image { dest_url, .. }) = e {
                        let file = dest_url.rsplit('/').next().unwrap().to_owned();
                        assert!(
                            PICTURES.iter().any(|(n, _)| *n == file),
                            "{}: picture {file} is not embedded",
                            p.slug
                        );
                    }
                }
            }
        }
    }
}
