//! `juknis balikan`: queue data balikan rows from a CSV file, send the queue, show its state,
//! list the records the service refused and send one again or dismiss it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::outbox::{self, Outbox, sender};
use crate::portal;
use crate::topology::PathId;

/// The `juknis balikan` commands.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Validate a CSV file row by row and queue the accepted rows.
    Import(ImportArgs),
    /// Post the queue to the data balikan service until it is empty.
    Send(Box<SendArgs>),
    /// Counts by state and the age of the oldest pending record.
    Status(StatusArgs),
    /// The records the service refused, with its own words (no NIK shown).
    Refused(StatusArgs),
    /// Put a refused record back in the queue as it is, once its cause is fixed.
    Resend(RecordArgs),
    /// Dismiss a refused record: its NIK is erased and it leaves the list.
    Dismiss(RecordArgs),
}

/// The topology whose `data_balikan` section names the keys and aid types.
#[derive(Debug, clap::Args)]
pub struct Declared {
    /// Take the `param` keys and aid types from this topology and keep them for later imports
    /// (`serve` does the same with its own); without it, what `serve` last recorded, else
    /// ID_PENERIMA, JENIS_BANTUAN and PKH/PBI.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Arguments of `juknis balikan resend` and `dismiss`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The refused record's number, as `juknis balikan refused` lists it.
    #[arg(value_name = "ID")]
    id: i64,
    #[command(flatten)]
    state: StateDir,
}

/// Where the appliance keeps its data.
#[derive(Debug, clap::Args)]
pub struct StateDir {
    /// The appliance's state directory (the outbox is `outbox.sqlite` in it).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/juknis")]
    state_dir: PathBuf,
}

/// Arguments of `juknis balikan import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The CSV file: a header row (nik, id_penerima, jenis_bantuan, or the English names),
    /// `,` or `;` separated.
    #[arg(value_name = "FILE.csv")]
    file: PathBuf,
    #[command(flatten)]
    state: StateDir,
    #[command(flatten)]
    declared: Declared,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `juknis balikan send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    #[command(flatten)]
    state: StateDir,
    #[command(flatten)]
    declared: Declared,
    /// Full URL of the data balikan endpoint.
    #[arg(long, value_name = "URL")]
    url: reqwest::Url,
    /// File holding the bearer token; refused if group or others can read it (`chmod 600`).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// `id_lembaga` sent with every batch.
    #[arg(long, value_name = "ID", env = "JUKNIS_ID_LEMBAGA")]
    id_lembaga: String,
    /// `nama_lembaga` sent with every batch (the OPD's name).
    #[arg(long, value_name = "NAME", env = "JUKNIS_NAMA_LEMBAGA")]
    nama_lembaga: String,
    /// Records per post.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Trust only this CA or self-signed certificate (PEM) for HTTPS.
    #[arg(long, value_name = "FILE", conflicts_with = "fingerprint")]
    ca_file: Option<PathBuf>,
    /// Trust only the certificate with this SHA-256 fingerprint (hex, colons allowed).
    #[arg(long, value_name = "HEX")]
    fingerprint: Option<String>,
    /// Time allowed for one post, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout_ms: u64,
    /// First retry delay after a failed post, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1_000)]
    backoff_base_ms: u64,
    /// Longest retry delay, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 300_000)]
    backoff_max_ms: u64,
    /// Keep running and wait for new rows instead of stopping when the queue is empty.
    #[arg(long)]
    follow: bool,
}

/// Arguments of `juknis balikan status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    state: StateDir,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Run the command.
pub fn run(which: Which) -> ExitCode {
    match which {
        Which::Import(a) => import(&a),
        Which::Send(a) => send(*a),
        Which::Status(a) => status(&a),
        Which::Refused(a) => refused(&a),
        Which::Resend(a) => resend(&a),
        Which::Dismiss(a) => dismiss(&a),
    }
}

fn open(state: &StateDir) -> Result<Outbox, ExitCode> {
    Outbox::open(&state.state_dir).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(super::EXIT_INTERNAL)
    })
}

/// Open the outbox and record the topology's fields when one is given.
fn open_declared(state: &StateDir, declared: &Declared) -> Result<Outbox, ExitCode> {
    let ob = open(state)?;
    if let Some(file) = &declared.config {
        let t = crate::topology::load(file).map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(super::EXIT_BAD_CONFIG)
        })?;
        ob.declare(&t.data_balikan).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_INTERNAL)
        })?;
    }
    Ok(ob)
}

fn import(args: &ImportArgs) -> ExitCode {
    let name = args.file.display().to_string();
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {name}: {e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    let ob = match open_declared(&args.state, &args.declared) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let report = match ob.import_csv(&name, &bytes) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: nothing was imported: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(super::EXIT_INTERNAL);
            }
        }
    } else {
        print!("{report}");
    }
    if !report.broken.is_empty() {
        ExitCode::from(super::EXIT_BAD_CONFIG)
    } else if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn client(args: &SendArgs) -> Result<portal::Client, String> {
    // A token file is a secret file: only its owner may read it (checked on the open handle).
    let token = crate::gate::secrets::read_private(&args.token_file)
        .map_err(|e| e.to_string())?
        .trim()
        .to_owned();
    let trust = match (&args.ca_file, &args.fingerprint) {
        (Some(f), _) => portal::Trust::ca_file(f).map_err(|e| e.to_string())?,
        (None, Some(fp)) => portal::Trust::fingerprint(fp).map_err(|e| e.to_string())?,
        (None, None) => portal::Trust::System,
    };
    let mut base = args.url.clone();
    base.set_path("/");
    base.set_query(None);
    // The look-up side of the client is unused here: no account is needed.
    let creds = portal::Credentials {
        user_id: String::new(),
        password: Default::default(),
        ip_user: String::new(),
    };
    let mut config = portal::Config::new(base, &args.id_lembaga, creds, trust);
    config.timeout = Duration::from_millis(args.timeout_ms);
    config.balikan = Some(portal::BalikanConfig {
        url: args.url.clone(),
        token: token.into(),
    });
    portal::Client::new(config).map_err(|e| e.to_string())
}

fn send(args: SendArgs) -> ExitCode {
    let client = match client(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    let ob = match open_declared(&args.state, &args.declared) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut config = sender::Config::new(
        PathId::new("data-balikan"),
        &args.id_lembaga,
        &args.nama_lembaga,
    );
    config.fields = match ob.fields() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    config.batch_size = args.batch_size.max(1);
    config.backoff_base = Duration::from_millis(args.backoff_base_ms.max(1));
    config.backoff_max = Duration::from_millis(args.backoff_max_ms.max(args.backoff_base_ms));
    config.stop_when_empty = !args.follow;
    let metrics = crate::metrics::Metrics::new();
    let sender = outbox::Sender::new(
        ob.clone(),
        client,
        Arc::new(sender::AssumeHealthy),
        config,
        metrics,
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    let result = runtime.block_on(async move {
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            on_signal.cancel();
        });
        sender.run(cancel).await
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        return ExitCode::from(super::EXIT_INTERNAL);
    }
    match ob.counts() {
        Ok(c) => {
            println!(
                "data balikan: {} terkirim, {} menunggu, {} ditolak",
                c.delivered, c.pending, c.rejected
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

/// Ctrl-C or SIGTERM: the post in flight finishes and its answer is recorded.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn status(args: &StatusArgs) -> ExitCode {
    let ob = match open(&args.state) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match ob.counts() {
        Ok(c) if args.json => match serde_json::to_string(&c) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(super::EXIT_INTERNAL)
            }
        },
        Ok(c) => {
            println!(
                "menunggu (pending): {}\nterkirim (delivered): {}\nditolak (rejected): {}\ndata tertua menunggu (oldest pending): {:.0} s",
                c.pending, c.delivered, c.rejected, c.oldest_pending_age_seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

fn refused(args: &StatusArgs) -> ExitCode {
    let ob = match open(&args.state) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let list = match ob.rejected(1000) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    if args.json {
        println!("{}", serde_json::json!({ "rejected": list }));
        return ExitCode::SUCCESS;
    }
    if list.is_empty() {
        println!("tidak ada data yang ditolak layanan data balikan");
    }
    for r in &list {
        let when = crate::web::i18n::wib(r.at_ms / 1000);
        println!(
            "{:>6}  {when}  {} {}  \"{}\"  ({}){}",
            r.id,
            r.aid,
            r.recipient_id,
            r.reason,
            r.source,
            if r.resendable {
                ""
            } else {
                "  NIK sudah dihapus: impor ulang"
            }
        );
    }
    ExitCode::SUCCESS
}

fn resend(args: &RecordArgs) -> ExitCode {
    let ob = match open(&args.state) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match ob.resend(args.id) {
        Ok(outbox::Resend::Queued) => {
            println!("data {}: {}", args.id, outbox::Resend::Queued.id());
            ExitCode::SUCCESS
        }
        Ok(other) => {
            eprintln!("data {}: {}", args.id, other.id());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

fn dismiss(args: &RecordArgs) -> ExitCode {
    let ob = match open(&args.state) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match ob.dismiss(args.id) {
        Ok(true) => {
            println!("data {}: diabaikan; NIK-nya dihapus", args.id);
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!("data {}: {}", args.id, outbox::Resend::NotFound.id());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}
