//! `juknis sim`: run the Dukcapil simulator alone, or print its sample NIKs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::sim;

/// Arguments of `juknis sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// Serve HTTPS with a self-signed certificate generated at start.
    #[arg(long)]
    tls: bool,
    /// Write the certificate (PEM) here, for clients that pin it.
    #[arg(long, value_name = "FILE", requires = "tls")]
    cert_out: Option<PathBuf>,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = sim::DEFAULT_SEED)]
    seed: u64,
    /// Daily quota of look-ups (the day in WIB).
    #[arg(long, default_value_t = sim::DEFAULT_QUOTA)]
    quota: u64,
    /// Bearer token of the data balikan endpoint.
    #[arg(long, env = "JUKNIS_SIM_BALIKAN_TOKEN", default_value = sim::DEFAULT_BALIKAN_TOKEN)]
    balikan_token: String,
    /// Take the data balikan `param` keys and aid types from this topology's `data_balikan`
    /// section (the documented ID_PENERIMA, JENIS_BANTUAN and PKH/PBI without it).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The IP the accounts are registered with (`ip_user`): the OPD access point's IP LAN.
    #[arg(long, value_name = "IP", default_value = sim::IP_USER)]
    ip_user: std::net::IpAddr,
    /// Print one sample NIK per status for the seed and exit.
    #[arg(long)]
    samples: bool,
    /// With --samples: print JSON (status to NIK).
    #[arg(long, requires = "samples")]
    json: bool,
    /// Fault: added latency in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Fault: close connections without an answer.
    #[arg(long)]
    drop: bool,
    /// Fault: answer with this HTTP status (e.g. 503).
    #[arg(long, value_name = "CODE")]
    http_status: Option<u16>,
    /// Fault: send bodies 16 bytes at a time with this delay in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    slow_body_ms: u64,
    /// Fault: answer with JSON cut in the middle.
    #[arg(long)]
    broken_json: bool,
    /// Apply the faults to every n-th request only.
    #[arg(long, value_name = "N", default_value_t = 1)]
    fault_every: u32,
}

/// Run the command.
pub fn run(args: Args) -> ExitCode {
    if args.samples {
        let samples = sim::Population::generate(args.seed, None).samples().clone();
        if args.json {
            match serde_json::to_string_pretty(&samples) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(super::EXIT_INTERNAL);
                }
            }
        } else {
            for (status, nik) in &samples {
                println!("{status:<16} {nik}");
            }
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let args_ip_user = args.ip_user;
    let balikan_fields = match &args.config {
        None => crate::topology::BalikanFields::default(),
        Some(file) => match crate::topology::load(file) {
            Ok(t) => t.data_balikan,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(super::EXIT_BAD_CONFIG);
            }
        },
    };
    let config = sim::Config {
        listen: args.listen,
        tls: args.tls,
        seed: args.seed,
        quota: args.quota,
        faults: sim::Faults {
            latency_ms: args.latency_ms,
            drop: args.drop,
            http_status: args.http_status,
            slow_body_ms: args.slow_body_ms,
            broken_json: args.broken_json,
            every: args.fault_every,
        },
        balikan_token: args.balikan_token,
        balikan_fields,
        canary: None,
        ip_user: args.ip_user,
    };
    let handle = match sim::Server::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_UNAVAILABLE);
        }
    };
    if let (Some(path), Some(pem)) = (&args.cert_out, handle.cert_pem())
        && let Err(source) = std::fs::write(path, pem)
    {
        eprintln!(
            "error: {}",
            sim::Error::CertOut {
                path: path.clone(),
                source
            }
        );
        handle.shutdown().await;
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    }
    println!("Dukcapil simulator on {}", handle.base_url());
    if let Some(fp) = handle.fingerprint() {
        println!(
            "certificate SHA-256: {}",
            crate::portal::tls::fingerprint_hex(&fp)
        );
    }
    println!(
        "look-up: POST {}/dukcapil/get_json/{}/CALL_NIK  (or /dukcapil/get_json/32-04/<instansi_user>/call_nik)",
        handle.base_url(),
        sim::INSTANSI_ID
    );
    println!(
        "account: user_id={} password={} ip_user={}",
        sim::USER,
        sim::PASSWORD,
        args_ip_user
    );
    println!("data balikan: POST {} (bearer token)", handle.balikan_url());
    for (status, nik) in handle.samples() {
        println!("sample {status:<16} {nik}");
    }
    if tokio::signal::ctrl_c().await.is_err() {
        eprintln!("error: cannot wait for Ctrl-C");
    }
    handle.shutdown().await;
    ExitCode::SUCCESS
}
