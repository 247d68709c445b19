//! The `kwanje` command: `serve`, `token`, `migrate`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kwanje::auth::{Claims, Keys, Role};
use kwanje::config::Config;
use kwanje::store::Store;
use kwanje::time::Millis;

/// jemalloc: a heartbeat's message is allocated on the sender's thread and freed on the device
/// actor's; glibc's arenas pay for that cross-thread free. Measured with `cargo bench --bench
/// supervision` (100,000 device actors, quiet machine): about 480k heartbeats/s with glibc, 560k
/// with mimalloc, 590-610k with jemalloc (one outlying run 1.39M); RSS per device actor about
/// 1.6-1.8 KiB with each; RSS per idle STOMP session (`--bench realtime`, before sessions shared
/// their addresses) 16.6 KiB with glibc and jemalloc, 23.4 KiB with mimalloc; 15.4 KiB now with
/// jemalloc. Off with `--no-default-features` (system allocator, for heap profilers).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "kwanje",
    version,
    about = "Supervision runtime for an airport's vehicle-control centre"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP and WebSocket (configuration from the environment; see README).
    Serve(Box<Config>),
    /// Print a token signed with the server's key, for scripts and tests.
    Token {
        #[arg(long)]
        sub: String,
        #[arg(long)]
        role: Role,
        /// The gate PC or kiosk a `client` token speaks for.
        #[arg(long)]
        client: Option<String>,
        /// The taxi plate a `driver` token speaks for.
        #[arg(long)]
        taxi: Option<String>,
        /// Lifetime, e.g. `1h`, `30m`, `7d`.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://kwanje.db")]
        database_url: String,
        #[arg(long, env = "KWANJE_JWT_SECRET", hide_env_values = true)]
        jwt_secret: Option<String>,
    },
    /// Run pending database migrations and exit.
    Migrate {
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://kwanje.db")]
        database_url: String,
    },
}

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    // Panics (a supervised actor's included) go to the log as one key=value line.
    kwanje::supervision::guard::install_panic_hook();
    match Cli::parse().command {
        Command::Serve(config) => actix_web::rt::System::new().block_on(async move {
            let running = kwanje::app::start(*config, true).await?;
            running.wait().await.context("server failed")
        }),
        Command::Token {
            sub,
            role,
            client,
            taxi,
            ttl,
            database_url,
            jwt_secret,
        } => {
            let secret = match jwt_secret {
                Some(s) => s,
                None => {
                    let store = Store::open(&database_url).context("opening the database for the signing key")?;
                    store.migrate()?;
                    kwanje::app::signing_secret(&store, None)?
                }
            };
            let mut claims = Claims::new(&sub, role, Millis::now(), ttl);
            claims.client = client;
            claims.taxi = taxi;
            let token = Keys::hs256(secret.as_bytes()).issue(&claims)?;
            writeln!(std::io::stdout(), "{token}")?;
            Ok(())
        }
        Command::Migrate { database_url } => {
            let store = Store::open(&database_url)?;
            let ran = store.migrate()?;
            log::info!("migrations run count={} names={ran:?}", ran.len());
            Ok(())
        }
    }
}
