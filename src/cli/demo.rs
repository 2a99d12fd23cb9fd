//! `juknis demo`: the Dukcapil simulator and the appliance on loopback, on the embedded demo
//! topology, with Lampiran I and II rendered; runs until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::render::{self, Format, lampiran1, lampiran2};
use crate::{sim, topology};

/// The demo topology, embedded so that the demo runs from the binary alone.
pub const DEMO_TOPOLOGY: &str = include_str!("../../topology/demo.yaml");

/// Where the demo topology says the simulator is; replaced by the real address at start.
const DEMO_PORTAL: &str = "https://127.0.0.5:18443";

/// Arguments of `juknis demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The state folder, as for every other command (default: `state/` inside the files
    /// folder).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Where the demo writes `demo.json`, its topology, probe profiles and documents
    /// (`dokumen/`): outside the state folder, whose zero-storage scan would find the sample
    /// NIKs of `demo.json` (default: a new folder under the system temp dir).
    #[arg(long, value_name = "DIR")]
    files_dir: Option<PathBuf>,
    /// Address of the appliance's dashboard and API.
    #[arg(long, default_value = "127.0.0.1:9180", value_name = "ADDR")]
    listen: SocketAddr,
}

/// A dashboard account.
#[derive(Serialize)]
struct Operator {
    user: String,
    password: String,
}

/// What `demo.json` tells a script or a test about the running demo.
#[derive(Serialize)]
struct DemoInfo {
    url: String,
    /// The bearer token of the demo's OPD application (`app-web`) for `/api/v1/*`.
    api_token: String,
    /// The dashboard's first account (`admin`), created by this run; `null` when it existed.
    operator: Option<Operator>,
    simulator: String,
    simulator_fingerprint: String,
    topology: PathBuf,
    documents: Vec<PathBuf>,
    samples: std::collections::BTreeMap<String, String>,
}

pub fn run(args: Args) -> ExitCode {
    let dir = args.files_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("juknis-demo-{}", std::process::id()))
    });
    let state_dir = args.state_dir.unwrap_or_else(|| dir.join("state"));
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    match rt.block_on(demo(&dir, state_dir, args.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e:#}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

async fn demo(dir: &Path, state_dir: PathBuf, listen: SocketAddr) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    super::serve::shutdown_on_signal(cancel.clone());

    // The simulator plays the Web Portal and the data balikan service, over HTTPS.
    let sim = sim::Server::start(sim::Config {
        listen: "127.0.0.5:0".parse()?,
        ..sim::Config::default()
    })
    .await
    .context("starting the Dukcapil simulator")?;
    let fingerprint = sim.fingerprint().map(hex::encode).unwrap_or_default();
    let base = sim.base_url();
    let base = base.trim_end_matches('/');

    // The demo topology, pointed at the simulator and pinned to its certificate.
    let text = DEMO_TOPOLOGY
        .replace(DEMO_PORTAL, base)
        .replace(
            "{id: web-portal, ",
            &format!("{{id: web-portal, tls_pin: \"{fingerprint}\", "),
        )
        .replace(
            "{id: data-balikan, ",
            &format!("{{id: data-balikan, tls_pin: \"{fingerprint}\", "),
        );
    let api_token = write_secrets(&state_dir)?;
    let secrets = super::serve::load_secrets(&state_dir).context("loading the demo's secrets")?;
    // A first admin, so the dashboard can be used at once (only when there is none yet).
    let admin_password =
        crate::web::auth::Users::open(&state_dir, Default::default())?.add_demo_admin()?;
    let topo_dir = dir.join("topology");
    std::fs::create_dir_all(&topo_dir)
        .with_context(|| format!("creating {}", topo_dir.display()))?;
    let topo_file = topo_dir.join("demo.yaml");
    std::fs::write(&topo_file, text)?;
    super::write_profiles(&dir.join("probes"))?;
    let (t, profiles) = super::probe::load(&topo_file).map_err(anyhow::Error::msg)?;
    let portal_path = portal_path(&t);
    let mut documents = render_documents(&t, &dir.join("dokumen"))?;
    // Half a year of synthetic history, so the dashboard's history and the study have data.
    let kinds: std::collections::BTreeMap<String, String> = profiles
        .iter()
        .map(|(name, p)| (name.clone(), p.kind.as_str().to_string()))
        .collect();
    let yesterday = super::study::today_wib()
        .pred_opt()
        .context("the calendar ends today")?;
    let fresh = !state_dir.join(crate::study::history::STORE_FILE).exists();
    seed_history(&t, &kinds, &state_dir, yesterday)?;
    if fresh {
        // The audit log of those look-ups, before the gate opens it (one writer per chain).
        seed_audit(&state_dir, yesterday).await?;
    }
    let study_task = {
        let (t, docs, state_dir) = (t.clone(), dir.join("dokumen"), state_dir.clone());
        let outputs: Vec<PathBuf> = ["html", "docx", "pdf"]
            .iter()
            .map(|ext| docs.join(format!("kajian-teknis.{ext}")))
            .collect();
        documents.extend(outputs.iter().cloned());
        let reports: Vec<PathBuf> = ["html", "docx", "pdf"]
            .iter()
            .map(|ext| docs.join(format!("laporan-semester.{ext}")))
            .collect();
        documents.extend(reports.iter().cloned());
        move || {
            write_study(&t, &kinds, &state_dir, yesterday, &outputs)?;
            write_semester_report(&t, &state_dir, &reports)
        }
    };

    let state_dir_shown = state_dir.clone();
    let app = super::serve::start(
        super::serve::Options {
            topology: t,
            profiles,
            listen,
            state_dir,
            secrets,
            reload_from: None,
            // The demo should show every probe's result within seconds.
            first_round_within: std::time::Duration::from_secs(3),
            max_in_flight: crate::gate::DEFAULT_MAX_IN_FLIGHT,
            tls_proxy: None,
            tls: None,
            http_redirect: None,
            config_file: Some(topo_file.clone()),
        },
        cancel.clone(),
    )
    .await?;
    // The study reads the seeded history; it is written while the demo already serves.
    tokio::task::spawn_blocking(move || {
        if let Err(e) = study_task() {
            tracing::warn!(error = %format!("{e:#}"), "the demo's documents were not all written");
        }
    });
    let info = DemoInfo {
        url: format!("http://{}/", app.addr),
        api_token,
        operator: admin_password.map(|password| Operator {
            user: "admin".into(),
            password,
        }),
        simulator: base.to_string(),
        simulator_fingerprint: fingerprint,
        topology: topo_file,
        documents,
        samples: sim.samples(),
    };
    // It holds the demo's API token and admin password: readable by the owner only.
    write_private(&dir.join("demo.json"), &serde_json::to_vec_pretty(&info)?)?;
    // The ready lines only once a look-up can go through: until the probes have seen the
    // portal path healthy, the gate refuses look-ups.
    println!(
        "juknis demo is starting: waiting for the probes to find the Web Portal path healthy \
         (usually 10-20 s, at most {} s)",
        READY_WITHIN.as_secs()
    );
    let not_ready = match &portal_path {
        Some(path) => tokio::select! {
            r = wait_healthy(&info.url, path, READY_WITHIN) => r.err(),
            () = cancel.cancelled() => {
                app.wait().await?;
                sim.shutdown().await;
                return Ok(());
            }
        },
        None => Some("the demo topology has no Web Portal path".to_string()),
    };
    println!("juknis demo is running (Ctrl-C to stop)");
    println!("  dashboard/API: {}", info.url);
    match &info.operator {
        Some(o) => println!(
            "  dashboard log-in: user `{}`, password `{}`",
            o.user, o.password
        ),
        None => println!(
            "  dashboard log-in: the accounts made by an earlier run (see demo.json of that run)"
        ),
    }
    println!("  health:        {}healthz", info.url);
    println!(
        "  NIK look-up:   curl -H 'Authorization: Bearer {}' -d '{{\"nik\":\"{}\",\"purpose\":\"verifikasi bansos\"}}' {}api/v1/lookup",
        info.api_token,
        info.samples.get("found").map(String::as_str).unwrap_or(""),
        info.url
    );
    println!("  metrics:       {}metrics", info.url);
    println!(
        "  simulator:     {} (SHA-256 {})",
        info.simulator, info.simulator_fingerprint
    );
    println!("  state folder:  {}", state_dir_shown.display());
    println!("  files:         {}", dir.display());
    for d in &info.documents {
        println!("    {}", d.display());
    }
    if let Some(why) = not_ready {
        println!(
            "  not ready yet: after {} s {why}; look-ups are refused until {}healthz shows \
             the path \"healthy\"",
            READY_WITHIN.as_secs(),
            info.url
        );
    }
    app.wait().await?;
    sim.shutdown().await;
    Ok(())
}

/// How long the demo waits for the portal path to be healthy before it prints its ready lines
/// anyway, with what is wrong.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// The id of the path to the Web Portal (the one NIK look-ups take).
fn portal_path(t: &topology::Topology) -> Option<String> {
    t.paths.iter().find_map(|p| {
        let n = t.node(&p.service)?;
        (n.kind == topology::NodeKind::Service(topology::ServiceKind::WebPortal))
            .then(|| p.id.to_string())
    })
}

/// Poll the appliance's own `/healthz`, as a user would, until `path` is healthy. After
/// `within`, the error says the path's last state and reason (or why `/healthz` could not be
/// read).
async fn wait_healthy(url: &str, path: &str, within: std::time::Duration) -> Result<(), String> {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut last = format!("{url}healthz never answered");
    loop {
        match client.get(format!("{url}healthz")).send().await {
            Ok(r) => match r.json::<serde_json::Value>().await {
                Ok(h) => {
                    let p = h["paths"]
                        .as_array()
                        .and_then(|ps| ps.iter().find(|p| p["path"] == path));
                    match p {
                        Some(p) if p["state"] == "healthy" => return Ok(()),
                        Some(p) => {
                            last = format!(
                                "the path `{path}` is {} ({})",
                                p["state"].as_str().unwrap_or("?"),
                                p["reason"].as_str().unwrap_or("")
                            );
                        }
                        None => last = format!("{url}healthz does not list the path `{path}`"),
                    }
                }
                Err(e) => last = format!("{url}healthz is not JSON: {e}"),
            },
            Err(e) => last = format!("{url}healthz: {e}"),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// The demo's secrets: the simulator's sandbox accounts and a fresh API token for the demo
/// application, in a file readable by the owner only. Returns the token.
fn write_secrets(state_dir: &Path) -> anyhow::Result<String> {
    crate::sqlite::create_state_dir(state_dir)?;
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let text = format!(
        "# Demo secrets: the simulator's sandbox accounts. Never real credentials.\n\
         portal:\n  user_id: {user}\n  password: {password}\n  ip_user: {ip}\n  instansi_id: {instansi}\n\
         balikan:\n  token: {balikan}\n  id_lembaga: {instansi}\n\
         api_tokens:\n  app-web: {token}\n",
        user = sim::USER,
        password = sim::PASSWORD,
        ip = sim::IP_USER,
        instansi = sim::INSTANSI_ID,
        balikan = sim::DEFAULT_BALIKAN_TOKEN,
    );
    write_private(&state_dir.join("secrets.yaml"), text.as_bytes())?;
    Ok(token)
}

/// Write a file only its owner can read, whatever the umask and whatever mode an earlier run's
/// file had (`mode` in `OpenOptions` applies to new files only).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("chmod 600 {}", path.display()))?;
    }
    f.write_all(bytes)?;
    Ok(())
}

/// The demo's synthetic history: 180 days up to `last_day` of a saturated WAN link (1-minute
/// rollups for the last 90 days, hourly before, raw samples for the last day, look-ups per
/// day). Only into a fresh state dir: an existing store keeps its own history.
fn seed_history(
    t: &topology::Topology,
    kinds: &std::collections::BTreeMap<String, String>,
    state_dir: &Path,
    last_day: chrono::NaiveDate,
) -> anyhow::Result<()> {
    use crate::study::{self, synth};
    let db = state_dir.join(study::history::STORE_FILE);
    if db.exists() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let link = study::pick_link(t, None)?;
    let sel = study::selection(t, link, &|p| kinds.get(p).cloned());
    let contracted = link.bandwidth.map_or(512_000, |b| b.bps()) as f64;
    let spec = synth::Spec::new(synth::Shape::Saturated, contracted, last_day, 180);
    let mut store = crate::store::Store::open(&db)?;
    let w = synth::write(&mut store, state_dir, &sel, &spec)?;
    tracing::info!(
        minute_rollups = w.minute_rollups,
        hour_rollups = w.hour_rollups,
        samples = w.samples,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "seeded 180 days of synthetic history"
    );
    Ok(())
}

/// Audit entries for the seeded look-ups of the current semester up to `last_day`: as many
/// forwarded look-ups a day as the seeded quota counter holds (so the semester report's two
/// sources agree), most found, some not, plus a few the gate refused. Synthetic NIKs only, kept
/// as HMACs like every audit entry.
async fn seed_audit(state_dir: &Path, last_day: chrono::NaiveDate) -> anyhow::Result<()> {
    use crate::gate::audit::{Entry, Log};
    use crate::report::calendar::wib_midnight;
    use chrono::Datelike;
    let started = std::time::Instant::now();
    let first = chrono::NaiveDate::from_ymd_opt(
        last_day.year(),
        if last_day.month() <= 6 { 1 } else { 7 },
        1,
    )
    .context("the semester's first day")?;
    let days = crate::gate::quota::history(state_dir, first, last_day)?.unwrap_or_default();
    let key = crate::gate::secrets::HmacKey::load_or_create(state_dir)?;
    let log = std::sync::Arc::new(Log::open(state_dir)?);
    let callers = [
        ("application", "app-web"),
        ("application", "app-web"),
        ("operator", "admin"),
    ];
    let mut entries = Vec::new();
    let mut serial = 0u64;
    for (day, used) in days {
        let midnight = wib_midnight(day);
        for i in 0..used + used / 20 {
            serial += 1;
            let forwarded = i < used;
            let status = match (forwarded, serial % 13) {
                (true, 0) => "not_found",
                (true, _) => "found",
                (false, n) if n % 2 == 0 => "refused_pattern",
                (false, _) => "invalid_format",
            };
            // Office hours, 08:00-15:59 WIB, spread over the day's look-ups.
            let minute = 8 * 60 + (i * 480 / (used + used / 20).max(1)) as i64;
            let (kind, who) = callers[(serial % 3) as usize];
            // A synthetic 16-digit number in no real region (99): never a real NIK.
            let nik = format!("99{serial:014}");
            entries.push(Entry {
                at: midnight + chrono::Duration::minutes(minute),
                caller_kind: kind.into(),
                caller: who.into(),
                purpose: "bansos".into(),
                nik_hmac: hex::encode(key.tag(nik.as_bytes())),
                status: status.into(),
                route: if forwarded {
                    "primary".into()
                } else {
                    String::new()
                },
                latency: std::time::Duration::from_millis(90 + serial % 140),
                forwarded,
                end_user: if kind == "application" {
                    format!("petugas-{}", serial % 7)
                } else {
                    String::new()
                },
            });
        }
    }
    let n = entries.len();
    // Appended a thousand at a time so the writer commits them in batches, in order.
    for chunk in entries.chunks(1000) {
        let pending: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|e| {
                let log = std::sync::Arc::clone(&log);
                async move { log.append(e).await }
            })
            .collect();
        for r in futures_util::future::join_all(pending).await {
            r?;
        }
    }
    tracing::info!(
        entries = n,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "seeded the semester's audit log"
    );
    Ok(())
}

/// The semester usage report of the current semester so far, in every format.
fn write_semester_report(
    t: &topology::Topology,
    state_dir: &Path,
    outputs: &[PathBuf],
) -> anyhow::Result<()> {
    use crate::report::{self, Semester, holidays::Calendar};
    use chrono::Datelike;
    let now = chrono::Utc::now();
    let today = crate::report::calendar::wib_day(now);
    let semester = Semester::new(today.year(), if today.month() <= 6 { 1 } else { 2 })?;
    // The scan runs in a child process: this process holds the state dir's databases open, and
    // any open and close of one of them here would drop its SQLite locks.
    let exe = std::env::current_exe().context("finding the juknis executable")?;
    let facts = report::gather::gather_with(
        t,
        state_dir,
        semester,
        now,
        &Calendar::embedded()?,
        &report::scan::Isolation::Child(exe),
    )?;
    let doc = report::build(&facts);
    for out in outputs {
        doc.write(out)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    tracing::info!("semester report written");
    Ok(())
}

/// The kajian teknis of the last 90 days, in every format.
fn write_study(
    t: &topology::Topology,
    kinds: &std::collections::BTreeMap<String, String>,
    state_dir: &Path,
    last_day: chrono::NaiveDate,
    outputs: &[PathBuf],
) -> anyhow::Result<()> {
    use crate::study;
    let started = std::time::Instant::now();
    let from = last_day - chrono::Days::new(89);
    let period = study::Period::new(from, last_day)?;
    let s = study::run(
        t,
        &|p| kinds.get(p).cloned(),
        &study::history::Sqlite::new(state_dir),
        period,
        &study::Options::new(super::study::today_wib()),
    )?;
    for out in outputs {
        s.document
            .write(out)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "kajian teknis written"
    );
    Ok(())
}

/// Lampiran I and II of the demo topology, in every format.
fn render_documents(t: &topology::Topology, docs: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(docs)?;
    let mut written = Vec::new();
    for (name, dot) in [
        ("lampiran1", lampiran1::dot(t)),
        ("lampiran2", lampiran2::dot(t)),
    ] {
        for (ext, format) in [
            ("svg", Format::Svg),
            ("png", Format::Png),
            ("pdf", Format::Pdf),
        ] {
            let out = docs.join(format!("{name}.{ext}"));
            std::fs::write(&out, render::to_format(&dot, format)?)?;
            written.push(out);
        }
    }
    Ok(written)
}
