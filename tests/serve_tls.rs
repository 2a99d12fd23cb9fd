//! The dashboard over its own HTTPS (issue 16 item 8): `juknis serve --tls` makes a certificate
//! at first start and keeps it, marks cookies `Secure`, sends HSTS, and its plain-HTTP port
//! only redirects (answering `/healthz` and `/metrics` for health checks and Prometheus); a key
//! others can read, or a certificate that does not fit its key, stops it before it binds.
//! A rustls client that trusts only the made certificate plays the browser that was told to
//! trust it.

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use daemon::Daemon;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn serve(state: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_juknis"));
    cmd.args(["serve", "--config"])
        .arg(root().join("topology/demo.yaml"))
        .arg("--state-dir")
        .arg(state)
        .args(extra);
    cmd
}

/// One request over TLS, trusting only the certificate in `ca`: the answer's text.
fn https(addr: SocketAddr, ca: &Path, path: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).expect("certificate");
    for c in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(c.expect("PEM")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(addr.ip().to_string()).expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("TLS handshake and request");
    let mut out = Vec::new();
    // A peer that closes without close_notify ends the read with an error; keep what came.
    let _ = tls.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn plain(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn header<'a>(answer: &'a str, name: &str) -> Vec<&'a str> {
    answer
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then_some(v.trim())
        })
        .collect()
}

fn fingerprint(log: &str) -> String {
    log.lines()
        .find_map(|l| l.split_once("SHA-256 ").map(|(_, f)| f.trim().to_owned()))
        .unwrap_or_else(|| panic!("no fingerprint in the log:\n{log}"))
}

#[test]
fn the_dashboard_speaks_https_with_a_certificate_it_keeps() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state");
    let d = Daemon::serve(
        serve(&state, &["--tls", "--http-redirect", "127.0.0.1:0"]),
        &dir.path().join("serve.log"),
        Duration::from_secs(30),
    );
    let log = d.log();
    assert!(log.contains("made now, self-signed"), "{log}");
    let first = fingerprint(&log);
    let ca = state.join("tls/dashboard.crt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(state.join("tls/dashboard.key"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key is the owner's only");
    }

    // The log-in page over HTTPS: HSTS, and its cookie only ever sent back over TLS.
    let page = https(d.addr, &ca, "/masuk");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert_eq!(
        header(&page, "strict-transport-security"),
        ["max-age=31536000"]
    );
    let cookies = header(&page, "set-cookie");
    assert!(!cookies.is_empty(), "{page}");
    assert!(cookies.iter().all(|c| c.contains("Secure")), "{cookies:?}");

    // The plain port: a redirect to the same path on HTTPS, except the health and metrics.
    let redirect: SocketAddr = log
        .lines()
        .find_map(|l| l.strip_prefix("juknis redirecting http://"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no redirect line:\n{log}"));
    let moved = plain(redirect, "/riwayat?jam=24");
    assert!(moved.starts_with("HTTP/1.1 308"), "{moved}");
    assert_eq!(
        header(&moved, "location"),
        [format!("https://127.0.0.1:{}/riwayat?jam=24", d.port()).as_str()]
    );
    assert!(header(&moved, "set-cookie").is_empty(), "{moved}");
    let health = plain(redirect, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"paths\""), "{health}");
    assert!(plain(redirect, "/metrics").contains("juknis_"));
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    assert!(!plain(d.addr, "/masuk").starts_with("HTTP/1.1 200"));

    // A restart keeps the certificate the browsers were told to trust.
    assert!(d.stop().success());
    let again = Daemon::serve(
        serve(&state, &["--tls"]),
        &dir.path().join("serve2.log"),
        Duration::from_secs(30),
    );
    let log = again.log();
    assert!(log.contains("as found"), "{log}");
    assert_eq!(fingerprint(&log), first, "the same certificate");
    assert!(https(again.addr, &ca, "/healthz").starts_with("HTTP/1.1 200"));
}

#[test]
fn a_key_others_can_read_or_a_certificate_that_does_not_fit_stops_serve() {
    let dir = tempfile::tempdir().expect("tmp");
    // Two made certificates to cross.
    for name in ["a", "b"] {
        let state = dir.path().join(name);
        let d = Daemon::serve(
            serve(&state, &["--tls"]),
            &dir.path().join(format!("{name}.log")),
            Duration::from_secs(30),
        );
        d.stop();
    }
    let run = |extra: &[&str]| {
        let out = serve(&dir.path().join("c"), extra)
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cert = |n: &str| dir.path().join(n).join("tls/dashboard.crt");
    let key = |n: &str| dir.path().join(n).join("tls/dashboard.key");

    let (code, err) = run(&[
        "--tls-cert",
        cert("a").to_str().expect("path"),
        "--tls-key",
        key("b").to_str().expect("path"),
    ]);
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("does not go with the certificate"), "{err}");
    assert!(!err.contains("juknis serving"), "{err}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(key("a"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (code, err) = run(&[
            "--tls-cert",
            cert("a").to_str().expect("path"),
            "--tls-key",
            key("a").to_str().expect("path"),
        ]);
        assert_eq!(code, Some(64), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
    }

    let (code, err) = run(&["--http-redirect", "127.0.0.1:0"]);
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("--http-redirect needs HTTPS"), "{err}");
}
