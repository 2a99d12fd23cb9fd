//! The topology as users write it: shipped files load, every kind of mistake is reported with
//! its line and column, and the Lampiran I lint names each missing item.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use juknis::topology::{self, Diagnostics, Topology, lint};
use rstest::rstest;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn profiles(_: &Path) -> Option<BTreeSet<String>> {
    Some(
        ["icmp", "tls", "https", "tcp"]
            .into_iter()
            .map(String::from)
            .collect(),
    )
}

fn parse(text: &str) -> Result<Topology, Diagnostics> {
    topology::parse(text, Path::new("t.yaml"), &profiles)
}

fn demo_text() -> String {
    std::fs::read_to_string(root().join("topology/demo.yaml")).expect("demo.yaml")
}

#[test]
fn every_shipped_topology_loads_and_passes_the_lint() {
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("topology")).expect("topology/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let t = topology::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(lint::lampiran1(&t), vec![], "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 2, "bandung.yaml and demo.yaml at least");
}

#[test]
fn bandung_carries_the_juknis_facts() {
    let t = topology::load(&root().join("topology/bandung.yaml")).expect("loads");
    let ip = |id: &str| {
        t.node(&topology::NodeId::new(id))
            .and_then(|n| n.address)
            .map(|a| a.to_string())
    };
    assert_eq!(ip("ap-dukcapil").as_deref(), Some("10.32.4.100"));
    assert_eq!(ip("web-portal").as_deref(), Some("172.16.160.177"));
    assert_eq!(ip("data-balikan").as_deref(), Some("172.16.160.189"));
    let wan: Vec<_> = t.contracted_links().collect();
    assert_eq!(wan.len(), 1);
    assert_eq!(
        wan[0].bandwidth.map(|b| b.to_string()).as_deref(),
        Some("512 Kbps")
    );
    assert_eq!(t.agreement.quota, topology::Quota::PerDay(200));
    assert_eq!(t.agreement.elements.len(), 9);
}

#[test]
fn demo_uses_only_loopback() {
    let t = topology::load(&root().join("topology/demo.yaml")).expect("loads");
    for n in &t.nodes {
        if let Some(a) = n.address {
            assert!(a.is_loopback(), "{} has {a}", n.id);
        }
        if let Some(url) = &n.url {
            assert!(url.contains("://127."), "{} has {url}", n.id);
        }
    }
}

/// The `line:column` and message of the diagnostic that says `message`, for a one-mistake
/// edit of the demo file.
fn error_saying(text: &str, message: &str) -> (u64, u64, String) {
    let diags = parse(text).expect_err("should be rejected");
    let d = diags
        .iter()
        .find(|d| d.message.contains(message))
        .unwrap_or_else(|| panic!("no diagnostic says `{message}`:\n{diags}"));
    (d.location.line, d.location.column, d.message.clone())
}

fn line_col_of(text: &str, needle: &str) -> (u64, u64) {
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line.find(needle) {
            return (i as u64 + 1, c as u64 + 1);
        }
    }
    panic!("`{needle}` not in text");
}

#[rstest]
#[case::unknown_key(
    "{id: app-web, zone: opd,",
    "{id: app-web, zne: opd,",
    "zne",
    "unknown key `zne`"
)]
#[case::duplicate_id(
    "{id: app-mobile,",
    "{id: app-web,",
    "app-web, zone: opd, kind: app, platform: mobile",
    "duplicate node id `app-web`"
)]
#[case::dangling_zone(
    "{id: kominfo-router, zone: diskominfo,",
    "{id: kominfo-router, zone: kominfo,",
    "kominfo, kind: router",
    "unknown zone `kominfo`"
)]
#[case::dangling_link(
    "{id: lan-ap, from: opd-router,",
    "{id: lan-ap, from: opd-ruter,",
    "opd-ruter",
    "not a declared node"
)]
#[case::bad_ip(
    "address: 127.0.0.3}",
    "address: 127.0.0.300}",
    "127.0.0.300",
    "not a valid IP address"
)]
#[case::bad_cidr(
    "network: 127.0.0.0/8}",
    "network: 127.0.0.0/40}",
    "127.0.0.0/40",
    "invalid network"
)]
#[case::bad_unit(
    "bandwidth: 512 Kbps",
    "bandwidth: 512 KB",
    "512 KB",
    "not a bandwidth unit"
)]
#[case::unknown_profile(
    "probes: [icmp, tls]}",
    "probes: [icmpp, tls]}",
    "icmpp",
    "unknown probe profile `icmpp`"
)]
fn mistakes_are_located(
    #[case] from: &str,
    #[case] to: &str,
    #[case] at: &str,
    #[case] message: &str,
) {
    let text = demo_text();
    assert!(text.contains(from), "fixture drifted: {from}");
    let edited = text.replacen(from, to, 1);
    let (line, col, msg) = error_saying(&edited, message);
    let (want_line, want_col) = line_col_of(&edited, at);
    assert!(msg.contains(message), "message `{msg}` lacks `{message}`");
    assert_eq!((line, col), (want_line, want_col), "{msg}");
}

#[test]
fn a_path_whose_hops_do_not_connect_names_the_gap() {
    let text = demo_text().replacen(
        "primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, web-portal]",
        "primary: [opd-router, kominfo-router, dukcapil-router, web-portal]",
        1,
    );
    let diags = parse(&text).expect_err("gap");
    let d = diags.iter().next().expect("one");
    assert!(
        d.message
            .contains("no link joins `opd-router` and `kominfo-router`"),
        "{}",
        d.message
    );
    let (line, _) = line_col_of(&text, "primary: [opd-router, kominfo-router");
    assert_eq!(d.location.line, line);
    assert!(d.hint.as_deref().unwrap_or("").contains("add a link"));
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let text = demo_text()
        .replacen("{id: app-web, zone: opd,", "{id: app-web, zne: opd,", 1)
        .replacen("bandwidth: 512 Kbps", "bandwidth: 512 KB", 1)
        .replacen("address: 127.0.0.3}", "address: 127.0.0.300}", 1)
        .replacen(
            "{id: lan-ap, from: opd-router,",
            "{id: lan-ap, from: opd-ruter,",
            1,
        );
    let diags = parse(&text).expect_err("four mistakes");
    let text_of_all = diags.to_string();
    for needle in ["zne", "512 KB", "127.0.0.300", "opd-ruter"] {
        assert!(
            text_of_all.contains(needle),
            "missing `{needle}` in:\n{text_of_all}"
        );
    }
    // Every line names file:line:column.
    for d in diags.iter() {
        assert!(d.location.line > 0 && d.location.column > 0, "{d}");
        assert!(d.to_string().starts_with("t.yaml:"), "{d}");
    }
}

/// A secret written into the topology is refused where it stands, with a pointer to the
/// secrets file, and its value is not repeated in the error (errors go to the journal).
#[rstest]
#[case::password_in_a_node(
    "{id: web-portal, zone: disdukcapil,",
    "{id: web-portal, password: KANARI-sandi-1, zone: disdukcapil,",
    "password: KANARI",
    "`password` in `nodes[6]` looks like a secret"
)]
#[case::token_in_a_node(
    "{id: data-balikan, zone: disdukcapil,",
    "{id: data-balikan, balikan_token: KANARI-token-2, zone: disdukcapil,",
    "balikan_token: KANARI",
    "`balikan_token` in `nodes[7]` looks like a secret"
)]
#[case::secrets_section_pasted_at_the_top(
    "\nzones:",
    "\nportal:\n  user_id: opd\n  password: KANARI-sandi-3\nzones:",
    "portal:",
    "`portal` in the top level looks like a secret"
)]
#[case::api_tokens_at_the_top(
    "\nzones:",
    "\napi_tokens:\n  app-web: KANARI-token-4\nzones:",
    "api_tokens:",
    "`api_tokens` in the top level looks like a secret"
)]
#[case::password_in_a_url(
    "url: \"https://127.0.0.5:18443/\"",
    "url: \"https://opd:KANARI-sandi-5@127.0.0.5:18443/\"",
    "\"https://opd:KANARI",
    "the `url` of node `web-portal` holds a user name or password"
)]
fn inline_secrets_are_refused_without_echoing_them(
    #[case] from: &str,
    #[case] to: &str,
    #[case] at: &str,
    #[case] message: &str,
) {
    let text = demo_text();
    assert!(text.contains(from), "fixture drifted: {from}");
    let edited = text.replacen(from, to, 1);
    let diags = parse(&edited).expect_err("a secret in the topology is refused");
    let d = diags
        .iter()
        .find(|d| d.message.contains(message))
        .unwrap_or_else(|| panic!("no diagnostic says `{message}`:\n{diags}"));
    let (line, col) = line_col_of(&edited, at);
    assert_eq!((d.location.line, d.location.column), (line, col), "{d}");
    let hint = d.hint.as_deref().unwrap_or("");
    assert!(
        hint.contains("secrets.yaml") && hint.contains("mode 600"),
        "{hint}"
    );
    let all = diags.to_string();
    assert!(!all.contains("KANARI"), "the secret is echoed:\n{all}");
}

#[test]
fn broken_yaml_is_located() {
    let diags = parse("zones:\n  - {id: opd, kind: opd\nnodes: []\n").expect_err("broken");
    let d = diags.iter().next().expect("one");
    assert!(d.location.line >= 2, "{d}");
}

#[rstest]
#[case::lan_ip(1, "kind: access_point,", "kind: router,")]
#[case::applications(2, "{id: app-web, zone: opd,", "{id: app-web, zone: diskominfo,")]
#[case::mobile_app(3, "kind: app, platform: mobile,", "kind: app, platform: web,")]
#[case::kominfo_ip(
    4,
    "kind: router, name: \"Router Diskominfo (IP koneksi)\", address: 127.0.0.3}",
    "kind: router, name: \"Router Diskominfo (IP koneksi)\"}"
)]
#[case::access_ip(
    5,
    "service: web_portal, name: Web Portal, address: 127.0.0.5,",
    "service: web_portal, name: Web Portal,"
)]
fn each_missing_lampiran1_item_is_named(#[case] number: u8, #[case] from: &str, #[case] to: &str) {
    let text = demo_text();
    assert!(text.contains(from), "fixture drifted: {from}");
    let t = parse(&text.replacen(from, to, 1)).expect("still valid");
    let findings = lint::lampiran1(&t);
    let numbers: Vec<u8> = findings.iter().map(|f| f.item.number()).collect();
    assert_eq!(numbers, vec![number], "{findings:?}");
    let shown = findings[0].to_string();
    assert!(
        shown.contains(&format!("Lampiran I item {number}")),
        "{shown}"
    );
    assert!(shown.contains(findings[0].item.words()), "{shown}");
}

/// The demo with an SNMP poll on its WAN link, `snmp` being the flow mapping given.
fn demo_with_snmp(snmp: &str) -> String {
    let text = demo_text();
    let from = "    provider: Diskominfo (demo)\n";
    assert!(text.contains(from), "fixture drifted");
    text.replacen(from, &format!("{from}    snmp: {snmp}\n"), 1)
}

#[test]
fn a_link_declares_where_its_interface_is_polled() {
    let t = parse(&demo_with_snmp(
        "{agent: opd-router, version: v3, if_name: ether1, credentials: snmp-opd-router}",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let l = t.link(&topology::LinkId::new("wan-kominfo")).expect("link");
    let s = l.snmp.as_ref().expect("snmp");
    assert_eq!(s.agent.as_str(), "opd-router");
    assert_eq!(s.address.to_string(), "127.0.0.1");
    assert_eq!(s.port, 161);
    assert_eq!(s.version, topology::SnmpVersion::V3);
    assert_eq!(s.interface, topology::Interface::Name("ether1".into()));
    assert_eq!(s.credentials, "snmp-opd-router");
    assert_eq!(s.profile, "snmp");
    let b = topology::load(&root().join("topology/bandung.yaml")).expect("loads");
    assert!(
        b.links.iter().any(|l| l.snmp.is_some()),
        "bandung shows the key"
    );
}

#[rstest]
#[case::unknown_key(
    "{agent: opd-router, version: v2c, if_nme: ether1, credentials: c}",
    "if_nme",
    "unknown key `if_nme` in `links[3].snmp`"
)]
#[case::missing_agent(
    "{version: v2c, if_index: 2, credentials: c}",
    "{version: v2c",
    "is missing `agent`"
)]
#[case::unknown_agent(
    "{agent: opd-ruter, version: v2c, if_index: 2, credentials: c}",
    "opd-ruter",
    "SNMP agent `opd-ruter` is not a declared node"
)]
#[case::agent_without_address(
    "{agent: app-web, version: v2c, if_index: 2, credentials: c}",
    "app-web, version",
    "SNMP agent `app-web` has no address"
)]
#[case::bad_version(
    "{agent: opd-router, version: v1, if_index: 2, credentials: c}",
    "v1, if_index",
    "unknown SNMP version `v1`"
)]
#[case::no_interface(
    "{agent: opd-router, version: v2c, credentials: c}",
    "{agent: opd-router, version: v2c, credentials",
    "names no interface"
)]
#[case::both_interfaces(
    "{agent: opd-router, version: v2c, if_index: 2, if_name: ether1, credentials: c}",
    "2, if_name",
    "either `if_index` or `if_name`"
)]
fn snmp_mistakes_are_located(#[case] snmp: &str, #[case] at: &str, #[case] message: &str) {
    let text = demo_with_snmp(snmp);
    let (line, col, msg) = error_saying(&text, message);
    let (want_line, want_col) = line_col_of(&text, at);
    assert_eq!((line, col), (want_line, want_col), "{msg}");
}

#[test]
fn the_reflector_is_off_unless_the_topology_lists_its_peers() {
    let demo = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("topology/demo.yaml"),
    )
    .expect("demo");
    let parse =
        |text: &str| juknis::topology::parse(text, std::path::Path::new("demo.yaml"), &|_| None);
    assert_eq!(
        parse(&demo).expect("demo").reflector,
        None,
        "off by default"
    );
    let on = format!("{demo}\nreflector:\n  peers: [198.51.100.20]\n  max_bytes: 2000000\n");
    let r = parse(&on).expect("valid").reflector.expect("on");
    assert_eq!(
        r.peers,
        vec!["198.51.100.20".parse::<std::net::IpAddr>().expect("ip")]
    );
    assert_eq!((r.max_bytes, r.per_minute), (2_000_000, 6));
    let bad = format!("{demo}\nreflector:\n  peers: [semua]\n");
    let e = parse(&bad).expect_err("not an address").to_string();
    assert!(e.contains("`semua` is not an IP address"), "{e}");
}

/// The demo with a VPN backup for the Web Portal: its own link, source address, interface,
/// URL and pin.
fn demo_with_backup(egress: &str) -> String {
    demo_text()
        .replace(
            "  - {id: ditjen-db,",
            "  - {id: vpn-gw, zone: diskominfo, kind: router, name: \"Gateway VPN\", address: 127.0.0.7}\n  - {id: ditjen-db,",
        )
        .replace(
            "  - {id: dc-ditjen,",
            "  - {id: vpn-opd, from: opd-router, to: vpn-gw, provider: ISP (VPN IPsec cadangan), bandwidth: 10 Mbps}\n  - {id: vpn-portal, from: vpn-gw, to: web-portal}\n  - {id: dc-ditjen,",
        )
        .replace(
            "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, web-portal]\n  - id: balikan",
            &format!(
                "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, web-portal]\n    egress: {{source: 127.0.0.1}}\n    alternates:\n      - hops: [opd-router, vpn-gw, web-portal]\n        egress: {egress}\n  - id: balikan"
            ),
        )
}

#[test]
fn a_route_declares_how_its_traffic_leaves() {
    let pin = "ab".repeat(32);
    let text = demo_with_backup(&format!(
        "{{source: 127.0.0.9, interface: wg0, url: \"https://127.0.0.8:18443/\", tls_pin: \"{pin}\"}}"
    ));
    let t = parse(&text).unwrap_or_else(|d| panic!("{d}"));
    let p = t
        .paths
        .iter()
        .find(|p| p.id.as_str() == "portal")
        .expect("portal");
    assert_eq!(p.routes.len(), 2);
    assert_eq!(
        p.routes[0].egress.source,
        Some("127.0.0.1".parse().expect("ip"))
    );
    let b = &p.routes[1].egress;
    assert_eq!(b.source, Some("127.0.0.9".parse().expect("ip")));
    assert_eq!(b.interface.as_deref(), Some("wg0"));
    assert_eq!(b.url.as_deref(), Some("https://127.0.0.8:18443/"));
    assert_eq!(b.tls, Some(topology::TlsTrust::Fingerprint(pin)));

    let narrative = juknis::render::lampiran2::narrative(&t).join("\n");
    assert!(
        narrative.contains("Diskominfo (demo) (512 Kbps) ke Web Portal (127.0.0.5); bila jalur utama terputus, melalui jalur cadangan ISP (VPN IPsec cadangan) (10 Mbps) (alamat sumber 127.0.0.9, antarmuka wg0)"),
        "{narrative}"
    );
    let dot = juknis::render::lampiran1::dot(&t);
    let vpn = dot
        .lines()
        .find(|l| l.contains("\"vpn-opd\""))
        .expect("vpn edge");
    assert!(vpn.contains("style=dashed"), "{vpn}");
    let wan = dot
        .lines()
        .find(|l| l.contains("\"wan-kominfo\""))
        .expect("wan edge");
    assert!(!wan.contains("dashed"), "{wan}");
    assert!(dot.contains("Jalur cadangan"), "legend names the backup");
}

#[rstest]
#[case::bad_source("{source: 127.0.0.300}", "127.0.0.300", "is not a valid IP address")]
#[case::bad_interface("{interface: \"wg 0\"}", "wg 0", "is not a network interface name")]
#[case::bad_url("{url: \"ftp://127.0.0.8/\"}", "ftp://", "is not an http(s) URL")]
#[case::bad_pin("{tls_pin: abc}", "abc}", "is not a SHA-256 fingerprint")]
#[case::unknown_key("{source: 127.0.0.9, iface: wg0}", "iface", "unknown key `iface`")]
fn egress_mistakes_are_located(#[case] egress: &str, #[case] at: &str, #[case] message: &str) {
    let text = demo_with_backup(egress);
    let (line, col, _) = error_saying(&text, message);
    let (l, c) = line_col_of(&text, at);
    assert_eq!(line, l, "{message}");
    assert!(col <= c, "{message}: column {col} after {c}");
}

/// The demo with a `maintenance:` section.
fn demo_with_maintenance(windows: &str) -> String {
    format!("{}\nmaintenance:\n{windows}", demo_text())
}

#[test]
fn maintenance_windows_are_declared_once_weekly_or_monthly_in_wib() {
    use chrono::{TimeZone, Utc};
    use juknis::topology::maintenance::{Recurrence, Subject};
    let t = parse(&demo_with_maintenance(
        "  - note: Pemeliharaan rutin Diskominfo\n    links: [wan-kominfo]\n    weekly: {day: minggu, at: \"22:00\", duration: 3h}\n  - paths: [balikan]\n    once: {from: \"2026-12-12 22:00\", to: \"2026-12-13 02:00\"}\n  - monthly: {day: 1, at: \"23.00\", duration: 90m}\n",
    ))
    .expect("valid");
    let w = &t.maintenance.windows;
    assert_eq!(w.len(), 3);
    assert_eq!(w[0].note, "Pemeliharaan rutin Diskominfo");
    assert!(matches!(w[0].when, Recurrence::Weekly { minutes: 180, .. }));
    assert_eq!(w[2].note, "Pemeliharaan terjadwal", "a default note");
    // Sunday 6 December 2026, 23:00 WIB (16:00 UTC): the Diskominfo window covers the portal,
    // whose primary route crosses wan-kominfo.
    let sunday = Utc.with_ymd_and_hms(2026, 12, 6, 16, 0, 0).unwrap();
    let (win, end) = t
        .maintenance
        .active(&t, Subject::Path("portal"), sunday)
        .expect("on");
    assert_eq!(win.note, "Pemeliharaan rutin Diskominfo");
    assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 6, 18, 0, 0).unwrap());
    // The one-off covers only the data balikan path.
    let twelfth = Utc.with_ymd_and_hms(2026, 12, 12, 16, 0, 0).unwrap();
    assert!(
        t.maintenance
            .active(&t, Subject::Path("balikan"), twelfth)
            .is_some()
    );
    assert!(
        t.maintenance
            .active(&t, Subject::Path("portal"), twelfth)
            .is_none()
    );
    assert!(
        parse(&demo_text())
            .expect("demo")
            .maintenance
            .windows
            .is_empty()
    );
}

#[rstest]
#[case::two_kinds(
    "  - weekly: {day: minggu, at: \"22:00\", duration: 1h}\n    once: {from: \"2026-12-12 22:00\", to: \"2026-12-13 02:00\"}\n",
    "weekly:",
    "exactly one of `once`, `weekly` or `monthly`"
)]
#[case::bad_day(
    "  - weekly: {day: minggon, at: \"22:00\", duration: 1h}\n",
    "minggon",
    "`minggon` is not a day of the week"
)]
#[case::bad_time(
    "  - weekly: {day: minggu, at: \"24:30\", duration: 1h}\n",
    "24:30",
    "`24:30` is not a time of day"
)]
#[case::bad_duration(
    "  - monthly: {day: 1, at: \"22:00\", duration: 2d}\n",
    "2d",
    "`2d` is not a duration"
)]
#[case::too_long(
    "  - weekly: {day: minggu, at: \"22:00\", duration: 200h}\n",
    "200h",
    "longer than the time between"
)]
#[case::day_31(
    "  - monthly: {day: 31, at: \"22:00\", duration: 1h}\n",
    "31, at",
    "day 31 is not in every month"
)]
#[case::backwards(
    "  - once: {from: \"2026-12-13 02:00\", to: \"2026-12-12 22:00\"}\n",
    "from: \"2026-12-13",
    "ends before it starts"
)]
#[case::bad_date(
    "  - once: {from: \"2026-12-32 02:00\", to: \"2027-01-01 22:00\"}\n",
    "2026-12-32",
    "is not a date and time"
)]
#[case::unknown_link(
    "  - links: [wan-isp]\n    weekly: {day: minggu, at: \"22:00\", duration: 1h}\n",
    "wan-isp",
    "link `wan-isp`, which is not declared"
)]
#[case::unknown_key(
    "  - weekly: {day: minggu, at: \"22:00\", duration: 1h, every: 2}\n",
    "every",
    "unknown key `every`"
)]
fn maintenance_mistakes_are_located(
    #[case] windows: &str,
    #[case] at: &str,
    #[case] message: &str,
) {
    let text = demo_with_maintenance(windows);
    let (line, col, _) = error_saying(&text, message);
    let (l, c) = line_col_of(&text, at);
    assert_eq!(line, l, "{message}");
    assert!(col <= c, "{message}: column {col} after {c}");
}

/// The commented maintenance example in the shipped /etc/juknis/topology.yaml is valid once
/// uncommented, and means what its note says.
#[test]
fn the_shipped_maintenance_example_is_valid() {
    let shipped =
        std::fs::read_to_string(root().join("deploy/etc/topology.yaml")).expect("shipped");
    let (_, rest) = shipped.split_once("# maintenance:\n").expect("example");
    let block: String = rest
        .lines()
        .take_while(|l| l.starts_with("#   "))
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
        .collect();
    let t = parse(&demo_with_maintenance(&block)).expect("valid example");
    assert_eq!(t.maintenance.windows.len(), 1);
    assert_eq!(
        t.maintenance.windows[0].note,
        "Pemeliharaan rutin Diskominfo"
    );
}

#[test]
fn lookups_per_minute_defaults_to_ten_and_is_bounded() {
    let t = parse(&demo_text()).expect("demo");
    assert_eq!(t.agreement.lookups_per_minute, 10);
    let text = demo_text().replace(
        "  quota_per_day: 200\n",
        "  quota_per_day: 200\n  lookups_per_minute: 30\n",
    );
    assert_eq!(
        parse(&text).expect("valid").agreement.lookups_per_minute,
        30
    );
    let text = demo_text().replace(
        "  quota_per_day: 200\n",
        "  quota_per_day: 200\n  lookups_per_minute: 0\n",
    );
    let (line, _, _) = error_saying(&text, "lookups_per_minute 0 is outside 1..600");
    assert_eq!(line, line_col_of(&text, "lookups_per_minute").0);
}

#[test]
fn the_report_email_is_kept_and_a_bad_one_is_named_where_it_is() {
    let t = parse(&demo_text()).expect("demo");
    assert_eq!(
        t.agreement.report_email.as_deref(),
        Some("laporan@dukcapil.example.go.id")
    );
    let text = demo_text().replace(
        "report_email: laporan@dukcapil.example.go.id",
        "report_email: laporan di dukcapil",
    );
    let (line, _, _) = error_saying(
        &text,
        "report_email `laporan di dukcapil` is not an e-mail address",
    );
    assert_eq!(line, line_col_of(&text, "report_email").0);
}

#[test]
fn data_balikan_keys_and_aid_types_are_declared_or_the_documented_ones() {
    let demo = parse(&demo_text()).expect("demo");
    assert_eq!(
        demo.data_balikan,
        juknis::topology::BalikanFields::default()
    );
    assert_eq!(
        (
            demo.data_balikan.recipient_key.as_str(),
            demo.data_balikan.aid_key.as_str(),
            demo.data_balikan.aid_list()
        ),
        ("ID_PENERIMA", "JENIS_BANTUAN", "PKH atau PBI".to_owned())
    );
    let text = format!(
        "{}\ndata_balikan:\n  recipient_key: NO_KPM\n  aid_key: PROGRAM\n  aid_types: [bpnt, PKH, BLT-DD]\n",
        demo_text()
    );
    let t = parse(&text).expect("valid");
    assert_eq!(t.data_balikan.recipient_key, "NO_KPM");
    assert_eq!(t.data_balikan.aid_key, "PROGRAM");
    assert_eq!(t.data_balikan.aid_types, ["BPNT", "PKH", "BLT-DD"]);
    assert_eq!(t.data_balikan.aid("blt-dd"), Some("BLT-DD"));
    assert_eq!(t.data_balikan.aid("PBI"), None);
}

#[rstest]
#[case::key_with_space("recipient_key: NO KPM", "NO KPM", "is not a key the service can read")]
#[case::same_keys("recipient_key: KODE\n  aid_key: KODE", "KODE\n", "are both `KODE`")]
#[case::aid_twice("aid_types: [PKH, pkh]", "pkh]", "listed twice")]
#[case::aid_not_code("aid_types: [PKH, \"Bantuan Sosial\"]", "\"Bantuan", "is not a code")]
fn data_balikan_mistakes_are_located(#[case] body: &str, #[case] at: &str, #[case] message: &str) {
    let text = format!("{}\ndata_balikan:\n  {body}\n", demo_text());
    let (line, col, msg) = error_saying(&text, message);
    let (want_line, want_col) = if at == "KODE\n" {
        // The second of the two equal keys.
        let line = text
            .lines()
            .position(|l| l.contains("aid_key: KODE"))
            .expect("line");
        (
            line as u64 + 1,
            text.lines().nth(line).expect("l").find("KODE").expect("c") as u64 + 1,
        )
    } else {
        line_col_of(&text, at)
    };
    assert_eq!((line, col), (want_line, want_col), "{msg}");
}

/// The commented data_balikan example of the shipped topology is valid once uncommented and
/// says what the defaults are.
#[test]
fn the_shipped_data_balikan_example_is_the_default() {
    let shipped =
        std::fs::read_to_string(root().join("deploy/etc/topology.yaml")).expect("shipped");
    let (_, rest) = shipped.split_once("# data_balikan:\n").expect("example");
    let block: String = rest
        .lines()
        .take_while(|l| l.starts_with("#   "))
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
        .collect();
    let t = parse(&format!("{}\ndata_balikan:\n{block}", demo_text())).expect("valid example");
    assert_eq!(t.data_balikan, juknis::topology::BalikanFields::default());
}
