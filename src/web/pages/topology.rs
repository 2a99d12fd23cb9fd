//! Topologi: Lampiran I as inline SVG from Graphviz, nodes and links coloured by live health;
//! a node picked (a click, or `?node=ID` without JavaScript) shows its probes' last results.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State as AxState;
use axum::response::Response;

use crate::health::{State, TargetKey};
use crate::render::{self, Format, lampiran1};
use crate::web::dashboard::{Authed, Chrome, Dash, current, query_param, render};
use crate::web::i18n::{Text, wib};

pub struct NodeRow {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub label: &'static str,
}

pub struct ProbeRow {
    pub profile: String,
    pub state: &'static str,
    pub label: &'static str,
    pub detail: String,
    pub since: String,
}

pub struct Detail {
    pub id: String,
    pub name: String,
    pub address: String,
    pub state: &'static str,
    pub label: &'static str,
    pub detail: String,
    pub probes: Vec<ProbeRow>,
}

#[derive(Template)]
#[template(path = "topology.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub svg: Option<String>,
    pub nodes: Vec<NodeRow>,
    pub detail: Option<Detail>,
    pub legend: Vec<(&'static str, &'static str)>,
}

/// Mark Graphviz's SVG with live state: every node group gets `data-node` and a state class,
/// every edge group (its DOT `id` is the link id) a state class. Colours come from the CSS.
pub fn colour(
    svg: &str,
    nodes: &BTreeMap<String, State>,
    links: &BTreeMap<String, State>,
) -> String {
    let mut out = String::with_capacity(svg.len() + 4096);
    let mut rest = svg;
    // Drop the XML prolog and doctype: the SVG goes inline into HTML.
    if let Some(i) = rest.find("<svg") {
        rest = &rest[i..];
    }
    while let Some(i) = rest.find("<g id=\"") {
        out.push_str(&rest[..i]);
        let tag_end = match rest[i..].find('>') {
            Some(e) => i + e,
            None => break,
        };
        let tag = &rest[i..tag_end];
        let id = tag["<g id=\"".len()..].split('"').next().unwrap_or("");
        let after = &rest[tag_end + 1..];
        if tag.contains("class=\"node\"") {
            // The node's DOT id is its <title>.
            let title = after
                .find("<title>")
                .and_then(|s| {
                    let t = &after[s + 7..];
                    t.find("</title>").map(|e| &t[..e])
                })
                .unwrap_or("");
            let title = title.replace("&#45;", "-");
            let state = nodes.get(&title).copied().unwrap_or(State::Unknown);
            out.push_str(&format!(
                "<g id=\"{id}\" class=\"node st-{}\" data-node=\"{}\" tabindex=\"0\"",
                state.as_str(),
                html_attr(&title)
            ));
        } else if tag.contains("class=\"edge\"") {
            let link = id.replace("&#45;", "-");
            let state = links.get(&link).copied();
            let cls = state.map_or("st-none", |s| match s {
                State::Healthy => "st-healthy",
                State::Degraded => "st-degraded",
                State::Down => "st-down",
                State::Unknown => "st-unknown",
            });
            out.push_str(&format!(
                "<g id=\"{id}\" class=\"edge {cls}\" data-link=\"{}\"",
                html_attr(&link)
            ));
        } else {
            out.push_str(tag);
        }
        out.push('>');
        rest = after;
    }
    out.push_str(rest);
    out
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed, uri: axum::http::Uri) -> Response {
    let t = a.t();
    let topology = dash.shared.topology();
    let status = current(&dash, a.lang);
    let nodes: BTreeMap<String, State> = status.nodes.into_iter().collect();
    let links: BTreeMap<String, State> = status.links.into_iter().collect();
    let dot = lampiran1::dot(&topology);
    let svg = tokio::task::spawn_blocking(move || render::to_format(&dot, Format::Svg))
        .await
        .ok()
        .and_then(|r| {
            r.map_err(|e| tracing::warn!(error = %e, "drawing Lampiran I"))
                .ok()
        })
        .map(|b| colour(&String::from_utf8_lossy(&b), &nodes, &links));
    let health = match dash.shared.health.read() {
        Ok(h) => h,
        Err(p) => p.into_inner(),
    };
    let rows = topology
        .nodes
        .iter()
        .map(|n| {
            let s = health.node(&n.id).state;
            NodeRow {
                id: n.id.to_string(),
                name: n.name.clone(),
                state: s.as_str(),
                label: a.lang.state(s),
            }
        })
        .collect();
    let picked = query_param(uri.query(), "node");
    let detail = picked
        .and_then(|id| topology.nodes.iter().find(|n| n.id.as_str() == id))
        .map(|n| {
            let level = health.node(&n.id);
            let probes = n
                .probes
                .iter()
                .map(|p| {
                    let key = TargetKey::new(n.id.clone(), p.clone());
                    match health.target(&key) {
                        Some(th) => ProbeRow {
                            profile: p.clone(),
                            state: th.last.state.as_str(),
                            label: a.lang.state(th.last.state),
                            detail: th.last.detail.clone(),
                            since: wib(th.since),
                        },
                        None => ProbeRow {
                            profile: p.clone(),
                            state: "unknown",
                            label: a.lang.state(State::Unknown),
                            detail: String::new(),
                            since: "-".into(),
                        },
                    }
                })
                .collect();
            Detail {
                id: n.id.to_string(),
                name: n.name.clone(),
                address: n
                    .address
                    .map(|a| a.to_string())
                    .or_else(|| n.url.clone())
                    .unwrap_or_else(|| "-".into()),
                state: level.state.as_str(),
                label: a.lang.state(level.state),
                detail: level.detail,
                probes,
            }
        });
    drop(health);
    render(&Page {
        c: a.chrome("topology", t.nav_topology),
        t,
        svg,
        nodes: rows,
        detail,
        legend: State::ALL
            .iter()
            .map(|s| (s.as_str(), a.lang.state(*s)))
            .collect(),
    })
}
