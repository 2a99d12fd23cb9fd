//! A built Debian package (`cargo deb`, see deploy/README.md): its control file, contents and
//! conffiles are right, and the packaged binary accepts the packaged default config. Building the
//! package is a release build, too slow for every CI run: without a `.deb` in target/debian this
//! test says so and passes, unless JUKNIS_REQUIRE_DEB=1.

use std::path::{Path, PathBuf};
use std::process::Command;

fn newest_deb() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debian");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "deb")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("juknis_"))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

fn run(cmd: &str, args: &[&str], deb: &Path) -> String {
    let out = Command::new(cmd)
        .args(args)
        .arg(deb)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_built_package_installs_the_binary_unit_and_a_valid_default_config() {
    let Some(deb) = newest_deb() else {
        assert!(
            std::env::var("JUKNIS_REQUIRE_DEB").as_deref() != Ok("1"),
            "no target/debian/juknis_*.deb: run `cargo deb` first"
        );
        eprintln!("skipped: no target/debian/juknis_*.deb (run `cargo deb` to build one)");
        return;
    };

    let info = run("dpkg-deb", &["--info"], &deb);
    for want in [
        "Package: juknis",
        "Section: net",
        "Depends:",
        "ca-certificates",
        "postinst",
    ] {
        assert!(info.contains(want), "{want} not in control:\n{info}");
    }

    let contents = run("dpkg-deb", &["--contents"], &deb);
    for want in [
        "./usr/bin/juknis",
        "./etc/juknis/topology.yaml",
        "./etc/juknis/probes/icmp.yaml",
        "./etc/default/juknis",
        "./usr/share/doc/juknis/README.md",
        "./usr/share/juknis/prometheus/juknis.rules.yml",
        "./usr/share/juknis/grafana/dashboards/juknis.json",
    ] {
        assert!(
            contents.contains(want),
            "{want} not in package:\n{contents}"
        );
    }

    assert!(
        contents.contains("./lib/systemd/system/juknis.service")
            || contents.contains("./usr/lib/systemd/system/juknis.service"),
        "no unit in package:\n{contents}"
    );

    let tmp = tempfile::tempdir().expect("tmp");
    let control = tmp.path().join("DEBIAN");
    let out = Command::new("dpkg-deb")
        .arg("--raw-extract")
        .arg(&deb)
        .arg(tmp.path())
        .output()
        .expect("dpkg-deb -R");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conffiles = std::fs::read_to_string(control.join("conffiles")).expect("conffiles");
    for want in ["/etc/juknis/topology.yaml", "/etc/default/juknis"] {
        assert!(
            conffiles.lines().any(|l| l == want),
            "{want} not a conffile:\n{conffiles}"
        );
    }
    let postinst = std::fs::read_to_string(control.join("postinst")).expect("postinst");
    assert!(
        postinst.contains("deb-systemd-helper"),
        "no systemd enable fragment:\n{postinst}"
    );

    // The packaged rule tests pass where the package installs them.
    let prom = tmp.path().join("usr/share/juknis/prometheus");
    let out = Command::new("promtool")
        .args(["test", "rules", "tests/alerts.yaml", "tests/recording.yaml"])
        .current_dir(&prom)
        .output()
        .expect("promtool (Debian package prometheus)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The packaged binary accepts the packaged default, where it is installed.
    let out = Command::new(tmp.path().join("usr/bin/juknis"))
        .args(["check", "--config"])
        .arg(tmp.path().join("etc/juknis/topology.yaml"))
        .output()
        .expect("packaged juknis runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
