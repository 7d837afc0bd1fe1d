use anyhow::Context;
use clap::{Parser, Subcommand};
use klaxon_server::settings::Settings;
use klaxon_server::App;
use std::path::PathBuf;
use std::process::ExitCode;

/// Klaxon: on-call, alerting and incident platform.
#[derive(Parser)]
#[command(name = "klaxon", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve {
        /// Config file (YAML). Without one Klaxon runs on ./klaxon.db with defaults.
        #[arg(long, env = "KLAXON_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate a config file; prints each problem with its line and exits non-zero on error.
    CheckConfig { file: PathBuf },
    /// The Alertmanager routing tree of a config file.
    Routes {
        #[command(subcommand)]
        command: klaxon_server::routes_cli::RoutesCommand,
    },
    /// Print the version.
    Version,
    /// Web UI accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Set a user's web UI password, read from standard input (one line); signs the user's
    /// browsers out.
    SetPassword {
        username: String,
        /// Create the user with this role (admin, user, stakeholder) if it does not exist.
        #[arg(long)]
        role: Option<String>,
        /// Config file, for the database location.
        #[arg(long, env = "KLAXON_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the argon2 hash of a password read from standard input, for `password_hash`.
    HashPassword,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve {
        config: std::env::var_os("KLAXON_CONFIG").map(PathBuf::from),
    }) {
        Command::Version => {
            println!("klaxon {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Routes { command } => klaxon_server::routes_cli::run(command),
        Command::CheckConfig { file } => match Settings::load(Some(&file)) {
            Ok(s) => {
                println!(
                    "{}: OK ({} users, {} teams, {} integrations)",
                    file.display(),
                    s.config.users.len(),
                    s.config.teams.len(),
                    s.config.integrations.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Command::User { command } => match user_command(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("klaxon: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Serve { config } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("KLAXON_LOG")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
                )
                .with_writer(std::io::stderr)
                .init();
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("klaxon: cannot start runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            match rt.block_on(serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("klaxon: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

async fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    let settings = Settings::load(config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let app = App::start(&settings, klaxon_server::app::default_clock())
        .await
        .context("starting klaxon")?;
    tracing::info!(
        addr = %app.addr,
        database = %klaxon_server::app::redact(&settings.database),
        opsgenie_prefix = %settings.opsgenie_prefix,
        "klaxon {} listening", env!("CARGO_PKG_VERSION")
    );
    if let Some(key) = &app.generated_key {
        println!(
            "\nNo integrations were configured, so Klaxon created a global API integration \"default\".\n\
             Its API key is shown only this once; keep it:\n\n    {key}\n\n\
             Try: curl -X POST http://{}/v2/alerts -H 'Authorization: GenieKey {key}' \\\n\
             \x20     -H 'Content-Type: application/json' -d '{{\"message\":\"hello from klaxon\"}}'\n",
            app.addr
        );
    }
    app.run_until_signal().await
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn user_command(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::HashPassword => {
            let pw = read_password()?;
            let h = klaxon_server::http::ui::session::hash_password(&pw)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{h}");
            Ok(())
        }
        UserCommand::SetPassword {
            username,
            role,
            config,
        } => {
            let settings = Settings::load(config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let pw = read_password()?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let store = klaxon_store::Store::connect(&settings.database)
                    .await
                    .context("opening the database")?;
                let now = klaxon_server::app::default_clock().now_ms();
                let r = klaxon_server::http::ui::accounts::set_password_cli(
                    &store,
                    &username,
                    role.as_deref(),
                    &pw,
                    now,
                )
                .await;
                store.close().await;
                r
            })?;
            println!("password set for {username}; their web sessions were signed out");
            Ok(())
        }
    }
}
