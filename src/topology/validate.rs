//! Raw YAML to the validated model, collecting every problem with its location and a hint.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path as FsPath, PathBuf};

use serde_saphyr::Spanned;

use super::diagnostic::did_you_mean;
use super::raw::{self, S};
use super::tree::{self, Node as TreeNode};
use super::{
    Agreement, Bandwidth, BeforePoc, Cidr, Contact, Diagnostic, Diagnostics, Egress, Element,
    Interface, Link, LinkId, Location, Node, NodeId, NodeKind, Party, Path, PathId, Platform, Poc,
    Purpose, Quota, Route, ServiceKind, SnmpPoll, SnmpVersion, Tier, TlsTrust, Topology, Zone,
    ZoneId, ZoneKind,
};

mod notifiers;

const DEFAULT_PROBE_SHARE_PERCENT: f64 = 1.0;

struct Ctx<'a> {
    file: &'a FsPath,
    diags: Diagnostics,
}

impl Ctx<'_> {
    fn at<T>(&self, s: &Spanned<T>) -> Location {
        Location::new(self.file, s.referenced)
    }

    fn error<T>(&mut self, s: &Spanned<T>, message: impl Into<String>) -> &mut Diagnostic {
        let d = Diagnostic::new(self.at(s), message);
        self.diags.push(d);
        let last = self.diags.0.len() - 1;
        &mut self.diags.0[last]
    }

    fn error_hint<T>(
        &mut self,
        s: &Spanned<T>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let d = Diagnostic::new(self.at(s), message).hint(hint);
        self.diags.push(d);
    }
}

/// Look-ups in any minute, per caller and for the whole User ID, unless the agreement says.
pub const DEFAULT_LOOKUPS_PER_MINUTE: u32 = 10;

pub fn parse(
    text: &str,
    file: &FsPath,
    profiles: &dyn Fn(&FsPath) -> Option<BTreeSet<String>>,
) -> Result<Topology, Diagnostics> {
    let mut cx = Ctx {
        file,
        diags: Diagnostics::default(),
    };

    // Pass 1: the shape of the file, to report every unknown key at once.
    match serde_saphyr::from_str::<TreeNode>(text) {
        Ok(tree) => {
            let mut unknown = Vec::new();
            tree::unknown_keys(
                &tree,
                &<raw::File as tree::Shape>::schema(),
                "",
                &mut unknown,
            );
            for u in unknown {
                if looks_secret(&u.key, u.context == tree::TOP_LEVEL) {
                    // Only the key is named: the value may be the secret itself.
                    cx.diags.push(
                        Diagnostic::new(
                            Location::new(file, u.at),
                            format!(
                                "`{}` in {} looks like a secret; the topology must not hold secrets",
                                u.key, u.context
                            ),
                        )
                        .hint(SECRETS_HINT),
                    );
                    continue;
                }
                cx.diags.push(u.diagnostic(file));
            }
        }
        Err(e) => return Err(syntax_error(file, &e)),
    }

    // Pass 2: the typed file.
    let raw: raw::File = match serde_saphyr::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            cx.diags.push(syntax_error(file, &e).0.remove(0));
            cx.diags.sort();
            return Err(cx.diags);
        }
    };

    let probe_dir = match &raw.probe_dir {
        Some(dir) => resolve(file, &dir.value),
        None => resolve(file, "../probes"),
    };
    let known_profiles = profiles(&probe_dir);
    if known_profiles.is_none()
        && let Some(dir) = &raw.probe_dir
    {
        cx.error_hint(
            dir,
            format!(
                "probe profile folder {} cannot be read",
                probe_dir.display()
            ),
            "give `probe_dir` relative to this file, e.g. `../probes`",
        );
    }

    let poc_flag = raw.agreement.poc_done.clone();
    let quota_at = raw.agreement.quota_per_day.as_ref().map(|q| cx.at(q));
    let mut agreement = agreement(&mut cx, raw.agreement);
    let zones = zones(&mut cx, &raw.zones);
    let nodes = nodes(&mut cx, &raw.nodes, &zones, known_profiles.as_ref());
    poc_rules(&mut cx, &mut agreement, &nodes, poc_flag.as_ref(), quota_at);
    let links = links(&mut cx, &raw.links, &nodes, known_profiles.as_ref());
    let paths = paths(&mut cx, &raw.paths, &nodes, &links);
    let reflector = raw.reflector.as_ref().map(|r| reflector(&mut cx, r));
    let maintenance = maintenance(&mut cx, &raw.maintenance, &paths, &links);
    let notifiers = notifiers::notifiers(&mut cx, &raw.notifiers);
    let data_balikan = raw
        .data_balikan
        .as_ref()
        .map(|d| data_balikan(&mut cx, d))
        .unwrap_or_default();

    if !cx.diags.is_empty() {
        cx.diags.sort();
        return Err(cx.diags);
    }
    let title = raw.title.unwrap_or_else(|| {
        format!(
            "Topologi Jaringan Komunikasi Data {} dengan Dinas Dukcapil Kabupaten Bandung",
            agreement.opd
        )
    });
    Ok(Topology {
        file: file.to_path_buf(),
        title,
        agreement,
        zones,
        nodes,
        links,
        paths,
        probe_dir,
        reflector,
        maintenance,
        notifiers,
        data_balikan,
    })
}

/// The `data_balikan` section: the `param` keys and the aid types, each defaulting to the Web
/// Portal documentation's.
fn data_balikan(cx: &mut Ctx<'_>, d: &Spanned<raw::DataBalikan>) -> super::BalikanFields {
    let mut out = super::BalikanFields::default();
    for (spanned, slot, what) in [
        (
            &d.value.recipient_key,
            &mut out.recipient_key,
            "recipient_key",
        ),
        (&d.value.aid_key, &mut out.aid_key, "aid_key"),
    ] {
        let Some(k) = spanned else { continue };
        let v = k.value.trim();
        if super::BalikanFields::valid_key(v) {
            *slot = v.to_owned();
        } else {
            cx.error_hint(
                k,
                format!("data_balikan {what} `{}` is not a key the service can read", k.value),
                format!(
                    "1 to {} letters, digits or `_`, exactly as the data balikan service names it, e.g. `ID_PENERIMA`",
                    super::BalikanFields::MAX_KEY_LEN
                ),
            );
        }
    }
    if out.recipient_key == out.aid_key
        && let Some(k) = d.value.aid_key.as_ref().or(d.value.recipient_key.as_ref())
    {
        cx.error(
            k,
            format!(
                "data_balikan recipient_key and aid_key are both `{}`: a record needs two keys",
                out.aid_key
            ),
        );
    }
    if !d.value.aid_types.is_empty() {
        let mut types: Vec<String> = Vec::new();
        for a in &d.value.aid_types {
            let v = a.value.trim().to_ascii_uppercase();
            if !super::BalikanFields::valid_aid(&v) {
                cx.error_hint(
                    a,
                    format!("aid type `{}` is not a code", a.value),
                    format!(
                        "1 to {} letters, digits, `_` or `-`, as the agreement names it, e.g. `PKH`",
                        super::BalikanFields::MAX_AID_LEN
                    ),
                );
            } else if types.contains(&v) {
                cx.error(a, format!("aid type `{v}` is listed twice"));
            } else {
                types.push(v);
            }
        }
        out.aid_types = types;
    } else if d.value.recipient_key.is_none() && d.value.aid_key.is_none() {
        cx.error_hint(
            d,
            "the data_balikan section is empty",
            "give `recipient_key`, `aid_key` or `aid_types`, or leave the section out for ID_PENERIMA, JENIS_BANTUAN and PKH/PBI",
        );
    }
    if out.aid_types.is_empty() {
        out.aid_types = super::BalikanFields::default().aid_types;
    }
    out
}

/// The `maintenance` list: each window once, weekly or monthly (WIB), scoped to declared paths
/// and links (none: everything).
fn maintenance(
    cx: &mut Ctx<'_>,
    raw: &[S<raw::Maintenance>],
    paths: &[Path],
    links: &[Link],
) -> super::maintenance::Schedule {
    use super::maintenance::{self as m, Recurrence, Scope, Window};
    let mut windows = Vec::new();
    for item in raw {
        let w = &item.value;
        let mut scope = Scope::default();
        for p in &w.paths {
            match paths.iter().find(|x| x.id.as_str() == p.value) {
                Some(x) => scope.paths.push(x.id.clone()),
                None => cx.error_hint(
                    p,
                    format!(
                        "maintenance names path `{}`, which is not declared",
                        p.value
                    ),
                    "use a path id from `paths:`, or leave `paths` out to cover every path",
                ),
            }
        }
        for l in &w.links {
            match links.iter().find(|x| x.id.as_str() == l.value) {
                Some(x) => scope.links.push(x.id.clone()),
                None => cx.error_hint(
                    l,
                    format!(
                        "maintenance names link `{}`, which is not declared",
                        l.value
                    ),
                    "use a link id from `links:`",
                ),
            }
        }
        let given = [w.once.is_some(), w.weekly.is_some(), w.monthly.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            cx.error_hint(
                item,
                "a maintenance window needs exactly one of `once`, `weekly` or `monthly`",
                "e.g. `weekly: {day: minggu, at: \"22:00\", duration: 3h}` or `once: {from: \"2026-12-12 22:00\", to: \"2026-12-13 02:00\"}` (WIB)",
            );
            continue;
        }
        let when = if let Some(o) = &w.once {
            let instant = |cx: &mut Ctx<'_>, v: &Option<S<String>>, key: &str| match v {
                Some(v) => match m::parse_wib(&v.value) {
                    Some(t) => Some(t),
                    None => {
                        cx.error_hint(
                            v,
                            format!("`{}` is not a date and time", v.value),
                            "write `YYYY-MM-DD HH:MM` in WIB, e.g. \"2026-12-12 22:00\"",
                        );
                        None
                    }
                },
                None => {
                    cx.error_hint(
                        o,
                        format!("`once` is missing `{key}`"),
                        format!("add `{key}: \"YYYY-MM-DD HH:MM\"` (WIB)"),
                    );
                    None
                }
            };
            let (from, to) = (
                instant(cx, &o.value.from, "from"),
                instant(cx, &o.value.to, "to"),
            );
            match (from, to) {
                (Some(from), Some(to)) if from < to => Some(Recurrence::Once { from, to }),
                (Some(_), Some(_)) => {
                    cx.error(o, "the window ends before it starts");
                    None
                }
                _ => None,
            }
        } else {
            let (at, duration, max_minutes) = match (&w.weekly, &w.monthly) {
                (Some(r), _) => (&r.value.at, &r.value.duration, 7 * 24 * 60),
                (_, Some(r)) => (&r.value.at, &r.value.duration, 28 * 24 * 60),
                _ => continue,
            };
            let at = match at {
                Some(a) => m::parse_time(&a.value).or_else(|| {
                    cx.error_hint(
                        a,
                        format!("`{}` is not a time of day", a.value),
                        "write `HH:MM` in WIB, e.g. \"22:00\"",
                    );
                    None
                }),
                None => {
                    cx.error_hint(
                        item,
                        "the window is missing `at`",
                        "add `at: \"22:00\"` (WIB)",
                    );
                    None
                }
            };
            let minutes = match duration {
                Some(d) => match m::parse_minutes(&d.value) {
                    Some(n) if n <= max_minutes => Some(n),
                    Some(_) => {
                        cx.error(
                            d,
                            "the window is longer than the time between two of its starts",
                        );
                        None
                    }
                    None => {
                        cx.error_hint(
                            d,
                            format!("`{}` is not a duration", d.value),
                            "write minutes or hours, e.g. `90m`, `3h`, `1h30m`",
                        );
                        None
                    }
                },
                None => {
                    cx.error_hint(
                        item,
                        "the window is missing `duration`",
                        "add e.g. `duration: 3h`",
                    );
                    None
                }
            };
            match (&w.weekly, &w.monthly, at, minutes) {
                (Some(r), _, Some(at), Some(minutes)) => match &r.value.day {
                    Some(d) => match m::parse_weekday(&d.value) {
                        Some(day) => Some(Recurrence::Weekly { day, at, minutes }),
                        None => {
                            cx.error_hint(
                                d,
                                format!("`{}` is not a day of the week", d.value),
                                "write senin, selasa, rabu, kamis, jumat, sabtu or minggu",
                            );
                            None
                        }
                    },
                    None => {
                        cx.error_hint(r, "`weekly` is missing `day`", "add e.g. `day: minggu`");
                        None
                    }
                },
                (_, Some(r), Some(at), Some(minutes)) => match &r.value.day {
                    Some(d) if (1..=28).contains(&d.value) => Some(Recurrence::Monthly {
                        day: d.value,
                        at,
                        minutes,
                    }),
                    Some(d) => {
                        cx.error_hint(
                            d,
                            format!("day {} is not in every month", d.value),
                            "use a day from 1 to 28",
                        );
                        None
                    }
                    None => {
                        cx.error_hint(r, "`monthly` is missing `day`", "add e.g. `day: 1`");
                        None
                    }
                },
                _ => None,
            }
        };
        if let Some(when) = when {
            windows.push(Window {
                when,
                scope,
                note: w
                    .note
                    .clone()
                    .unwrap_or_else(|| "Pemeliharaan terjadwal".to_owned()),
            });
        }
    }
    super::maintenance::Schedule {
        windows,
        made: Vec::new(),
    }
}

/// The reflector section: peers as IP addresses, a byte cap and a rate.
fn reflector(cx: &mut Ctx<'_>, r: &Spanned<raw::Reflector>) -> super::Reflector {
    let mut peers = Vec::new();
    for p in &r.value.peers {
        match p.value.trim().parse::<std::net::IpAddr>() {
            Ok(a) => peers.push(a),
            Err(_) => cx.error_hint(
                p,
                format!("reflector peer `{}` is not an IP address", p.value),
                "list the far ends' addresses, e.g. `peers: [198.51.100.20]`",
            ),
        }
    }
    if r.value.peers.is_empty() {
        cx.error_hint(
            r,
            "the reflector has no peers",
            "list who may ask (`peers: [IP, ...]`), or leave the `reflector` section out to keep it off",
        );
    }
    let max_bytes = r
        .value
        .max_bytes
        .as_ref()
        .map_or(super::Reflector::DEFAULT_MAX_BYTES, |m| m.value);
    if let Some(m) = &r.value.max_bytes
        && (m.value == 0 || m.value > super::Reflector::MAX_BYTES)
    {
        cx.error(
            m,
            format!(
                "reflector max_bytes must be 1 to {}",
                super::Reflector::MAX_BYTES
            ),
        );
    }
    let per_minute = r.value.per_minute.as_ref().map_or(6, |m| m.value);
    if let Some(m) = &r.value.per_minute
        && m.value == 0
    {
        cx.error(m, "reflector per_minute must be at least 1");
    }
    super::Reflector {
        peers,
        max_bytes,
        per_minute,
    }
}

/// Where secrets go instead of the topology (see `gate::secrets`).
const SECRETS_HINT: &str = "remove it and put it in the secrets file STATE_DIR/secrets.yaml (mode 600; \
     `portal: {user_id, password, ip_user, instansi_id}`, `balikan: {token, id_lembaga}`, \
     `api_tokens: {app: token}`) or in the environment (JUKNIS_PORTAL_PASSWORD, \
     JUKNIS_BALIKAN_TOKEN, JUKNIS_API_TOKEN_<APP>)";

/// A key that names a credential: a password, a token, a key, or a section of the secrets file
/// pasted at the top level. The topology is shared (Lampiran I, the paperwork, backups): a
/// secret in it would leak with every copy.
fn looks_secret(key: &str, top_level: bool) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "private_key",
        "credential",
        "bearer",
    ];
    WORDS.iter().any(|w| k.contains(w))
        || k == "pass"
        || k == "pwd"
        || (top_level && matches!(k.as_str(), "portal" | "balikan"))
}

/// A URL with a user name or password in it (`https://user:pass@host/`).
fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.contains('@')
}

fn syntax_error(file: &FsPath, e: &serde_saphyr::Error) -> Diagnostics {
    let location = e
        .location()
        .map(|at| Location::new(file, at))
        .unwrap_or_else(|| Location::file(file));
    // The library's message repeats the position; keep only the first line of it.
    let message = e.to_string();
    let mut message = message.lines().next().unwrap_or("invalid YAML").trim();
    message = message.strip_prefix("error: ").unwrap_or(message);
    // Drop the library's own "line N column M: " prefix; the location says it already.
    if let Some((head, rest)) = message.split_once(": ")
        && head.starts_with("line ")
        && head.contains(" column ")
    {
        message = rest;
    }
    let message = message.to_string();
    Diagnostics(vec![Diagnostic::new(location, message).hint(
        "check indentation and that lists use `- ` and mappings `key: value`",
    )])
}

fn file_of<'a>(cx: &Ctx<'a>) -> &'a FsPath {
    cx.file
}

fn resolve(file: &FsPath, rel: &str) -> PathBuf {
    let base = file.parent().unwrap_or_else(|| FsPath::new("."));
    base.join(rel)
}

/// A `YYYY-MM-DD` date.
fn date(cx: &mut Ctx<'_>, s: &S<String>, what: &str) -> Option<chrono::NaiveDate> {
    match chrono::NaiveDate::parse_from_str(s.value.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(e) => {
            cx.error_hint(
                s,
                format!("{what} `{}` is not a date: {e}", s.value),
                "write it as YYYY-MM-DD, e.g. 2026-01-31",
            );
            None
        }
    }
}

/// The PoC of an application node.
fn poc(cx: &mut Ctx<'_>, p: &S<raw::Poc>, node: &str) -> Poc {
    let date = p
        .value
        .date
        .as_ref()
        .and_then(|d| date(cx, d, "PoC letter date"));
    if p.value.done && (p.value.letter.is_none() || p.value.date.is_none()) {
        cx.error_hint(
            p,
            format!("application `{node}` has `poc: {{done: true}}` without the PoC result letter"),
            "give `letter` (the number of the surat hasil PoC) and `date` (YYYY-MM-DD): Juknis II.D.2.c",
        );
    }
    Poc {
        done: p.value.done,
        letter: p.value.letter.clone(),
        date,
    }
}

/// The PoC rules that need both the agreement and the applications: `poc_done` and
/// `unlimited` only when every declared application has passed (Juknis II.B.2, II.D).
fn poc_rules(
    cx: &mut Ctx<'_>,
    agreement: &mut Agreement,
    nodes: &[Node],
    poc_flag: Option<&S<bool>>,
    quota_at: Option<Location>,
) {
    let apps: Vec<&Node> = nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::App(_)))
        .collect();
    if apps.is_empty() {
        return;
    }
    let pending: Vec<&str> = apps
        .iter()
        .filter(|n| !n.poc_passed())
        .map(|n| n.id.as_str())
        .collect();
    agreement.poc_done = pending.is_empty();
    if pending.is_empty() {
        return;
    }
    let hint = "give each application `poc: {done: true, letter: \"<nomor surat hasil PoC>\", \
                date: YYYY-MM-DD}` once its PoC is passed; until then the PoC quota applies";
    if let Some(f) = poc_flag
        && f.value
    {
        cx.error_hint(
            f,
            format!(
                "`poc_done: true` but application(s) {} have not passed a PoC",
                pending.join(", ")
            ),
            hint,
        );
    }
    if agreement.quota == Quota::Unlimited {
        let at = quota_at.unwrap_or_else(|| Location::file(cx.file));
        cx.diags.push(
            Diagnostic::new(
                at,
                format!(
                    "quota `unlimited` while application(s) {} have not passed a PoC (Juknis II.B.2)",
                    pending.join(", ")
                ),
            )
            .hint(hint),
        );
    }
}

fn agreement(cx: &mut Ctx<'_>, raw: raw::Agreement) -> Agreement {
    let poc_done = raw.poc_done.as_ref().is_some_and(|f| f.value);
    let quota = match raw.quota_per_day {
        None if poc_done => Quota::Unlimited,
        None => Quota::PerDay(200),
        Some(q) => match &q.value {
            raw::Quota::Limit(0) => {
                cx.error_hint(
                    &q,
                    "quota_per_day must be at least 1",
                    "write `unlimited` after the PoC",
                );
                Quota::PerDay(200)
            }
            raw::Quota::Limit(n) => Quota::PerDay(*n),
            raw::Quota::Word(w) if w.eq_ignore_ascii_case("unlimited") => Quota::Unlimited,
            raw::Quota::Word(w) => {
                cx.error_hint(
                    &q,
                    format!("quota_per_day `{w}` is neither a number nor `unlimited`"),
                    "the Juknis gives 200 NIK hits a day until the PoC is done",
                );
                Quota::PerDay(200)
            }
        },
    };
    let elements = match raw.elements {
        None => Element::NINE.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for e in list {
                match Element::NINE.iter().find(|k| k.key() == e.value) {
                    Some(k) if out.contains(k) => {
                        cx.error(&e, format!("element `{}` is listed twice", e.value));
                    }
                    Some(k) => out.push(*k),
                    None => {
                        let keys = Element::NINE.map(Element::key);
                        let hint = did_you_mean(&e.value, keys)
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| format!("known elements: {}", keys.join(", ")));
                        cx.error_hint(&e, format!("unknown data element `{}`", e.value), hint);
                    }
                }
            }
            out
        }
    };
    let contacts = raw
        .contacts
        .into_iter()
        .filter_map(|c| {
            let fields = [
                ("party", c.value.party.is_some()),
                ("name", c.value.name.is_some()),
            ];
            if !require(cx, &c, "contact", &fields) {
                return None;
            }
            let (Some(party_s), Some(name)) = (&c.value.party, &c.value.name) else {
                return None;
            };
            let party = match party_s.value.to_ascii_lowercase().as_str() {
                "opd" => Party::Opd,
                "diskominfo" => Party::Diskominfo,
                "disdukcapil" | "dukcapil" => Party::Disdukcapil,
                "ditjen" => Party::Ditjen,
                other => {
                    cx.error_hint(
                        party_s,
                        format!("unknown party `{other}`"),
                        "one of: opd, diskominfo, disdukcapil, ditjen",
                    );
                    return None;
                }
            };
            Some(Contact {
                party,
                name: name.clone(),
                phone: c.value.phone.clone(),
                role: c.value.role.clone(),
            })
        })
        .collect();
    let mut purposes = Vec::new();
    for p in &raw.purposes {
        let fields = [
            ("code", p.value.code.is_some()),
            ("text", p.value.text.is_some()),
        ];
        if !require(cx, p, "purpose", &fields) {
            continue;
        }
        let (Some(code), Some(text)) = (&p.value.code, &p.value.text) else {
            continue;
        };
        let c = code.value.trim();
        if c.is_empty()
            || !c
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_')
        {
            cx.error_hint(
                code,
                format!("purpose code `{c}` is not a short code"),
                "lower-case letters, digits, `-` and `_`, e.g. `bansos`",
            );
            continue;
        }
        if purposes.iter().any(|q: &Purpose| q.code == c) {
            cx.error(code, format!("purpose code `{c}` is listed twice"));
            continue;
        }
        purposes.push(Purpose {
            code: c.to_owned(),
            text: text.trim().to_owned(),
        });
    }
    let purpose = raw.purpose.clone().unwrap_or_else(|| {
        purposes.first().map_or_else(
            || "verifikasi dan validasi data layanan".to_string(),
            |p| p.text.clone(),
        )
    });
    if purposes.is_empty() {
        purposes.push(Purpose {
            code: "utama".to_owned(),
            text: purpose.clone(),
        });
    }
    let before_poc = match &raw.before_poc {
        None => BeforePoc::Quota,
        Some(b) => match b.value.trim() {
            "quota" => BeforePoc::Quota,
            "sandbox" => BeforePoc::Sandbox,
            other => {
                cx.error_hint(
                    b,
                    format!("before_poc `{other}` is neither `quota` nor `sandbox`"),
                    "`quota`: production within the PoC quota; `sandbox`: no production look-ups before the PoC",
                );
                BeforePoc::Quota
            }
        },
    };
    let start = raw
        .start
        .as_ref()
        .and_then(|d| date(cx, d, "agreement start"));
    let end = raw.end.as_ref().and_then(|d| date(cx, d, "agreement end"));
    if let (Some(s), Some(e), Some(raw_e)) = (start, end, &raw.end)
        && e < s
    {
        cx.error_hint(
            raw_e,
            format!("the agreement ends ({e}) before it starts ({s})"),
            "check `start` and `end`",
        );
    }
    let report_email = raw.report_email.as_ref().and_then(|a| {
        let v = a.value.trim();
        if v.parse::<lettre::Address>().is_ok() {
            Some(v.to_owned())
        } else {
            cx.error_hint(
                a,
                format!("report_email `{v}` is not an e-mail address"),
                "the address the Juknis gives for the semester report's soft copy (V.B), e.g. laporan@dukcapil.example.go.id",
            );
            None
        }
    });
    let lookups_per_minute = match &raw.lookups_per_minute {
        None => DEFAULT_LOOKUPS_PER_MINUTE,
        Some(n) if (1..=600).contains(&n.value) => n.value,
        Some(n) => {
            cx.error_hint(
                n,
                format!("lookups_per_minute {} is outside 1..600", n.value),
                "the Juknis forbids look-ups close together (II.E.1); 10 a minute is the default",
            );
            DEFAULT_LOOKUPS_PER_MINUTE
        }
    };
    Agreement {
        purposes,
        before_poc,
        end_user_required: raw.end_user_required,
        lookups_per_minute,
        start,
        end,
        opd: raw
            .opd
            .unwrap_or_else(|| "OPD/Lembaga Pengguna".to_string()),
        dukcapil: raw.dukcapil.unwrap_or_else(|| {
            "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bandung".to_string()
        }),
        pks_dukcapil: raw.pks_dukcapil,
        pks_opd: raw.pks_opd,
        pks_date: raw.pks_date,
        report_email,
        purpose,
        quota,
        poc_done,
        uses_mobile_app: raw.uses_mobile_app,
        elements,
        contacts,
    }
}

/// Report each required field that is absent, at the item it belongs to.
fn require<T>(cx: &mut Ctx<'_>, item: &Spanned<T>, what: &str, fields: &[(&str, bool)]) -> bool {
    let mut ok = true;
    for (name, present) in fields {
        if !present {
            cx.error_hint(
                item,
                format!("{what} is missing `{name}`"),
                format!("add `{name}:` to this {what}"),
            );
            ok = false;
        }
    }
    ok
}

/// Ids are short, lower case, and safe in metrics labels and file names.
fn check_id(cx: &mut Ctx<'_>, id: &S<String>, what: &str) -> bool {
    let ok = !id.value.is_empty()
        && id.value.len() <= 64
        && id
            .value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        cx.error_hint(
            id,
            format!("{what} id `{}` is not a valid id", id.value),
            "use lower-case letters, digits, `-` and `_` (at most 64), e.g. `opd-router`",
        );
    }
    ok
}

fn check_unique<'a>(
    cx: &mut Ctx<'_>,
    ids: impl Iterator<Item = Option<&'a S<String>>>,
    what: &str,
) {
    let mut seen: BTreeMap<&str, &S<String>> = BTreeMap::new();
    for id in ids.flatten() {
        if let Some(first) = seen.get(id.value.as_str()) {
            let first_line = first.referenced.line();
            cx.error_hint(
                id,
                format!("duplicate {what} id `{}`", id.value),
                format!("first declared on line {first_line}; ids must be unique"),
            );
        } else {
            seen.insert(&id.value, id);
        }
    }
}

fn zones(cx: &mut Ctx<'_>, raw: &[S<raw::Zone>]) -> Vec<Zone> {
    check_unique(cx, raw.iter().map(|z| z.value.id.as_ref()), "zone");
    let mut zones = Vec::new();
    for item in raw {
        let z = &item.value;
        let Some(id) = &z.id else {
            require(cx, item, "zone", &[("id", false)]);
            continue;
        };
        check_id(cx, id, "zone");
        let kind_word = z
            .kind
            .as_ref()
            .map(|k| k.value.as_str())
            .unwrap_or(&id.value);
        let kind = ZoneKind::ALL.into_iter().find(|k| k.key() == kind_word);
        let Some(kind) = kind else {
            let keys = ZoneKind::ALL.map(ZoneKind::key);
            match &z.kind {
                Some(k) => cx.error_hint(
                    k,
                    format!("unknown zone kind `{}`", k.value),
                    format!("one of: {}", keys.join(", ")),
                ),
                None => cx.error_hint(
                    id,
                    format!("zone `{}` needs a `kind`", id.value),
                    format!("add `kind:` with one of: {}", keys.join(", ")),
                ),
            }
            continue;
        };
        zones.push(Zone {
            id: ZoneId::new(id.value.clone()),
            kind,
            name: z
                .name
                .clone()
                .unwrap_or_else(|| kind.default_name().to_string()),
        });
    }
    zones.sort_by_key(|z| z.kind);
    zones
}

fn ip(cx: &mut Ctx<'_>, s: &S<String>) -> Option<IpAddr> {
    match s.value.trim().parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            let hint = if s.value.contains('/') {
                "an address has no prefix: put the network in `network:`".to_string()
            } else {
                "write an IPv4 address like `10.32.4.100` or an IPv6 address".to_string()
            };
            cx.error_hint(s, format!("`{}` is not a valid IP address", s.value), hint);
            None
        }
    }
}

fn cidr(cx: &mut Ctx<'_>, s: &S<String>) -> Option<Cidr> {
    match s.value.parse::<Cidr>() {
        Ok(c) => Some(c),
        Err(why) => {
            cx.error_hint(
                s,
                format!("invalid network: {why}"),
                "write a CIDR like `10.32.4.0/24`",
            );
            None
        }
    }
}

fn nodes(
    cx: &mut Ctx<'_>,
    raw: &[S<raw::Node>],
    zones: &[Zone],
    profiles: Option<&BTreeSet<String>>,
) -> Vec<Node> {
    check_unique(cx, raw.iter().map(|n| n.value.id.as_ref()), "node");
    let zone_ids: Vec<&str> = zones.iter().map(|z| z.id.as_str()).collect();
    let mut out = Vec::new();
    for item in raw {
        let n = &item.value;
        let fields = [
            ("id", n.id.is_some()),
            ("zone", n.zone.is_some()),
            ("kind", n.kind.is_some()),
        ];
        require(cx, item, "node", &fields);
        let (Some(id), Some(zone), Some(kind_s)) = (&n.id, &n.zone, &n.kind) else {
            continue;
        };
        check_id(cx, id, "node");
        if !zone_ids.contains(&zone.value.as_str()) {
            let hint = did_you_mean(&zone.value, zone_ids.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("declared zones: {}", zone_ids.join(", ")));
            cx.error_hint(
                zone,
                format!("node `{}` is in unknown zone `{}`", id.value, zone.value),
                hint,
            );
        }
        let kind = node_kind(cx, n, kind_s);
        let address = n.address.as_ref().and_then(|a| ip(cx, a));
        let network = n.network.as_ref().and_then(|c| cidr(cx, c));
        if let (Some(a), Some(net), Some(raw_a)) = (address, network, &n.address)
            && !net.contains(a)
        {
            cx.error_hint(
                raw_a,
                format!("address {a} is not inside the node's network {net}"),
                "fix the address or the network",
            );
        }
        if let Some(url) = &n.url {
            let owner = format!("node `{}`", n.id.as_ref().map_or("?", |i| i.value.as_str()));
            check_url(cx, url, &owner);
        }
        let probes: Vec<String> = match &n.probes {
            Some(list) => {
                for p in list {
                    if let Some(known) = profiles
                        && !known.contains(&p.value)
                    {
                        let hint = did_you_mean(&p.value, known.iter().map(String::as_str))
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| {
                                format!(
                                    "profiles are files in the probe folder: {}",
                                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                                )
                            });
                        cx.error_hint(p, format!("unknown probe profile `{}`", p.value), hint);
                    }
                    if address.is_none() && n.url.is_none() {
                        cx.error_hint(
                            p,
                            format!(
                                "node `{}` has probes but no address or url to probe",
                                id.value
                            ),
                            "add `address:` or `url:`",
                        );
                    }
                }
                list.iter().map(|p| p.value.clone()).collect()
            }
            // By default every addressed device is pinged; applications are not probed.
            None if address.is_some() && !matches!(kind, Some(NodeKind::App(_))) => {
                if profiles.is_some_and(|k| k.contains("icmp")) || profiles.is_none() {
                    vec!["icmp".to_string()]
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        };
        let tls = match (&n.tls_pin, &n.tls_ca) {
            (Some(pin), Some(_)) => {
                cx.error_hint(
                    pin,
                    "give either `tls_pin` or `tls_ca`, not both",
                    "a pin is checked alone",
                );
                TlsTrust::System
            }
            (Some(pin), None) => tls_pin(cx, pin).unwrap_or(TlsTrust::System),
            (None, Some(ca)) => TlsTrust::CaFile(resolve(file_of(cx), &ca.value)),
            (None, None) => TlsTrust::System,
        };
        let Some(kind) = kind else { continue };
        let poc = match (&n.poc, kind) {
            (Some(p), NodeKind::App(_)) => Some(poc(cx, p, &id.value)),
            (Some(p), _) => {
                cx.error_hint(
                    p,
                    format!(
                        "node `{}` is not an application; only `kind: app` has a PoC",
                        id.value
                    ),
                    "move `poc:` to the application node",
                );
                None
            }
            (None, NodeKind::App(_)) => Some(Poc::default()),
            (None, _) => None,
        };
        out.push(Node {
            poc,
            id: NodeId::new(id.value.clone()),
            zone: ZoneId::new(zone.value.clone()),
            kind,
            name: n.name.clone().unwrap_or_else(|| id.value.clone()),
            address,
            network,
            url: n.url.as_ref().map(|u| u.value.clone()),
            probes,
            tls,
            note: n.note.clone(),
        });
    }
    out
}

/// A URL must be http(s) and hold no credential.
fn check_url(cx: &mut Ctx<'_>, url: &S<String>, owner: &str) {
    if has_userinfo(&url.value) {
        // Not echoed: the part before `@` is a credential.
        cx.error_hint(
            url,
            format!(
                "the `url` of {owner} holds a user name or password (`…@`); the topology must not hold secrets"
            ),
            SECRETS_HINT,
        );
    } else if !(url.value.starts_with("http://") || url.value.starts_with("https://")) {
        cx.error_hint(
            url,
            format!("`{}` is not an http(s) URL", url.value),
            "write e.g. `https://127.0.0.1:8443/`",
        );
    }
}

/// A SHA-256 fingerprint, 64 hex digits with optional colons.
fn tls_pin(cx: &mut Ctx<'_>, pin: &S<String>) -> Option<TlsTrust> {
    let hex: String = pin
        .value
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(TlsTrust::Fingerprint(hex))
    } else {
        cx.error_hint(
            pin,
            format!("`{}` is not a SHA-256 fingerprint", pin.value),
            "64 hex digits, colons allowed: `openssl x509 -noout -fingerprint -sha256 -in cert.pem`",
        );
        None
    }
}

/// The longest interface name Linux accepts (`IFNAMSIZ` less the terminating zero).
const IFNAMSIZ_MAX: usize = 15;

/// A route's `egress:`; `None` (after reporting) when something in it is wrong.
/// `failback_hold: 5m`: a duration between [`MIN_FAILBACK_HOLD`] and [`MAX_FAILBACK_HOLD`].
fn failback_hold(cx: &mut Ctx<'_>, raw: Option<&S<String>>) -> std::time::Duration {
    let Some(h) = raw else {
        return super::DEFAULT_FAILBACK_HOLD;
    };
    let hint = "a duration such as `failback_hold: 5m` (units: s, m, h), from 10s to 24h";
    match super::parse_duration(&h.value) {
        None => {
            cx.error_hint(h, format!("`{}` is not a duration", h.value), hint);
            super::DEFAULT_FAILBACK_HOLD
        }
        Some(d) if !(super::MIN_FAILBACK_HOLD..=super::MAX_FAILBACK_HOLD).contains(&d) => {
            cx.error_hint(
                h,
                format!("failback hold `{}` is outside 10s..24h", h.value),
                hint,
            );
            super::DEFAULT_FAILBACK_HOLD
        }
        Some(d) => d,
    }
}

fn egress(
    cx: &mut Ctx<'_>,
    path: &str,
    name: &str,
    raw: Option<&S<raw::Egress>>,
) -> Option<Egress> {
    let Some(e) = raw else {
        return Some(Egress::default());
    };
    let mut ok = true;
    let source = match &e.value.source {
        Some(s) => {
            let ip = ip(cx, s);
            ok &= ip.is_some();
            ip
        }
        None => None,
    };
    let interface = match &e.value.interface {
        Some(i) => {
            let v = i.value.trim();
            let bad = v.is_empty()
                || v.len() > IFNAMSIZ_MAX
                || v == "."
                || v == ".."
                || v.chars().any(|c| c == '/' || c == ':' || c.is_whitespace());
            if bad {
                cx.error_hint(
                    i,
                    format!("`{}` is not a network interface name", i.value),
                    format!(
                        "1 to {IFNAMSIZ_MAX} characters, no `/`, `:` or space, as `ip link` shows it (e.g. `wg0`)"
                    ),
                );
                ok = false;
            }
            Some(v.to_string())
        }
        None => None,
    };
    let url = match &e.value.url {
        Some(u) => {
            let before = cx.diags.len();
            check_url(cx, u, &format!("path `{path}` ({name})"));
            ok &= cx.diags.len() == before;
            Some(u.value.clone())
        }
        None => None,
    };
    let tls = match &e.value.tls_pin {
        Some(p) => {
            let t = tls_pin(cx, p);
            ok &= t.is_some();
            t
        }
        None => None,
    };
    if source.is_none() && interface.is_none() && url.is_none() && tls.is_none() {
        cx.error_hint(
            e,
            format!("`egress` of path `{path}` ({name}) is empty"),
            "give `source:` (a local address), `interface:`, `url:` or `tls_pin:`, or remove it",
        );
        ok = false;
    }
    ok.then_some(Egress {
        source,
        interface,
        url,
        tls,
    })
}

fn node_kind(cx: &mut Ctx<'_>, n: &raw::Node, kind_s: &S<String>) -> Option<NodeKind> {
    let kind = match kind_s.value.as_str() {
        "access_point" => NodeKind::AccessPoint,
        "router" => NodeKind::Router,
        "switch" => NodeKind::Switch,
        "firewall" => NodeKind::Firewall,
        "server" => NodeKind::Server,
        "card_reader" => NodeKind::CardReader,
        "client" => NodeKind::Client,
        "app" => {
            let platform = match n.platform.as_ref().map(|p| p.value.as_str()) {
                None | Some("web") => Platform::Web,
                Some("mobile") => Platform::Mobile,
                Some("desktop") => Platform::Desktop,
                Some(other) => {
                    if let Some(p) = &n.platform {
                        cx.error_hint(
                            p,
                            format!("unknown platform `{other}`"),
                            "one of: web, mobile, desktop",
                        );
                    }
                    return None;
                }
            };
            NodeKind::App(platform)
        }
        "service" => {
            let service = match n.service.as_ref().map(|s| s.value.as_str()) {
                Some("web_portal") => ServiceKind::WebPortal,
                Some("data_balikan") => ServiceKind::DataBalikan,
                None | Some("other") => ServiceKind::Other,
                Some(other) => {
                    if let Some(s) = &n.service {
                        cx.error_hint(
                            s,
                            format!("unknown service `{other}`"),
                            "one of: web_portal, data_balikan, other",
                        );
                    }
                    return None;
                }
            };
            NodeKind::Service(service)
        }
        other => {
            let hint = did_you_mean(other, NodeKind::KEYS)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("one of: {}", NodeKind::KEYS.join(", ")));
            cx.error_hint(kind_s, format!("unknown node kind `{other}`"), hint);
            return None;
        }
    };
    if n.platform.is_some()
        && !matches!(kind, NodeKind::App(_))
        && let Some(p) = &n.platform
    {
        cx.error_hint(
            p,
            "`platform` applies only to nodes of kind `app`",
            "remove it or set `kind: app`",
        );
    }
    if n.service.is_some()
        && !matches!(kind, NodeKind::Service(_))
        && let Some(s) = &n.service
    {
        cx.error_hint(
            s,
            "`service` applies only to nodes of kind `service`",
            "remove it or set `kind: service`",
        );
    }
    Some(kind)
}

fn node_ref(cx: &mut Ctx<'_>, r: &S<String>, nodes: &[Node], role: &str) -> bool {
    if nodes.iter().any(|n| n.id.as_str() == r.value) {
        return true;
    }
    let hint = did_you_mean(&r.value, nodes.iter().map(|n| n.id.as_str()))
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| "declare the node under `nodes:` first".to_string());
    cx.error_hint(
        r,
        format!("{role} `{}` is not a declared node", r.value),
        hint,
    );
    false
}

fn bandwidth(cx: &mut Ctx<'_>, s: &S<String>) -> Option<Bandwidth> {
    match s.value.parse::<Bandwidth>() {
        Ok(b) => Some(b),
        Err(e) => {
            cx.error_hint(s, format!("invalid bandwidth `{}`: {e}", s.value), e.hint());
            None
        }
    }
}

fn links(
    cx: &mut Ctx<'_>,
    raw: &[S<raw::Link>],
    nodes: &[Node],
    profiles: Option<&BTreeSet<String>>,
) -> Vec<Link> {
    check_unique(cx, raw.iter().map(|l| l.value.id.as_ref()), "link");
    let mut out = Vec::new();
    for item in raw {
        let l = &item.value;
        let fields = [
            ("id", l.id.is_some()),
            ("from", l.from.is_some()),
            ("to", l.to.is_some()),
        ];
        require(cx, item, "link", &fields);
        let (Some(id), Some(from), Some(to)) = (&l.id, &l.from, &l.to) else {
            continue;
        };
        check_id(cx, id, "link");
        let from_ok = node_ref(cx, from, nodes, "link end `from`");
        let to_ok = node_ref(cx, to, nodes, "link end `to`");
        if from.value == to.value {
            cx.error(
                to,
                format!("link `{}` joins node `{}` to itself", id.value, to.value),
            );
        }
        let bw = l.bandwidth.as_ref().and_then(|b| bandwidth(cx, b));
        let network = l.network.as_ref().and_then(|c| cidr(cx, c));
        let mut tiers = Vec::new();
        for t in &l.tiers {
            let Some(tier_bw) = &t.value.bandwidth else {
                require(cx, t, "tier", &[("bandwidth", false)]);
                continue;
            };
            if let Some(b) = bandwidth(cx, tier_bw) {
                tiers.push(Tier {
                    bandwidth: b,
                    cost_per_month: t.value.cost_per_month,
                });
            }
        }
        tiers.sort_by_key(|t| t.bandwidth);
        let share = match &l.probe_share_percent {
            None => DEFAULT_PROBE_SHARE_PERCENT,
            Some(p) if p.value > 0.0 && p.value <= 100.0 => p.value,
            Some(p) => {
                cx.error_hint(
                    p,
                    format!("probe_share_percent {} is out of range", p.value),
                    "a percentage above 0 and at most 100; the default is 1",
                );
                DEFAULT_PROBE_SHARE_PERCENT
            }
        };
        let snmp = l
            .snmp
            .as_ref()
            .and_then(|s| snmp_poll(cx, &id.value, s, nodes, profiles));
        if from_ok && to_ok {
            out.push(Link {
                id: LinkId::new(id.value.clone()),
                from: NodeId::new(from.value.clone()),
                to: NodeId::new(to.value.clone()),
                provider: l.provider.clone(),
                bandwidth: bw,
                network,
                tiers,
                probe_share: share / 100.0,
                snmp,
            });
        }
    }
    out
}

/// The SNMP poll of a link's interface: an agent node with an address, a version, one way to
/// name the interface and a credentials reference.
fn snmp_poll(
    cx: &mut Ctx<'_>,
    link: &str,
    item: &S<raw::Snmp>,
    nodes: &[Node],
    profiles: Option<&BTreeSet<String>>,
) -> Option<SnmpPoll> {
    let s = &item.value;
    let fields = [
        ("agent", s.agent.is_some()),
        ("version", s.version.is_some()),
        ("credentials", s.credentials.is_some()),
    ];
    let mut ok = require(cx, item, &format!("`snmp` of link `{link}`"), &fields);
    let address = match &s.agent {
        Some(agent) if node_ref(cx, agent, nodes, "SNMP agent") => {
            let node = nodes.iter().find(|n| n.id.as_str() == agent.value)?;
            if node.address.is_none() {
                cx.error_hint(
                    agent,
                    format!("SNMP agent `{}` has no address", agent.value),
                    format!(
                        "add `address:` to node `{}`: SNMP is polled over UDP",
                        agent.value
                    ),
                );
            }
            node.address
        }
        _ => None,
    };
    let version = match &s.version {
        Some(v) => match v.value.to_ascii_lowercase().as_str() {
            "v2c" | "2c" => Some(SnmpVersion::V2c),
            "v3" | "3" => Some(SnmpVersion::V3),
            other => {
                cx.error_hint(
                    v,
                    format!("unknown SNMP version `{other}`"),
                    "one of: v2c, v3 (v1 has no 64-bit interface counters)",
                );
                None
            }
        },
        None => None,
    };
    let port = match &s.port {
        Some(p) if p.value == 0 => {
            cx.error_hint(
                p,
                "SNMP port 0 is not a port",
                "the SNMP agent port is usually 161",
            );
            ok = false;
            161
        }
        Some(p) => p.value,
        None => 161,
    };
    let interface = match (&s.if_index, &s.if_name) {
        (Some(i), None) if i.value == 0 => {
            cx.error_hint(
                i,
                "ifIndex 0 does not exist",
                "interface indices start at 1",
            );
            None
        }
        (Some(i), None) => Some(Interface::Index(i.value)),
        (None, Some(n)) if n.value.trim().is_empty() => {
            cx.error_hint(
                n,
                "`if_name` is empty",
                "write the interface name, e.g. `ether1`",
            );
            None
        }
        (None, Some(n)) => Some(Interface::Name(n.value.trim().to_string())),
        (Some(i), Some(_)) => {
            cx.error_hint(
                i,
                "give either `if_index` or `if_name`, not both",
                "a name is looked up in ifName/ifDescr when the probe starts",
            );
            None
        }
        (None, None) => {
            cx.error_hint(
                item,
                format!("`snmp` of link `{link}` names no interface"),
                "add `if_name: ether1` (looked up in ifName/ifDescr) or `if_index: N`",
            );
            None
        }
    };
    let profile = match &s.profile {
        Some(p) => {
            if let Some(known) = profiles
                && !known.contains(&p.value)
            {
                cx.error_hint(
                    p,
                    format!("unknown probe profile `{}`", p.value),
                    "profiles are files in the probe folder; the shipped one is `snmp`",
                );
            }
            p.value.clone()
        }
        None => "snmp".to_string(),
    };
    if let Some(c) = &s.credentials
        && c.value.trim().is_empty()
    {
        cx.error_hint(
            c,
            "`credentials` is empty",
            "name an entry under `snmp:` in the secrets file",
        );
        ok = false;
    }
    Some(SnmpPoll {
        agent: NodeId::new(s.agent.as_ref()?.value.clone()),
        address: address?,
        port,
        version: version?,
        interface: interface?,
        credentials: s.credentials.as_ref()?.value.clone(),
        profile,
    })
    .filter(|_| ok)
}

fn paths(cx: &mut Ctx<'_>, raw: &[S<raw::Path>], nodes: &[Node], links: &[Link]) -> Vec<Path> {
    check_unique(cx, raw.iter().map(|p| p.value.id.as_ref()), "path");
    let mut out = Vec::new();
    for item in raw {
        let p = &item.value;
        let fields = [
            ("id", p.id.is_some()),
            ("service", p.service.is_some()),
            ("primary", !p.primary.is_empty()),
        ];
        require(cx, item, "path", &fields);
        let (Some(id), Some(service)) = (&p.id, &p.service) else {
            continue;
        };
        if p.primary.is_empty() {
            continue;
        }
        check_id(cx, id, "path");
        let service_ok = node_ref(cx, service, nodes, "path service");
        if service_ok {
            let is_service = nodes
                .iter()
                .any(|n| n.id.as_str() == service.value && matches!(n.kind, NodeKind::Service(_)));
            if !is_service {
                cx.error_hint(
                    service,
                    format!("path target `{}` is not a service node", service.value),
                    "a path ends at a node of `kind: service`",
                );
            }
        }
        let mut routes = Vec::new();
        let all = std::iter::once(("primary".to_string(), &p.primary, p.egress.as_ref())).chain(
            p.alternates.iter().enumerate().map(|(i, a)| {
                (
                    format!("alternate-{}", i + 1),
                    &a.value.hops,
                    a.value.egress.as_ref(),
                )
            }),
        );
        for (name, hops, raw_egress) in all {
            let egress = egress(cx, &id.value, &name, raw_egress);
            if let Some(mut route) = route(cx, &id.value, &name, hops, id, service, nodes, links)
                && let Some(egress) = egress
            {
                route.egress = egress;
                routes.push(route);
            }
        }
        let failback_hold = failback_hold(cx, p.failback_hold.as_ref());
        out.push(Path {
            id: PathId::new(id.value.clone()),
            service: NodeId::new(service.value.clone()),
            routes,
            failback_hold,
        });
    }
    out
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename the list"
)]
fn route(
    cx: &mut Ctx<'_>,
    path: &str,
    name: &str,
    hops: &[S<String>],
    at: &S<String>,
    service: &S<String>,
    nodes: &[Node],
    links: &[Link],
) -> Option<Route> {
    if hops.len() < 2 {
        cx.error_hint(
            at,
            format!("path `{path}` ({name}) needs at least two hops"),
            "list the nodes from the OPD to the service, in order",
        );
        return None;
    }
    let mut ok = true;
    for h in hops {
        ok &= node_ref(cx, h, nodes, "hop");
    }
    let mut seen = BTreeSet::new();
    for h in hops {
        if !seen.insert(h.value.as_str()) {
            cx.error(
                h,
                format!("path `{path}` ({name}) visits `{}` twice", h.value),
            );
            ok = false;
        }
    }
    if let Some(last) = hops.last()
        && last.value != service.value
    {
        cx.error_hint(
            last,
            format!(
                "path `{path}` ({name}) ends at `{}`, not at its service `{}`",
                last.value, service.value
            ),
            "the last hop must be the service",
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let mut route_links = Vec::new();
    for pair in hops.windows(2) {
        let (a, b) = (&pair[0].value, &pair[1].value);
        let link = links.iter().find(|l| {
            (l.from.as_str() == a && l.to.as_str() == b)
                || (l.from.as_str() == b && l.to.as_str() == a)
        });
        match link {
            Some(l) => route_links.push(l.id.clone()),
            None => {
                cx.error_hint(
                    &pair[1],
                    format!("path `{path}` ({name}): no link joins `{a}` and `{b}`"),
                    format!(
                        "add a link with `from: {a}` and `to: {b}`, or fix the order of the hops"
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then(|| Route {
        name: name.to_string(),
        hops: hops.iter().map(|h| NodeId::new(h.value.clone())).collect(),
        links: route_links,
        egress: Egress::default(),
    })
}
