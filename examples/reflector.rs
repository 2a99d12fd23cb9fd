//! The juknis bandwidth reflector (`GET /reflect?bytes=N`) alone, on the address given as the only
//! argument (default `127.0.0.1:8080`). The test-bed runs it inside the Dukcapil namespace as the far
//! end of the throughput test (`tests/testbed_probe.rs`); it prints `listening on ADDR` once bound.
//!
//! ```sh
//! cargo run --example reflector -- 127.0.0.1:8080
//! curl -so /dev/null -w '%{size_download}\n' 'http://127.0.0.1:8080/reflect?bytes=100000'
//! ```

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:8080")
        .parse()
        .context("the argument must be an IP:port to listen on")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr().context("the bound address")?;
    // A line the caller can wait for; flushed, since stdout is a pipe there.
    let mut out = std::io::stdout();
    writeln!(out, "listening on {bound}")?;
    out.flush()?;
    axum::serve(listener, juknis::reflector::router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the reflector")
}
