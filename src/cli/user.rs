//! `juknis user add`: create a dashboard user in `STATE_DIR/users.db`. The password comes from
//! standard input or a file, never from the command line (it would show in `ps` and history).
//! `juknis user unlock`: lift a user's log-in lock-outs (from every source address).
//! `juknis user list|disable|enable|delete|reset-password|nda`: the user's lifecycle (Juknis
//! VI.E: the NDA with its date, document and expiry). A disabled or deleted user's dashboard
//! sessions end at their next request, even while `serve` runs.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::web::auth::{Lockout, Role, Users};

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Add a user. The password is read from standard input, or from --password-file.
    Add(AddArgs),
    /// Lift every log-in lock-out of a user, from every address (for admins, on the appliance).
    Unlock(UnlockArgs),
    /// List the users: role, NDA (date, document, expiry), disabled.
    List(StateDir),
    /// Disable a user: no log-in, their sessions end (not the last admin).
    Disable(UnlockArgs),
    /// Enable a disabled user again.
    Enable(UnlockArgs),
    /// Delete a user and their sessions (not the last admin); the audit log keeps their name.
    Delete(UnlockArgs),
    /// Set a new password (from standard input or --password-file); their sessions end.
    ResetPassword(ResetArgs),
    /// Record a user's signed NDA (Juknis VI.E): its date, document number and expiry.
    Nda(NdaArgs),
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    #[command(flatten)]
    state: StateDir,
    #[arg(long)]
    username: String,
    /// Read the password from this file (first line, mode 600) instead of standard input.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct NdaArgs {
    #[command(flatten)]
    state: StateDir,
    #[arg(long)]
    username: String,
    /// The day it was signed, YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: chrono::NaiveDate,
    /// The NDA's document number.
    #[arg(long, value_name = "NUMBER")]
    document: String,
    /// The last day it holds, where the OPD sets one; after it the user may not look NIKs up.
    #[arg(long, value_name = "YYYY-MM-DD")]
    expires: Option<chrono::NaiveDate>,
}

/// Where the appliance keeps its data (as the systemd unit's `STATE_DIRECTORY` says).
#[derive(Debug, clap::Args)]
pub struct StateDir {
    /// Where the appliance keeps its data.
    #[arg(
        long,
        default_value = "/var/lib/juknis",
        value_name = "DIR",
        env = "STATE_DIRECTORY"
    )]
    state_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    state: StateDir,
    /// The log-in name to unlock.
    #[arg(long)]
    username: String,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    state: StateDir,
    /// The log-in name: letters, digits, '.', '-', '_'.
    #[arg(long)]
    username: String,
    /// admin, technician or operator.
    #[arg(long, value_parser = ["admin", "technician", "operator"])]
    role: String,
    /// The user has signed the non-disclosure agreement (Juknis VI.E): may look NIKs up.
    #[arg(long)]
    nda_signed: bool,
    /// Read the password from this file (first line, mode 600) instead of standard input.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

pub fn run(which: Which) -> ExitCode {
    match which {
        Which::Add(args) => add(args),
        Which::Unlock(args) => unlock(args),
        Which::List(state) => list(&state),
        Which::Disable(args) => change(&args, "disabled", |u, n| u.disable(n)),
        Which::Enable(args) => change(&args, "enabled", |u, n| u.enable(n)),
        Which::Delete(args) => change(&args, "deleted", |u, n| u.delete(n)),
        Which::ResetPassword(args) => reset(args),
        Which::Nda(args) => nda(&args),
    }
}

/// The user database of an existing state dir (never created by these commands).
fn existing(state: &StateDir) -> Result<Users, ExitCode> {
    if !state.state_dir.join(crate::web::auth::FILE).exists() {
        eprintln!(
            "no user database in {}: is --state-dir the appliance's?",
            state.state_dir.display()
        );
        return Err(ExitCode::from(super::EXIT_BAD_CONFIG));
    }
    Users::open(&state.state_dir, Lockout::default()).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(super::EXIT_INTERNAL)
    })
}

/// A refusal is the admin's to fix (exit 64); a database failure is ours (exit 70).
fn failed(e: &crate::web::auth::Error) -> ExitCode {
    eprintln!("{e}");
    match e {
        crate::web::auth::Error::Sql { .. } | crate::web::auth::Error::TooNew { .. } => {
            ExitCode::from(super::EXIT_INTERNAL)
        }
        _ => ExitCode::from(super::EXIT_BAD_CONFIG),
    }
}

fn change(
    args: &UnlockArgs,
    done: &str,
    f: impl FnOnce(&Users, &str) -> Result<(), crate::web::auth::Error>,
) -> ExitCode {
    let users = match existing(&args.state) {
        Ok(u) => u,
        Err(c) => return c,
    };
    match f(&users, &args.username) {
        Ok(()) => {
            tracing::info!(user = %args.username, done, "user changed");
            println!("user {} {done}", args.username);
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

fn list(state: &StateDir) -> ExitCode {
    let users = match existing(state) {
        Ok(u) => u,
        Err(c) => return c,
    };
    match users.list() {
        Ok(all) => {
            for a in all {
                let nda = if a.nda.signed {
                    format!(
                        "NDA {}{}{}",
                        a.nda.date.as_deref().unwrap_or("(tanggal tidak dicatat)"),
                        a.nda
                            .document
                            .as_deref()
                            .map(|d| format!(" no. {d}"))
                            .unwrap_or_default(),
                        a.nda
                            .expires
                            .as_deref()
                            .map(|e| format!(", berlaku sampai {e}"))
                            .unwrap_or_default()
                    )
                } else {
                    "tanpa NDA".to_owned()
                };
                println!(
                    "{}\t{}\t{nda}{}",
                    a.name,
                    a.role.as_str(),
                    if a.disabled { "\tnonaktif" } else { "" }
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

fn reset(args: ResetArgs) -> ExitCode {
    let password = match read_password(args.password_file.as_deref()) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let users = match existing(&args.state) {
        Ok(u) => u,
        Err(c) => return c,
    };
    match users.reset_password(&args.username, &password) {
        Ok(()) => {
            tracing::info!(user = %args.username, "password reset");
            println!("password of {} reset; their sessions ended", args.username);
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

fn nda(args: &NdaArgs) -> ExitCode {
    let users = match existing(&args.state) {
        Ok(u) => u,
        Err(c) => return c,
    };
    if args.document.trim().is_empty() {
        eprintln!("--document: the NDA's document number");
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    }
    match users.set_nda(&args.username, args.date, &args.document, args.expires) {
        Ok(()) => {
            println!("NDA of {} recorded", args.username);
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

/// The first line of `file` (a private file) or of standard input.
fn read_password(file: Option<&std::path::Path>) -> Result<String, ExitCode> {
    let text = match file {
        // A password file is a secret file: refused when group or others may read it.
        Some(f) => crate::secret::read_private(f).map_err(|e| format!("reading the password: {e}")),
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map(|_| s)
                .map_err(|e| format!("reading the password from standard input: {e}"))
        }
    };
    match text {
        Ok(t) => Ok(t.lines().next().unwrap_or("").to_string()),
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::from(super::EXIT_BAD_CONFIG))
        }
    }
}

fn unlock(args: UnlockArgs) -> ExitCode {
    if !args.state.state_dir.join(crate::web::auth::FILE).exists() {
        eprintln!(
            "no user database in {}: is --state-dir the appliance's?",
            args.state.state_dir.display()
        );
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    }
    let users = match Users::open(&args.state.state_dir, Lockout::default()) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    match users.exists(&args.username) {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("no user {}", crate::logtext::escape(&args.username));
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    }
    match users.unlock(&args.username) {
        Ok(true) => {
            tracing::info!(user = %args.username, "log-in lock-outs lifted");
            println!("user {} unlocked", args.username);
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("user {} was not locked out", args.username);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

fn add(args: AddArgs) -> ExitCode {
    let password = match read_password(args.password_file.as_deref()) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let Some(role) = Role::parse(&args.role) else {
        eprintln!("--role must be admin, technician or operator");
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    };
    if let Err(e) = crate::sqlite::create_state_dir(&args.state.state_dir) {
        eprintln!("creating {}: {e}", args.state.state_dir.display());
        return ExitCode::from(super::EXIT_INTERNAL);
    }
    let users = match Users::open(&args.state.state_dir, Lockout::default()) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    match users.add(&args.username, role, &password, args.nda_signed) {
        Ok(()) => {
            println!(
                "user {} added as {}{}",
                args.username,
                role.as_str(),
                if args.nda_signed { " (NDA signed)" } else { "" }
            );
            ExitCode::SUCCESS
        }
        Err(e @ crate::web::auth::Error::Sql { .. }) => {
            eprintln!("{e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(super::EXIT_BAD_CONFIG)
        }
    }
}
