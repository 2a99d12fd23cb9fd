//! `juknis user add`: create a dashboard user in `STATE_DIR/users.db`. The password comes from
//! standard input or a file, never from the command line (it would show in `ps` and history).
//! `juknis user unlock`: lift a user's log-in lock-outs (from every source address).

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
    let text = match &args.password_file {
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
    let password = match text {
        Ok(t) => t.lines().next().unwrap_or("").to_string(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
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
