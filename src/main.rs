//! The `kwanje` command: `serve`, `token`, `migrate`, `backup`, `import` and `export` (provisioning
//! sheets), and the simulated site: `sim`, `drill`, `demo`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kwanje::auth::{Claims, Keys, Role};
use kwanje::config::Config;
use kwanje::log_format::{json_line, LogFormat};
use kwanje::sim::link::Transport;
use kwanje::sim::site::{Site, DEFAULT_DEVICES_PER_PC, DEFAULT_GATE_PCS, DEFAULT_TAXIS};
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
    /// Copy a SQLite store to FILE, consistently, while the server may be serving.
    Backup {
        /// Where the copy goes; it must not exist.
        file: PathBuf,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://kwanje.db")]
        database_url: String,
    },
    /// Provision a running server from a sheet (JSON, or CSV for a `.csv` FILE): clients,
    /// devices and taxis registered or edited in one transaction, nothing when a row is bad.
    Import {
        file: PathBuf,
        /// Change nothing; print what would change.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Write what a running server has registered to FILE, in the sheet `import` reads.
    Export {
        file: PathBuf,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Simulate a site's gate PCs, kiosks and taxis against a running server.
    Sim(Box<SimArgs>),
    /// Run one scripted incident against a server and print the verdict table.
    Drill(Box<DrillArgs>),
    /// Serve on a fresh SQLite database with the default site simulated against it.
    Demo {
        #[command(flatten)]
        config: Box<Config>,
        /// Keep the database in this directory (default: a temporary one, removed at the end).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Chance per device and heartbeat that a fault starts.
        #[arg(long, default_value_t = kwanje::sim::demo::DEMO_CHAOS)]
        chaos: f64,
        #[command(flatten)]
        site: SiteArgs,
    },
}

/// Where the server is, and the admin token a provisioning tool acts with.
#[derive(Debug, clap::Args)]
struct ApiArgs {
    /// The server's HTTP address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin's token (`POST /api/v1/auth/token`, or `kwanje token --role admin`).
    #[arg(long, env = "KWANJE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl ApiArgs {
    fn token(&self) -> anyhow::Result<String> {
        self.token
            .clone()
            .context("--token (or KWANJE_TOKEN) is needed: an admin's token")
    }
}

/// Where the server is, and who the tool is.
#[derive(Debug, clap::Args)]
struct ServerArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// `ws` (default), `sockjs` (SockJS's websocket transport at `/sockjs`) or `tcp` (with
    /// `--tcp-addr`, the server's `KWANJE_STOMP_TCP`).
    #[arg(long, default_value = "ws")]
    transport: String,
    #[arg(long)]
    tcp_addr: Option<std::net::SocketAddr>,
}

impl ServerArgs {
    fn token(&self) -> anyhow::Result<String> {
        self.api.token()
    }

    fn transport(&self) -> anyhow::Result<Transport> {
        match (self.transport.as_str(), self.tcp_addr) {
            ("ws", _) => Ok(Transport::Ws),
            ("tcp", Some(addr)) => Ok(Transport::Tcp(addr)),
            ("tcp", None) => {
                anyhow::bail!("--transport tcp needs --tcp-addr HOST:PORT (the server's KWANJE_STOMP_TCP)")
            }
            ("sockjs", _) => Ok(Transport::SockJs),
            (other, _) => anyhow::bail!("unknown transport {other:?}: ws, sockjs or tcp"),
        }
    }
}

/// The site to simulate: a site file, or the built-in airport sized by these.
#[derive(Debug, clap::Args)]
struct SiteArgs {
    /// A JSON or TOML (`.toml`) site file (terminals > zones > clients > devices, and taxis); see
    /// README.
    #[arg(long)]
    site_file: Option<PathBuf>,
    #[arg(long, default_value_t = DEFAULT_GATE_PCS)]
    gate_pcs: usize,
    #[arg(long, default_value_t = DEFAULT_DEVICES_PER_PC)]
    devices_per_pc: usize,
    #[arg(long, default_value_t = DEFAULT_TAXIS)]
    taxis: usize,
}

impl SiteArgs {
    fn site(&self) -> anyhow::Result<Site> {
        match &self.site_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
                let site = if toml {
                    Site::from_toml(&text).map_err(anyhow::Error::from)
                } else {
                    Site::from_json(&text).map_err(anyhow::Error::from)
                };
                site.with_context(|| format!("site file {}", path.display()))
            }
            None => Ok(Site::airport(self.gate_pcs, self.devices_per_pc, self.taxis)),
        }
    }
}

#[derive(Debug, clap::Args)]
struct SimArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    /// How long to run, e.g. `10m` (default: until SIGINT/SIGTERM).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Chance per device and heartbeat that a fault starts (0: none).
    #[arg(long, default_value_t = 0.0)]
    chaos: f64,
    /// The server's process id, for its CPU beside the sim's (same machine only).
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct DrillArgs {
    /// The scenario (`--list` names them).
    scenario: Option<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    server: ServerArgs,
    /// Alerts one failure is expected to raise. Anything but 1 is a deliberately broken
    /// expectation, to see the drill fail.
    #[arg(long, default_value_t = 1)]
    expect_alerts: u64,
    /// Devices failing at once in `alert-storm`.
    #[arg(long, default_value_t = 50)]
    storm_devices: usize,
    /// The server's `KWANJE_FLAP_HOLD_DOWN_MS`: how long `flapping` waits for the device to
    /// settle.
    #[arg(long, default_value_t = kwanje::config::DEFAULT_FLAP_HOLD_DOWN_MS)]
    flap_hold_down_ms: u64,
    /// The terminal `taxi-morning` runs at; it must be quiet (no taxi in line or at the curb).
    /// Default: the last terminal the server lists.
    #[arg(long)]
    terminal: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let format = LogFormat::parse(std::env::var("KWANJE_LOG_FORMAT").ok().as_deref()).map_err(anyhow::Error::msg)?;
    let mut logger = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        logger.format(|buf, record| {
            let ts = buf.timestamp_millis().to_string();
            let line = json_line(
                &ts,
                record.level().as_str(),
                record.target(),
                &record.args().to_string(),
            );
            writeln!(buf, "{line}")
        });
    }
    logger.init();
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
            // The plate as the server spells it (trimmed, no inner spaces, upper case): a token for
            // "12가 3456" is the same taxi's, and revoking that taxi's tokens reaches it.
            claims.taxi = taxi
                .map(|raw| kwanje::taxi::core::model::Plate::parse(&raw).map(|p| p.as_str().to_owned()))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--taxi: {e}"))?;
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
        Command::Backup { file, database_url } => {
            let bytes = kwanje::store::backup::backup_url(&database_url, &file)?;
            log::info!("backup written file={} bytes={bytes}", file.display());
            Ok(())
        }
        Command::Import { file, dry_run, api } => {
            let token = api.token()?;
            let summary = actix_web::rt::System::new().block_on(kwanje::provision::remote::import(
                &api.server,
                &token,
                &file,
                dry_run,
            ))?;
            write!(std::io::stdout(), "{summary}")?;
            Ok(())
        }
        Command::Export { file, api } => {
            let token = api.token()?;
            let bytes =
                actix_web::rt::System::new().block_on(kwanje::provision::remote::export(&api.server, &token, &file))?;
            log::info!("site exported file={} bytes={bytes}", file.display());
            Ok(())
        }
        Command::Sim(args) => {
            let options = kwanje::sim::run::Options {
                server: args.server.api.server.clone(),
                token: args.server.token()?,
                site: args.site.site()?,
                transport: args.server.transport()?,
                chaos: args.chaos,
                taxis: true,
                duration: args.duration,
                server_pid: args.server_pid,
                live: true,
            };
            actix_web::rt::System::new().block_on(async move {
                kwanje::sim::run::run(options, kwanje::app::stop_signal()).await?;
                Ok(())
            })
        }
        Command::Drill(args) => drill(*args),
        Command::Demo {
            config,
            dir,
            chaos,
            site,
        } => {
            let options = kwanje::sim::demo::DemoOptions {
                dir,
                chaos,
                site: site.site()?,
            };
            actix_web::rt::System::new().block_on(kwanje::sim::demo::run(*config, options))
        }
    }
}

/// `kwanje drill`: prints the verdict table; fails (exit status 1) when a row failed.
fn drill(args: DrillArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    if args.list {
        write!(out, "{}", kwanje::sim::drill::list())?;
        return Ok(());
    }
    let Some(scenario) = args.scenario else {
        anyhow::bail!("name a scenario, or --list");
    };
    let server = args.server;
    let mut options = kwanje::sim::drill::Options::new(&server.api.server, &server.token()?);
    options.transport = server.transport()?;
    options.expect_alerts = args.expect_alerts;
    options.storm_devices = args.storm_devices;
    options.flap_hold_down = std::time::Duration::from_millis(args.flap_hold_down_ms);
    options.terminal = args.terminal;
    let report = actix_web::rt::System::new().block_on(kwanje::sim::drill::run(&scenario, &options))?;
    write!(out, "{}", report.table())?;
    out.flush()?;
    if !report.passed() {
        anyhow::bail!("drill {scenario} failed");
    }
    Ok(())
}
