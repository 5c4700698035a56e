//! The `tally` binary: `tally serve` (the default), `tally migrate`, `tally schema`,
//! `tally check`.
//! Configuration comes from the environment only; see the README.

use clap::{Parser, Subcommand};
use tally::{check, config::Config, db, graphql, startup, telemetry};

/// mimalloc instead of the system allocator: glibc kept the 19 MiB argon2 working areas of past
/// password hashes resident (650 MiB after 130 hashes, two at a time), and its allocation
/// paths were a fifth of the CPU of a read; mimalloc returns freed memory to the OS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Tally: shared expense books over GraphQL")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Recompute every book's balances from its entries and report any that differ from the
    /// stored ones; exits non-zero if one does (for operators and monitoring).
    Check,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", graphql::sdl());
        return Ok(());
    }
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    for variable in &config.generated_secrets {
        tracing::warn!(
            variable,
            data_dir = %config.data_dir.display(),
            "using a development secret kept in the data directory; set {variable} in production"
        );
    }
    match cli.command {
        Some(Command::Migrate) => {
            db::connect_and_migrate(&config.database_url).await?;
            tracing::info!("migrations applied");
        }
        Some(Command::Check) => {
            let db = db::connect_and_migrate(&config.database_url).await?;
            let report = check::run(&db).await?;
            println!("{report}");
            if !report.is_clean() {
                std::process::exit(1);
            }
        }
        _ => {
            let app = startup::Application::build(config).await?;
            tracing::info!(address = %app.local_addr()?, "Tally is serving GraphQL at /graphql");
            app.run_until(startup::shutdown_signal()).await?;
        }
    }
    Ok(())
}
