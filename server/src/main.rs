//! The `hangar` command: the web server and administrative commands.
use clap::{Parser, Subcommand};
use hangar::config::Config;
use std::path::PathBuf;

/// The site: `make build` fills `target/site` (scripts/build-site.sh) before compiling this crate; release builds
/// embed it, debug builds read it from there. Its `site-files.txt` lists every file, so that adding or removing
/// one also changes an embedded file and rebuilds this crate.
#[derive(rust_embed::Embed)]
#[folder = "../target/site"]
struct Site;

#[derive(Parser)]
#[command(
    name = "hangar",
    version,
    about = "Hangar: a web console for virtual machines on libvirt"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web server (UI and REST API). Settings: the TOML file, then HANGAR_* variables.
    Serve {
        /// TOML configuration file (keys as in docs/operations.md).
        #[arg(long, short, env = "HANGAR_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Set a new random password for an account and print it (recovery when no admin can sign in).
    ResetPassword {
        /// The account's username.
        username: String,
        #[arg(long, short, env = "HANGAR_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check that every user's quota usage equals what their VMs count; `--repair` corrects it.
    Doctor {
        #[arg(long)]
        repair: bool,
        #[arg(long, short, env = "HANGAR_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the OpenAPI document of the REST API.
    Openapi,
    /// Print the effective configuration, secrets redacted.
    ShowConfig {
        #[arg(long, short, env = "HANGAR_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn init_logging(cfg: &Config) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if cfg.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => {
            hangar::http::site::serve_files(<Site as rust_embed::RustEmbed>::get);
            let cfg = Config::load(config.as_deref())?;
            init_logging(&cfg);
            let running = hangar::start(cfg).await?;
            if let Some(pw) = &running.generated_admin_password {
                // Shown once, on the terminal only: it never reaches the log.
                println!(
                    "\n  First start: sign in as `admin` with password: {pw}\n  (change it on the Profile page)\n"
                );
            }
            println!("Hangar is running on http://{}", running.addr);
            running.wait().await
        }
        Command::ResetPassword { username, config } => {
            let cfg = Config::load(config.as_deref())?;
            let pw = hangar::services::users::cli_reset_password(&cfg, &username).await?;
            println!("New password for {username}: {pw}");
            Ok(())
        }
        Command::Doctor { repair, config } => {
            let cfg = Config::load(config.as_deref())?;
            let pool = hangar::db::open(&cfg.db_path()).await?;
            let caller = hangar::auth::Caller::system("cli");
            let drift = hangar::services::quota::check_usage(&pool, &caller, repair)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for d in &drift {
                let (r, a) = (d.recorded, d.actual);
                println!(
                    "{}: recorded {} VMs, {} vCPUs, {} MiB, {} GiB; their VMs count {} VMs, {} vCPUs, {} MiB, {} GiB{}",
                    d.username,
                    r.vms,
                    r.vcpus,
                    r.memory_mib,
                    r.disk_gib,
                    a.vms,
                    a.vcpus,
                    a.memory_mib,
                    a.disk_gib,
                    if repair { " (repaired)" } else { "" }
                );
            }
            if drift.is_empty() {
                println!("quota usage: consistent");
            } else if !repair {
                println!("run `hangar doctor --repair` to correct it");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Openapi => {
            let doc = hangar::http::openapi(&Config::default());
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(())
        }
        Command::ShowConfig { config } => {
            println!("{:#?}", Config::load(config.as_deref())?);
            Ok(())
        }
    }
}
