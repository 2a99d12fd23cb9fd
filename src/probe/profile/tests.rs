use rstest::rstest;

use super::*;

fn problems(text: &str) -> Vec<Diagnostic> {
    match parse_str("bad", Path::new("probes/bad.yaml"), Path::new("."), text) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(d) => d,
    }
}

fn at(d: &Diagnostic) -> (u64, u64) {
    (d.location.line, d.location.column)
}

#[test]
fn every_misspelt_key_is_reported_at_once_with_its_place_and_a_suggestion() {
    let d = problems("kind: icmp\ncuont: 3\ninterval: 30s\nspacnig: 1s\n");
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(at(&d[0]), (2, 1));
    assert_eq!(d[0].message, "unknown key `cuont` in the top level");
    assert_eq!(d[0].hint.as_deref(), Some("did you mean `count`?"));
    assert_eq!(at(&d[1]), (4, 1));
    assert_eq!(d[1].message, "unknown key `spacnig` in the top level");
    assert_eq!(d[1].hint.as_deref(), Some("did you mean `spacing`?"));
    assert_eq!(
        d[1].to_string(),
        "probes/bad.yaml:4:1: error: unknown key `spacnig` in the top level\n  \
         hint: did you mean `spacing`?"
    );
}

#[rstest]
#[case::threshold(
    "kind: icmp\nthresholds:\n  rtt_wran: 100ms\n",
    (3, 3),
    "unknown key `rtt_wran` in `thresholds`",
    "did you mean `rtt_warn`?"
)]
#[case::pin(
    "kind: tls\npin:\n  sha265: ab\n",
    (3, 3),
    "unknown key `sha265` in `pin`",
    "did you mean `sha256`?"
)]
#[case::nothing_close(
    "kind: tcp\nport: 443\ncolour: blue\n",
    (3, 1),
    "unknown key `colour` in the top level",
    "allowed here: kind, interval"
)]
fn unknown_keys_are_named_where_they_are(
    #[case] text: &str,
    #[case] want_at: (u64, u64),
    #[case] message: &str,
    #[case] hint: &str,
) {
    let d = problems(text);
    let found = d.iter().find(|d| d.message == message);
    let found = found.unwrap_or_else(|| panic!("no {message:?} in {d:#?}"));
    assert_eq!(at(found), want_at);
    let h = found.hint.as_deref().unwrap_or_default();
    assert!(h.starts_with(hint), "{h}");
}

#[test]
fn unknown_keys_and_bad_values_come_together_in_file_order() {
    let d = problems("kind: icmp\ninterval: soon\ncuont: 3\nthresholds:\n  loss_wran: 2%\n");
    let places: Vec<_> = d.iter().map(at).collect();
    assert_eq!(places, [(2, 11), (3, 1), (5, 3)], "{d:#?}");
}

#[test]
fn a_file_that_is_not_yaml_is_one_problem_with_its_place() {
    let d = problems("kind: icmp\ncount: [1, 2\n");
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].location.line > 0, "{}", d[0]);
}
