//! `juknis serve`: the daemon. Wires topology, probes, health, store, metrics and the HTTP
//! face together; stops cleanly on SIGTERM or Ctrl-C (in-flight requests finish, the store
//! is flushed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::health::{Hysteresis, State, Tracker};
use crate::metrics::Metrics;
use crate::probe::{self, profile::Profile, scheduler};
use crate::store::{self, Sample, Store};
use crate::topology::Topology;
use crate::web::{self, Shared};
use crate::{gate, outbox, reflector};

/// Arguments of `juknis serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// Address of the dashboard, API and /metrics.
    #[arg(long, default_value = "127.0.0.1:9180", value_name = "ADDR")]
    listen: SocketAddr,
    /// Where the appliance keeps its store, audit log, outbox and secrets.
    #[arg(
        long,
        default_value = "/var/lib/juknis",
        value_name = "DIR",
        env = "STATE_DIRECTORY"
    )]
    state_dir: PathBuf,
    /// Most NIK look-ups answered at once; more are refused at once with 503 and Retry-After
    /// instead of queueing (see BENCHMARKS.md, "Overload and soak").
    #[arg(
        long,
        value_name = "N",
        env = "JUKNIS_MAX_IN_FLIGHT",
        default_value_t = crate::gate::DEFAULT_MAX_IN_FLIGHT,
        value_parser = in_flight_limit
    )]
    max_in_flight: usize,
    /// The address of a TLS reverse proxy (nginx, Caddy) in front of the dashboard: cookies
    /// are then marked `Secure`, and log-ins are throttled per client by the proxy's
    /// `X-Forwarded-For` (trusted from this address only).
    #[arg(long, value_name = "IP", env = "JUKNIS_TLS_PROXY")]
    tls_proxy: Option<std::net::IpAddr>,
    /// Serve the dashboard, API and /metrics over HTTPS on --listen, with a certificate made
    /// at first start (STATE_DIR/tls/dashboard.crt, its key owner-only) unless --tls-cert
    /// and --tls-key name the OPD's own. Cookies are then marked `Secure` and every answer
    /// carries HSTS.
    #[arg(long, env = "JUKNIS_TLS")]
    tls: bool,
    /// The certificate chain (PEM, leaf first) for HTTPS; implies --tls.
    #[arg(
        long,
        value_name = "FILE",
        env = "JUKNIS_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// Its private key (PEM; readable by the owner only).
    #[arg(
        long,
        value_name = "FILE",
        env = "JUKNIS_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// With HTTPS: a plain-HTTP address that answers /healthz and /metrics and redirects
    /// everything else to the HTTPS port (e.g. 0.0.0.0:80).
    #[arg(long, value_name = "ADDR", env = "JUKNIS_HTTP_REDIRECT")]
    http_redirect: Option<SocketAddr>,
}

impl Args {
    /// Where the dashboard's certificate comes from, if it is to speak HTTPS.
    fn tls_source(&self) -> Option<web::tls::Source> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(web::tls::Source::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ if self.tls => {
                let mut names = Vec::new();
                if !self.listen.ip().is_unspecified() {
                    names.push(self.listen.ip().to_string());
                }
                if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
                    names.push(h.trim().to_owned());
                }
                Some(web::tls::Source::Made {
                    state_dir: self.state_dir.clone(),
                    names,
                })
            }
            _ => None,
        }
    }
}

fn in_flight_limit(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of look-ups from 1 to 100000 (default {})",
            crate::gate::DEFAULT_MAX_IN_FLIGHT
        )),
    }
}

/// What a running appliance needs, however it was started (serve or demo).
pub struct Options {
    pub topology: Topology,
    pub profiles: std::collections::BTreeMap<String, Profile>,
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    /// The topology file, re-read on SIGHUP; `None` disables reloading (the demo).
    pub reload_from: Option<PathBuf>,
    /// How soon every probe's first round runs (see `scheduler::Plan::first_round_within`).
    pub first_round_within: Duration,
    /// The gate's and the sender's secrets, loaded (and their files' modes checked) before
    /// anything starts.
    pub secrets: crate::gate::Secrets,
    /// The gate's in-flight limit (`gate::Config::max_in_flight`).
    pub max_in_flight: usize,
    /// A TLS reverse proxy in front of the dashboard (`dashboard::Config::tls_proxy`).
    pub tls_proxy: Option<std::net::IpAddr>,
    /// HTTPS on `listen` with this certificate.
    pub tls: Option<web::tls::Loaded>,
    /// With HTTPS: a plain-HTTP address that only redirects (and answers /healthz, /metrics).
    pub http_redirect: Option<SocketAddr>,
    /// The topology file the Dokumen page makes the kajian and the semester report from
    /// (`None`: it does not offer them).
    pub config_file: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    // A bad configuration stops us before any port is bound.
    let (topology, profiles) = match super::probe::load(&args.config.config) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    // So are secrets in a file others can read, or an incomplete account: exit 64, with the
    // file, its mode and the fix, before any port is bound.
    let secrets = match load_secrets(&args.state_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    // So is a notifier whose secret is missing or incomplete, or whose egress cannot be used.
    if let Err(e) = crate::notify::Sender::new(
        &topology.agreement.opd,
        &topology.notifiers,
        &secrets.notifiers,
    ) {
        eprintln!("{e}");
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    }
    // Every API token belongs to an application of the topology (Lampiran I), and the account's
    // ip_user is the access point's LAN address (I.A): exit 64 otherwise.
    if let Err(e) = gate::check_secrets(&topology, &secrets) {
        eprintln!("{e}");
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    }
    // So is a certificate that cannot be read, does not fit its key, or whose key others can
    // read; a redirect without HTTPS to redirect to.
    if args.http_redirect.is_some() && !args.tls && args.tls_cert.is_none() {
        eprintln!(
            "--http-redirect needs HTTPS to redirect to: add --tls (or --tls-cert and --tls-key)"
        );
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    }
    let tls = match args.tls_source().map(|s| s.load()).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("the dashboard's certificate: {}", crate::cause::chain(&e));
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    if let Some(t) = &tls {
        eprintln!(
            "juknis: HTTPS with {} ({}), SHA-256 {}",
            t.cert.display(),
            if t.made {
                "made now, self-signed"
            } else {
                "as found"
            },
            t.fingerprint
        );
    }
    let opts = Options {
        topology,
        profiles,
        secrets,
        listen: args.listen,
        state_dir: args.state_dir,
        reload_from: Some(args.config.config.clone()),
        first_round_within: Duration::from_secs(60),
        max_in_flight: args.max_in_flight,
        tls_proxy: args.tls_proxy,
        tls,
        http_redirect: args.http_redirect,
        config_file: Some(args.config.config.clone()),
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    match rt.block_on(async {
        let cancel = CancellationToken::new();
        shutdown_on_signal(cancel.clone());
        let app = start(opts, cancel.clone()).await?;
        if let Some(r) = app.redirect {
            eprintln!("juknis redirecting http://{r} to HTTPS");
        }
        eprintln!("juknis serving on {}://{}", app.scheme(), app.addr);
        app.wait().await
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("juknis serve: {e:#}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

/// The secrets of `state_dir` and the environment. The HMAC key files of the audit log and the
/// outbox, when they exist, must be private too (they are created so at first start).
pub fn load_secrets(state_dir: &Path) -> Result<gate::Secrets, gate::secrets::Error> {
    for key in [gate::secrets::KEY_FILE, outbox::KEY_FILE] {
        let key = state_dir.join(key);
        if key.exists() {
            gate::secrets::check_private(&key)?;
        }
    }
    gate::Secrets::load(state_dir)
}

/// Cancel `cancel` on SIGTERM or Ctrl-C.
pub fn shutdown_on_signal(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
}

/// A running appliance.
pub struct Running {
    pub addr: SocketAddr,
    /// The plain-HTTP redirect's address, when there is one.
    pub redirect: Option<SocketAddr>,
    tls: bool,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Running {
    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// Wait until cancelled and every task has finished (30 s grace, then give up loudly).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.cancel.cancelled().await;
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(30), self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("tasks still running after 30 s; exiting anyway");
        }
        Ok(())
    }
}

/// The maintenance windows made on the dashboard and in force (none, with a warning, when the
/// store cannot say: a window is a courtesy, not a reason to stop).
pub fn made_windows(store: &Store) -> Vec<crate::topology::maintenance::Window> {
    match store.made_windows() {
        Ok(m) => store::in_force(&m),
        Err(e) => {
            tracing::warn!(error = %e, "the maintenance windows made on the dashboard cannot be read");
            Vec::new()
        }
    }
}

/// Start probes, health, store and the HTTP server. Returns once the port is bound.
pub async fn start(opts: Options, cancel: CancellationToken) -> anyhow::Result<Running> {
    crate::sqlite::create_state_dir(&opts.state_dir)
        .with_context(|| format!("creating the state folder {}", opts.state_dir.display()))?;
    let db = opts.state_dir.join("juknis.db");
    let store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
    let metrics = Metrics::new();
    metrics
        .build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION"), &opts.topology.agreement.opd])
        .set(1);
    for l in opts.topology.contracted_links() {
        if let Some(b) = l.bandwidth {
            metrics
                .link_contracted
                .with_label_values(&[l.id.as_str()])
                .set(b.bytes_per_second() as f64);
        }
    }
    // Raw ICMP sockets are opened before anything else (a unit may drop privileges after).
    let sockets = probe::icmp::Sockets::open()
        .map_err(|e| tracing::warn!(error = %e, "ICMP probes cannot run"))
        .ok();
    // Loaded (and their files' modes checked) before anything was bound.
    let secrets = opts.secrets;
    let (mut plan, errors) = scheduler::plan(
        &opts.topology,
        &opts.profiles,
        sockets.as_ref(),
        &secrets.snmp,
    );
    plan.first_round_within = opts.first_round_within;
    let reprobe = plan.reprobe.clone();
    for e in &errors {
        tracing::warn!(target = %e.key, why = %e.why, "probe not scheduled");
    }
    let mut topology = opts.topology;
    topology.maintenance.made = made_windows(&store);
    let shared = Shared::new(topology, Tracker::new(Hysteresis::default()), metrics);

    let tracker = TaskTracker::new();
    let (rounds_tx, rounds_rx) = mpsc::channel(1024);
    // Room for four gatherings at a thousand rounds a second: the channel's slots are
    // allocated up front.
    let (store_tx, store_rx) = std::sync::mpsc::sync_channel::<StoreMsg>(2048);
    tracker.spawn(supervise_probes(
        plan,
        sockets,
        opts.state_dir.clone(),
        opts.reload_from,
        Arc::clone(&shared),
        rounds_tx,
        cancel.clone(),
    ));
    tracker.spawn(consume(
        rounds_rx,
        Arc::clone(&shared),
        store_tx.clone(),
        reprobe,
    ));
    let writer = std::thread::Builder::new()
        .name("juknis-store".into())
        .spawn(move || write_store(store, store_rx))
        .context("starting the store writer")?;
    let routes_tx = store_tx.clone();
    {
        // Join the writer when the rounds stop, so the store is flushed before we exit.
        let cancel = cancel.clone();
        tracker.spawn(async move {
            cancel.cancelled().await;
            drop(store_tx);
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        });
    }

    let app = services(
        &shared,
        routes_tx,
        &opts.state_dir,
        secrets,
        opts.max_in_flight,
        opts.tls_proxy,
        opts.tls.is_some(),
        opts.config_file.clone(),
        &tracker,
        &cancel,
    )?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let mut redirect = None;
    match &opts.tls {
        None => {
            tracker.spawn(web::serve(listener, app, cancel.clone()));
        }
        Some(tls) => {
            if let Some(at) = opts.http_redirect {
                let plain = tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("binding {at}"))?;
                redirect = Some(plain.local_addr()?);
                let to = web::redirect_to_https(app.clone(), addr.port());
                tracker.spawn(web::serve(plain, to, cancel.clone()));
            }
            tracker.spawn(web::serve_tls(
                listener,
                app,
                cancel.clone(),
                Arc::clone(&tls.config),
            ));
        }
    }
    notify_ready();
    Ok(Running {
        addr,
        redirect,
        tls: opts.tls.is_some(),
        tracker,
        cancel,
    })
}

/// The HTTP services besides health and metrics: the NIK gate, the data balikan outbox (its
/// API behind the applications' tokens, its sender as a task) and the bandwidth reflector.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the wiring's inputs, each used once"
)]
fn services(
    shared: &Arc<Shared>,
    store_tx: std::sync::mpsc::SyncSender<StoreMsg>,
    state_dir: &Path,
    secrets: gate::Secrets,
    max_in_flight: usize,
    tls_proxy: Option<std::net::IpAddr>,
    secure_cookies: bool,
    config_file: Option<PathBuf>,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> anyhow::Result<axum::Router> {
    let topology = shared.topology();
    let health: Arc<dyn crate::health::Source> =
        Arc::clone(shared) as Arc<dyn crate::health::Source>;
    let mut app = web::router(Arc::clone(shared));
    // The reflector only when the topology asks for it, and only for its peers.
    if let Some(r) = topology.reflector.clone() {
        app = app.merge(reflector::guarded(r));
    }
    let mut dashboard = web::dashboard::Config::new(state_dir);
    dashboard.tls_proxy = tls_proxy;
    dashboard.secure_cookies = secure_cookies;
    // The documents are made by this executable's own commands, in a child process.
    dashboard.documents = match (config_file, std::env::current_exe()) {
        (Some(config), Ok(exe)) => Some(web::pages::documents::Maker { exe, config }),
        (Some(_), Err(e)) => {
            tracing::warn!(error = %e, "the Dokumen page cannot make documents: this executable's path is unknown");
            None
        }
        (None, _) => None,
    };

    let mut gate_cfg = gate::Config::new(
        Arc::clone(&topology),
        Arc::clone(&health),
        shared.metrics.clone(),
        state_dir,
        secrets.clone(),
    );
    gate_cfg.max_in_flight = max_in_flight;
    match gate::Gate::open(gate_cfg) {
        Ok(g) => {
            // The pattern memory forgets idle callers every few minutes.
            let (pruned, cancel2) = (g.clone(), cancel.clone());
            tracker.spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(300));
                loop {
                    tokio::select! {
                        () = cancel2.cancelled() => return,
                        _ = every.tick() => pruned.prune(),
                    }
                }
            });
            tracker.spawn(watch_routes(
                g.clone(),
                Arc::clone(shared),
                store_tx,
                cancel.clone(),
            ));
            dashboard.gate = Some(g.clone());
            app = app.merge(gate::api::router(g));
        }
        Err(e @ (gate::Error::NoAccount { .. } | gate::Error::NoWebPortal { .. })) => {
            tracing::warn!(error = %crate::cause::chain(&e), "NIK look-ups are disabled");
            let why = e.to_string();
            app = app.route(
                "/api/v1/lookup",
                axum::routing::post(move || {
                    let why = why.clone();
                    async move {
                        web::ApiError::new(
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "not_configured",
                            format!("Layanan cek NIK belum dikonfigurasi: {why}"),
                        )
                    }
                }),
            );
        }
        Err(e) => return Err(e).context("starting the NIK gate"),
    }

    let outbox = outbox::Outbox::open(state_dir).context("opening the data balikan outbox")?;
    // Imports check the aid types this topology declares, also those made by `juknis balikan
    // import` beside serve, which has no topology of its own.
    outbox
        .declare(&topology.data_balikan)
        .context("recording the data balikan fields")?;
    tracker.spawn(declare_on_reload(
        outbox.clone(),
        Arc::clone(shared),
        cancel.clone(),
    ));
    dashboard.outbox = Some(outbox.clone());
    let tokens = secrets.clone();
    let api = outbox::api::router(outbox.clone()).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let tokens = tokens.clone();
            async move {
                let token = req
                    .headers()
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim);
                if token.and_then(|t| tokens.application(t)).is_none() {
                    return axum::response::IntoResponse::into_response(web::ApiError::new(
                        axum::http::StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "Token API tidak dikenal: sertakan `Authorization: Bearer <token>` aplikasi OPD",
                    ));
                }
                next.run(req).await
            }
        },
    ));
    app = app.merge(api);

    let balikan_node = topology.paths.iter().find_map(|p| {
        let n = topology.node(&p.service)?;
        (n.kind == crate::topology::NodeKind::Service(crate::topology::ServiceKind::DataBalikan))
            .then_some(n)
    });
    match (
        &secrets.balikan,
        balikan_node.and_then(|n| n.url.as_ref().map(|u| (n, u))),
    ) {
        (Some(account), Some(_)) => {
            let sender = balikan_sender(&topology, account, &outbox, &health, shared)?;
            tracker.spawn(supervise_sender(
                sender,
                Arc::clone(shared),
                account.clone(),
                outbox,
                health,
                cancel.clone(),
            ));
        }
        (None, Some(_)) => tracing::warn!(
            "data balikan is queued but not sent: no account (`balikan: {{token, id_lembaga}}` in secrets.yaml, or JUKNIS_BALIKAN_TOKEN and JUKNIS_BALIKAN_ID_LEMBAGA)"
        ),
        (_, None) => tracing::info!(
            "the topology has no data balikan service with a URL: the outbox only queues"
        ),
    }
    dashboard.notify = start_notifiers(shared, state_dir, &secrets, tracker, cancel)?;
    // The dashboard last: it is the only router with a fallback (an HTML 404).
    let dash = web::dashboard::router(Arc::clone(shared), dashboard)
        .context("opening the dashboard users")?;
    Ok(app.merge(dash))
}

/// How often path verdicts are turned into notifications (`JUKNIS_NOTIFY_EVERY_MS` shortens it
/// for tests).
fn notify_every() -> Duration {
    std::env::var("JUKNIS_NOTIFY_EVERY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| (10..=60_000).contains(ms))
        .map_or(Duration::from_secs(5), Duration::from_millis)
}

/// The notifiers: the dispatcher (verdicts to the durable queue) and the sender, when the
/// topology declares any. Notifier changes take effect at the next start.
fn start_notifiers(
    shared: &Arc<Shared>,
    state_dir: &Path,
    secrets: &gate::Secrets,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<crate::notify::Queue>> {
    let topology = shared.topology();
    if topology.notifiers.is_empty() {
        return Ok(None);
    }
    let queue = crate::notify::Queue::open(state_dir).context("opening the notification queue")?;
    let sender = crate::notify::Sender::new(
        &topology.agreement.opd,
        &topology.notifiers,
        &secrets.notifiers,
    )
    .context("the notifiers")?;
    let dispatcher = crate::notify::Dispatcher::new(Arc::clone(&topology), queue.clone())
        .context("the notification state")?;
    // Replies in the Telegram groups acknowledge incidents, as the dashboard's button does.
    let store_file = state_dir.join("juknis.db");
    let ack: crate::notify::replies::Ack = Arc::new(move |incident, by| {
        Store::open(&store_file)
            .and_then(|mut s| {
                s.acknowledge_paths(&incident.paths, incident.opened_ms / 1000, by, now_s())
            })
            .map_err(|e| e.to_string())
    });
    for bot in sender.telegram_bots() {
        tracker.spawn(crate::notify::replies::run_replies(
            bot,
            queue.clone(),
            Arc::clone(&ack),
            cancel.clone(),
        ));
    }
    let s = Arc::clone(shared);
    let s2 = Arc::clone(shared);
    tracker.spawn(crate::notify::run_dispatcher(
        dispatcher,
        move || s.verdicts(),
        move || s2.topology(),
        shared.metrics.clone(),
        notify_every(),
        cancel.clone(),
    ));
    tracker.spawn(crate::notify::run_sender(
        sender,
        queue.clone(),
        shared.metrics.clone(),
        cancel.clone(),
    ));
    tracing::info!(notifiers = topology.notifiers.len(), "notifiers started");
    Ok(Some(queue))
}

/// Judge the Web Portal's routes every few seconds (a failover or failback is decided when it
/// happens, not at the next look-up) and keep each change of the active route in the
/// incident history: an incident on `<path>:rute` opens when traffic leaves the primary and
/// closes when it comes back.
///
/// A topology reloaded on SIGHUP (by [`supervise_probes`]) reaches the gate here too: its
/// routes, URLs, pins and egress are built again ([`gate::Gate::reload`]).
async fn watch_routes(
    gate: gate::Gate,
    shared: Arc<Shared>,
    store: std::sync::mpsc::SyncSender<StoreMsg>,
    cancel: CancellationToken,
) {
    let mut changes = gate.watch_route();
    let mut every = tokio::time::interval(Duration::from_secs(2));
    let mut topology = shared.topology();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = every.tick() => {
                let now = shared.topology();
                if !Arc::ptr_eq(&now, &topology) {
                    topology = now;
                    if let Err(e) = gate.reload(&topology) {
                        tracing::error!(error = %crate::cause::chain(&e), "NIK gate: reloaded topology refused; keeping the running routes");
                    }
                }
                gate.refresh_route();
            }
            r = changes.changed() => {
                if r.is_err() {
                    return;
                }
                let a = changes.borrow_and_update().clone();
                let (state, reason) = route_incident(&a);
                let _ = store.try_send(StoreMsg::State {
                    subject: format!("{}:rute", a.path),
                    state,
                    reason,
                    at: a.since.timestamp(),
                });
            }
        }
    }
}

/// Keep the outbox's declared fields those of the running topology: a SIGHUP that changes the
/// aid types changes what the next import accepts.
async fn declare_on_reload(outbox: outbox::Outbox, shared: Arc<Shared>, cancel: CancellationToken) {
    let mut topology = shared.topology();
    let mut every = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = every.tick() => {}
        }
        let now = shared.topology();
        if Arc::ptr_eq(&now, &topology) {
            continue;
        }
        topology = now;
        let (ob, fields) = (outbox.clone(), topology.data_balikan.clone());
        if let Err(e) = outbox::blocking(move || ob.declare(&fields)).await {
            tracing::error!(error = %crate::cause::chain(&e), "data balikan: the reloaded fields were not recorded");
        }
    }
}

/// The data balikan sender of `t`: one client per route of its path, each bound as its route
/// says.
fn balikan_sender(
    t: &crate::topology::Topology,
    account: &gate::secrets::Balikan,
    outbox: &outbox::Outbox,
    health: &Arc<dyn crate::health::Source>,
    shared: &Arc<Shared>,
) -> anyhow::Result<outbox::Sender<outbox::sender::RouteClients>> {
    let clients = outbox::sender::route_clients(t, &account.token, &account.id_lembaga)
        .context("the topology has no data balikan path")?
        .context("the data balikan client")?;
    let Some(cfg) = outbox::sender::Config::from_topology(t, &account.id_lembaga) else {
        anyhow::bail!("the topology has no data balikan path");
    };
    Ok(outbox::Sender::new(
        outbox.clone(),
        clients,
        Arc::clone(health),
        cfg,
        shared.metrics.clone(),
    ))
}

/// Run the data balikan sender; when the topology is reloaded (SIGHUP), stop it between
/// posts (a post in flight finishes and is recorded: the outbox is durable) and start one
/// built from the new topology. A topology it cannot use keeps the running sender.
async fn supervise_sender(
    sender: outbox::Sender<outbox::sender::RouteClients>,
    shared: Arc<Shared>,
    account: gate::secrets::Balikan,
    outbox: outbox::Outbox,
    health: Arc<dyn crate::health::Source>,
    cancel: CancellationToken,
) {
    let start = |s: outbox::Sender<outbox::sender::RouteClients>| {
        let token = cancel.child_token();
        let t = token.clone();
        let handle = tokio::spawn(async move {
            if let Err(e) = s.run(t).await {
                tracing::error!(error = %e, "data balikan sender stopped");
            }
        });
        (token, handle)
    };
    let mut topology = shared.topology();
    let (mut token, mut handle) = start(sender);
    let mut every = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                let _ = (&mut handle).await;
                return;
            }
            _ = every.tick() => {}
        }
        let now = shared.topology();
        if Arc::ptr_eq(&now, &topology) {
            continue;
        }
        topology = now;
        match balikan_sender(&topology, &account, &outbox, &health, &shared) {
            Ok(next) => {
                token.cancel();
                let _ = (&mut handle).await;
                tracing::info!("data balikan sender: topology reloaded");
                (token, handle) = start(next);
            }
            Err(e) => {
                tracing::error!(error = %e, "data balikan sender: reloaded topology refused; keeping the running sender");
            }
        }
    }
}

/// The incident-history row of an active route: degraded with the reason while an alternate
/// carries the traffic, healthy (closing the incident) on the primary.
fn route_incident(a: &gate::ActiveRoute) -> (State, String) {
    if a.index == 0 {
        (
            State::Healthy,
            format!(
                "Lalu lintas kembali ke jalur utama ({})",
                a.previous.as_deref().unwrap_or("-")
            ),
        )
    } else {
        (
            State::Degraded,
            format!(
                "Lalu lintas dialihkan ke jalur cadangan {} (dari {}): jalur sebelumnya terputus",
                a.route,
                a.previous.as_deref().unwrap_or("-")
            ),
        )
    }
}

/// Run the scheduler; on SIGHUP re-read the topology and its profiles and, when they are
/// valid, restart the probes on the new plan. A bad file keeps the running configuration and
/// says why in the log.
async fn supervise_probes(
    plan: scheduler::Plan,
    sockets: Option<probe::icmp::Sockets>,
    state_dir: PathBuf,
    reload_from: Option<PathBuf>,
    shared: Arc<Shared>,
    rounds: mpsc::Sender<scheduler::Round>,
    cancel: CancellationToken,
) {
    let start = |plan: scheduler::Plan| {
        let token = cancel.child_token();
        let m = shared.metrics.clone();
        let handle = tokio::spawn(scheduler::run(
            plan,
            rounds.clone(),
            move |k| {
                m.probe_skipped
                    .with_label_values(&[k.node.as_str(), &k.profile])
                    .inc()
            },
            token.clone(),
        ));
        (token, handle)
    };
    let reprobe = plan.reprobe.clone();
    let (mut token, mut runner) = start(plan);
    #[cfg(unix)]
    let mut hup = reload_from
        .as_ref()
        .and_then(|_| tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok());
    loop {
        let reload = async {
            #[cfg(unix)]
            if let Some(h) = hup.as_mut() {
                return h.recv().await;
            }
            std::future::pending::<Option<()>>().await
        };
        tokio::select! {
            _ = &mut runner => return,
            () = cancel.cancelled() => {
                let _ = (&mut runner).await;
                return;
            }
            _ = reload => {}
        }
        let Some(path) = &reload_from else { continue };
        match super::probe::load(path) {
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "reload refused: keeping the running configuration");
            }
            Ok((topology, profiles)) => {
                // New links may name new SNMP credentials: read them again.
                let snmp = match crate::gate::secrets::Secrets::load(&state_dir) {
                    Ok(s) => s.snmp,
                    Err(e) => {
                        tracing::error!(error = %e, "reload: the secrets cannot be read; SNMP polls without credentials are not scheduled");
                        Default::default()
                    }
                };
                let (mut next, errors) =
                    scheduler::plan(&topology, &profiles, sockets.as_ref(), &snmp);
                // One registry of re-probe requests for the daemon's life: `consume` holds it.
                next.reprobe = reprobe.clone();
                for e in &errors {
                    tracing::warn!(target = %e.key, why = %e.why, "probe not scheduled");
                }
                token.cancel();
                let _ = (&mut runner).await;
                let keep: std::collections::BTreeSet<_> =
                    next.tasks.iter().map(|t| t.key.clone()).collect();
                if let Ok(mut h) = shared.health.write() {
                    h.retain(|k| keep.contains(k));
                }
                // The windows made on the dashboard stay in force across a reload.
                let mut topology = topology;
                topology.maintenance.made = shared.topology().maintenance.made.clone();
                if let Ok(mut t) = shared.topology.write() {
                    *t = Arc::new(topology);
                }
                tracing::info!(file = %path.display(), probes = next.tasks.len(), "configuration reloaded");
                (token, runner) = start(next);
            }
        }
    }
}

/// Tell systemd we are ready (Type=notify), if it is listening.
fn notify_ready() {
    #[cfg(unix)]
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        let sock = std::os::unix::net::UnixDatagram::unbound();
        if let Ok(sock) = sock {
            let _ = sock.send_to(b"READY=1", Path::new(&path));
        }
    }
}

enum StoreMsg {
    Sample(Box<Sample>),
    Bandwidth(Box<store::BandwidthSample>),
    State {
        subject: String,
        state: State,
        reason: String,
        at: i64,
    },
    Trace {
        subject: String,
        started_s: i64,
        summary: String,
        json: String,
    },
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Judge each round into health, metrics and the store. When a target's rounds turn bad, the
/// hops before it are asked for a round at once (`reprobe`), so that the first verdict on a
/// path names where the fault is, not whichever hop's rounds came first.
async fn consume(
    mut rx: mpsc::Receiver<scheduler::Round>,
    shared: Arc<Shared>,
    store: std::sync::mpsc::SyncSender<StoreMsg>,
    reprobe: scheduler::Reprobe,
) {
    let m = &shared.metrics;
    // Per path: its state and where its trouble was placed, as last reported.
    type Said = (
        State,
        Option<(Option<crate::topology::NodeId>, crate::topology::NodeId)>,
    );
    let mut last_path: std::collections::BTreeMap<String, Said> = Default::default();
    // Per path: when the daemon last traced it by itself.
    let mut last_trace: std::collections::BTreeMap<String, i64> = Default::default();
    while let Some(r) = rx.recv().await {
        let now = now_s();
        let (node, profile) = (r.key.node.as_str(), r.key.profile.as_str());
        let o = &r.outcome;
        let meas = o.measures();
        let rtt = match &o.detail {
            probe::Detail::Icmp(d) => d.rtt.as_ref().map(|s| (s.min, s.p50, s.p90, s.max)),
            _ => meas.rtt.map(|d| (d, d, d, d)),
        };
        // The target's series, set once a round: with its committed state once health has
        // judged the round (SNMP rounds are not judged).
        let series = |state: Option<State>| {
            m.targets.update(node, profile, |s| {
                s.kind = r.kind.as_str();
                s.count(o.ok);
                if let Some((min, p50, p90, max)) = rtt {
                    s.rtt = Some([min, p50, p90, max].map(|d| d.as_secs_f64()));
                }
                if let Some(l) = meas.loss_ratio {
                    s.loss = Some(l);
                }
                if let Some(j) = meas.jitter {
                    s.jitter = Some(j.as_secs_f64());
                }
                if state.is_some() {
                    s.state = state;
                }
            });
        };
        if let Some(link) = &r.link {
            m.probe_bytes
                .with_label_values(&[link.as_str()])
                .inc_by(o.bytes_spent);
        }
        if let Some(d) = meas.tls_days_to_expiry {
            m.tls_expiry
                .with_label_values(&[node, profile])
                .set(d as f64 * 86_400.0);
        }
        if let Some(b) = meas.bandwidth_bps {
            let method = match &o.detail {
                probe::Detail::Bandwidth(d) => d.method.as_str(),
                _ => "other",
            };
            m.bandwidth_estimate
                .with_label_values(&[node, profile, method])
                .set(b / 8.0);
        }
        if let probe::Detail::Snmp(d) = &o.detail {
            series(None);
            interface_metrics(&shared, d);
            // SNMP is a monitoring channel: its rounds never judge a link or a path.
            let sample = Sample {
                rx_bps: d.rx_bps,
                tx_bps: d.tx_bps,
                ..sample_of(&r, o, None, &meas)
            };
            if store.try_send(StoreMsg::Sample(Box::new(sample))).is_err() {
                tracing::warn!("store is behind; a sample was dropped");
            }
            continue;
        }
        let (transition, again, committed) = shared
            .health
            .write()
            .map(|mut h| {
                let was_good = h
                    .target(&r.key)
                    .is_none_or(|t| matches!(t.last.state, State::Healthy | State::Unknown));
                // Both ends of the round: a failing round's end is when the fault was surely
                // there; only rounds of the hops before it that started later may place it
                // (health::Tracker::observe_round).
                let ended_ms = o
                    .started_unix_ms
                    .saturating_add(i64::try_from(o.elapsed.as_millis()).unwrap_or(i64::MAX));
                tracing::debug!(target = %r.key, state = r.level.state.as_str(), started_ms = o.started_unix_ms, ended_ms, "round judged");
                let transition =
                    h.observe_round(&r.key, r.level.clone(), now, o.started_unix_ms, ended_ms);
                let turned_bad = was_good && matches!(r.level.state, State::Degraded | State::Down);
                let again = if turned_bad {
                    h.before(&shared.topology(), &r.key.node)
                } else {
                    Vec::new()
                };
                let committed = h
                    .target(&r.key)
                    .map_or(State::Unknown, |t| t.committed.state);
                (transition, again, committed)
            })
            .unwrap_or((None, Vec::new(), State::Unknown));
        for k in &again {
            if reprobe.request(k) {
                tracing::debug!(target = %k, after = %r.key, "re-probing a hop before a failing one");
            }
        }
        series(Some(committed));
        if let Some(t) = transition {
            m.transitions
                .with_label_values(&[node, profile, t.to.as_str()])
                .inc();
            tracing::info!(target = %r.key, from = t.from.as_str(), to = t.to.as_str(), detail = %r.level.detail, "target state changed");
        }
        // Path and link verdicts follow every round: cheap for the handful of paths an OPD has.
        for v in shared.verdicts() {
            let path = v.path.to_string();
            Metrics::set_state(&m.path_state, &[&path], v.state);
            if let Some(best) = v.best {
                for (link, state) in &v.routes[best].links {
                    Metrics::set_state(&m.link_state, &[link.as_str()], *state);
                }
            }
            let said = (v.state, v.best.and_then(|b| v.routes[b].at.clone()));
            if last_path.get(&path) != Some(&said) {
                tracing::info!(path = %path, state = v.state.as_str(), reason = %v.reason(), "path state");
                let was_bad = last_path
                    .get(&path)
                    .is_some_and(|(s, _)| matches!(s, State::Degraded | State::Down));
                last_path.insert(path.clone(), said);
                let _ = store.try_send(StoreMsg::State {
                    subject: path.clone(),
                    state: v.state,
                    reason: v.reason().to_string(),
                    at: now,
                });
                // An incident opens: trace the path now, to keep with it (one a path per
                // AUTO_TRACE_EVERY_S, within the probe budget).
                let bad = matches!(v.state, State::Degraded | State::Down);
                let due = last_trace
                    .get(&path)
                    .is_none_or(|t| now - t >= AUTO_TRACE_EVERY_S);
                if bad && !was_bad && due {
                    last_trace.insert(path.clone(), now);
                    auto_trace(&shared, path, store.clone());
                }
            }
        }
        if let probe::Detail::Bandwidth(d) = &o.detail {
            let row = store::BandwidthSample {
                ts_ms: o.started_unix_ms,
                node: r.key.node.to_string(),
                profile: r.key.profile.clone(),
                method: d.method.clone(),
                estimate_bps: d.estimate_bps,
                burst_bytes: d.burst_bytes,
                burst_min_bytes: d.burst_min_bytes,
                capacity_bps: d.capacity_bps,
                policed: d.policed,
                direction: d.direction.clone(),
                undetermined: d.undetermined.clone(),
                bytes: o.bytes_spent,
            };
            if store.try_send(StoreMsg::Bandwidth(Box::new(row))).is_err() {
                tracing::warn!("store is behind; a bandwidth round's details were dropped");
            }
        }
        let sample = sample_of(&r, o, rtt, &meas);
        if store.try_send(StoreMsg::Sample(Box::new(sample))).is_err() {
            tracing::warn!("store is behind; a sample was dropped");
        }
    }
}

/// The daemon traces a path by itself at most this often (seconds).
const AUTO_TRACE_EVERY_S: i64 = 600;
/// Rounds of the daemon's own trace when an incident opens: enough to see where it stops.
const AUTO_TRACE_ROUNDS: usize = 5;

/// Trace `path` on a blocking thread and hand the trace to the store, which keeps it with the
/// incident open on the path.
fn auto_trace(shared: &Shared, path: String, store: std::sync::mpsc::SyncSender<StoreMsg>) {
    let topology = shared.topology();
    let planned = probe::trace::for_path(&topology, &path, None, None).and_then(|(cfg, route)| {
        let budget = route.hops.last().map_or(0, |service| {
            probe::trace::budget_bytes(&topology, service, 64 * 1024)
        });
        let mut cfg = cfg;
        cfg.rounds = AUTO_TRACE_ROUNDS;
        cfg.within(budget).map(|cfg| (cfg, route.clone()))
    });
    let (cfg, route) = match planned {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(path = %path, why = %e, "no trace for the incident");
            return;
        }
    };
    tokio::task::spawn_blocking(
        move || match probe::trace::run(&cfg, Some((&topology, &route))) {
            Ok(mut t) => {
                t.path = Some(path.clone());
                tracing::info!(path = %path, summary = %t.summary, "incident traced");
                let json = serde_json::to_string(&t).unwrap_or_default();
                let _ = store.try_send(StoreMsg::Trace {
                    subject: path,
                    started_s: t.started_unix_ms / 1000,
                    summary: t.summary,
                    json,
                });
            }
            Err(e) => tracing::warn!(path = %path, error = %e, "the incident's trace failed"),
        },
    );
}

type Rtts = (Duration, Duration, Duration, Duration);

/// The stored row of a round. An SNMP round's `node` is the polled link's id.
fn sample_of(
    r: &scheduler::Round,
    o: &probe::Outcome,
    rtt: Option<Rtts>,
    meas: &probe::Measures,
) -> Sample {
    Sample {
        ts_ms: o.started_unix_ms,
        node: r.key.node.to_string(),
        profile: r.key.profile.clone(),
        kind: r.kind.as_str().to_string(),
        ok: o.ok,
        state: r.level.state.as_str().to_string(),
        rtt_p50_s: rtt.map(|r| r.1.as_secs_f64()),
        rtt_p90_s: rtt.map(|r| r.2.as_secs_f64()),
        rtt_max_s: rtt.map(|r| r.3.as_secs_f64()),
        rtt_min_s: rtt.map(|r| r.0.as_secs_f64()),
        loss: meas.loss_ratio,
        jitter_s: meas.jitter.map(|j| j.as_secs_f64()),
        bandwidth_bps: meas.bandwidth_bps,
        bytes: o.bytes_spent,
        // A bandwidth round says how it measured ("burst ±32 KB, lalu 512 Kbps") or why it has
        // no figure, unless its level has something worse to say.
        detail: match &o.detail {
            probe::Detail::Bandwidth(d) if r.level.detail.is_empty() => d.summary(),
            _ => r.level.detail.clone(),
        },
        rx_bps: None,
        tx_bps: None,
    }
}

/// Octet counters and utilisation of a link from an SNMP round that measured a rate.
fn interface_metrics(shared: &Shared, d: &probe::snmp::Detail) {
    let m = &shared.metrics;
    let contracted = shared
        .topology()
        .link(&crate::topology::LinkId::new(d.link.as_str()))
        .and_then(|l| l.bandwidth)
        .map(|b| b.bps());
    for (direction, octets, bps) in [("rx", d.rx_octets, d.rx_bps), ("tx", d.tx_octets, d.tx_bps)] {
        if let Some(n) = octets {
            m.link_interface_octets
                .with_label_values(&[d.link.as_str(), direction])
                .inc_by(n);
        }
        if let (Some(bps), Some(c)) = (bps, contracted.filter(|c| *c > 0)) {
            m.link_utilisation
                .with_label_values(&[d.link.as_str(), direction])
                .set(bps / c as f64);
        }
    }
}

/// The store writer thread: batches samples, rolls up each minute, prunes each hour, and
/// flushes when the channel closes.
fn write_store(mut store: Store, rx: std::sync::mpsc::Receiver<StoreMsg>) {
    let mut batch = Vec::new();
    let mut last_rollup = now_s();
    let mut last_prune = 0;
    use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
    let mut msgs = Vec::new();
    loop {
        // The first message wakes the thread; what arrives in the next STORE_GATHER is taken
        // with it, so the writer wakes twice a second rather than once a round (at a
        // thousand targets a second, its wake-ups were a third of the daemon's context
        // switches) and writes each gathering in one transaction.
        let mut closed = false;
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(m) => {
                msgs.push(m);
                std::thread::sleep(STORE_GATHER);
                loop {
                    match rx.try_recv() {
                        Ok(m) => msgs.push(m),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => closed = true,
        }
        for msg in msgs.drain(..) {
            store_one(&mut store, msg, &mut batch);
        }
        if !batch.is_empty() {
            if let Err(e) = store.insert(&batch) {
                tracing::error!(error = %e, rows = batch.len(), "writing samples");
            }
            batch.clear();
        }
        let now = now_s();
        if now - last_rollup >= 60 || closed {
            let from = last_rollup - 120;
            if let Err(e) = store
                .rollup(60, from, now + 60)
                // `rollup` floors `from` to its hour: the hours of the minutes just rolled up.
                .and_then(|_| store.rollup(3600, from, now + 3600))
            {
                tracing::error!(error = %e, "rolling up");
            }
            last_rollup = now;
        }
        if now - last_prune >= 3600 {
            if let Err(e) = store.prune(now, store::Retention::default()) {
                tracing::error!(error = %e, "pruning");
            }
            last_prune = now;
        }
        if closed {
            return;
        }
    }
}

/// How long the store writer gathers messages after the first one wakes it: half a second's
/// samples in one transaction. Each commit rewrites the WAL's partly filled pages, so fewer
/// commits cost less `pwrite`; a whole second's held 1.5 MB more at 1,000 targets (the
/// gathered rows and the transaction's dirty pages) for little less CPU.
const STORE_GATHER: Duration = Duration::from_millis(500);

/// One message for the store: a sample joins `batch`, the rest are written at once.
fn store_one(store: &mut Store, msg: StoreMsg, batch: &mut Vec<Sample>) {
    match msg {
        StoreMsg::Sample(s) => batch.push(*s),
        StoreMsg::Bandwidth(b) => {
            if let Err(e) = store.insert_bandwidth(&[*b]) {
                tracing::error!(error = %e, "writing a bandwidth round's details");
            }
        }
        StoreMsg::State {
            subject,
            state,
            reason,
            at,
        } => {
            if let Err(e) = store.record_state(&subject, state.as_str(), &reason, at) {
                tracing::error!(error = %e, "recording an incident");
            }
        }
        StoreMsg::Trace {
            subject,
            started_s,
            summary,
            json,
        } => {
            if let Err(e) = store.insert_trace(&subject, started_s, "juknis", &summary, &json) {
                tracing::error!(error = %e, "keeping a trace");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    #[rstest]
    #[case::default("64", Some(64))]
    #[case::one("1", Some(1))]
    #[case::spaces(" 200 ", Some(200))]
    #[case::zero("0", None)]
    #[case::too_many("100001", None)]
    #[case::word("banyak", None)]
    fn the_in_flight_limit_is_a_sensible_number(#[case] arg: &str, #[case] want: Option<usize>) {
        let got = super::in_flight_limit(arg);
        assert_eq!(got.as_ref().ok().copied(), want, "{got:?}");
        if let Err(e) = got {
            assert!(e.contains(arg.trim()) && e.contains("1 to 100000"), "{e}");
        }
    }
}
