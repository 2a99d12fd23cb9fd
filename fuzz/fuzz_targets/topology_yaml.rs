//! The topology loader behind `juknis check` (and `render`): YAML text in, a validated topology
//! or located diagnostics out. Errors are expected; a panic, a hang or a runaway allocation is a
//! bug.
#![no_main]

use std::collections::BTreeSet;
use std::path::Path;

use juknis::topology::{self, lint};
use libfuzzer_sys::fuzz_target;

/// The profile names shipped in `probes/`, so that `probes: [...]` lists can validate.
const PROFILES: &[&str] = &["bandwidth", "dns", "https", "icmp", "tcp", "throughput", "tls"];

fuzz_target!(|data: &[u8]| {
    // `topology::load` reads the file with `read_to_string`: text that is not UTF-8 never
    // reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.yaml");
    let profiles =
        |_: &Path| -> Option<BTreeSet<String>> { Some(PROFILES.iter().map(|p| p.to_string()).collect()) };
    match topology::parse(text, file, &profiles) {
        Ok(t) => {
            // What `juknis check` does next, and what `juknis render` draws from the same file.
            let findings = lint::lampiran1(&t);
            assert!(findings.len() <= 5, "Lampiran I has 5 required items");
            for f in &findings {
                let _ = f.to_string();
            }
            let _ = t.contracted_links().count();
            let _ = juknis::render::lampiran1::dot(&t);
            let _ = juknis::render::lampiran2::dot(&t);
            let _ = juknis::render::lampiran2::narrative(&t);
        }
        Err(diags) => {
            assert!(!diags.is_empty(), "an invalid topology names at least one problem");
            for d in diags.iter() {
                assert_eq!(d.location.file, file, "every problem names its file");
            }
            let _ = diags.to_string();
        }
    }
});
