//! `kwanje demo`: a living airport in one command. The server on a fresh embedded SQLite
//! database (in a temporary directory, removed at the end, or a named one, kept), the default
//! site simulated against it with light chaos, and the address and a login printed. SIGINT or
//! SIGTERM stops the simulation (each gate PC disconnects), then the server, gracefully.

use crate::app::stop_signal;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use super::api::Api;
use super::link::Transport;
use super::run::{self, Options};
use super::site::Site;
use super::summary::Summary;
use crate::config::Config;

/// Chaos of the demo: a fault or two a second on the default site.
pub const DEMO_CHAOS: f64 = 0.003;
/// How often the demo prints its summary line.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Keep the database here; a temporary directory (removed at the end) when `None`.
    pub dir: Option<PathBuf>,
    pub chaos: f64,
    pub site: Site,
}

/// A password for `admin` when none is configured: 16 random characters.
fn generated_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 16)
}

pub async fn run(mut config: Config, options: DemoOptions) -> anyhow::Result<()> {
    let (dir, temporary) = match &options.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!(
                "kwanje-demo-{}-{:06x}",
                std::process::id(),
                rand::random::<u32>() & 0xff_ffff
            )),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join("kwanje.db");
    config.database_url = format!("sqlite://{}", db.display());
    let password = config.admin_password.clone().unwrap_or_else(generated_password);
    config.admin_password = Some(password.clone());
    // The simulated taxis drive half a second per kilometre: no speed limit would hold them.
    config.taxi_max_speed_kmh = 0.0;
    let result = serve_and_simulate(config, &options, &password).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn serve_and_simulate(config: Config, options: &DemoOptions, password: &str) -> anyhow::Result<()> {
    let server = crate::app::start(config, false).await.context("starting the server")?;
    let base = format!("http://{}", server.addr);
    let handle = server.handle();
    let waiting = actix_web::rt::spawn(server.wait());
    let login = Api::new(&base, "")
        .post(
            "/api/v1/auth/token",
            &json!({"username": "admin", "password": password}),
        )
        .await?;
    let token = match login {
        (200, body) => body["access_token"].as_str().unwrap_or_default().to_owned(),
        (status, body) => anyhow::bail!("the demo's own login failed: {status} {body}"),
    };
    let mut out = std::io::stdout();
    writeln!(out, "kwanje demo serving {base}")?;
    writeln!(
        out,
        "  API {base}/api/v1 (OpenAPI at {base}/api/v1/openapi.json) · STOMP ws://{}/ws · SockJS {base}/sockjs",
        base.trim_start_matches("http://")
    )?;
    writeln!(out, "  login username=admin password={password}")?;
    writeln!(
        out,
        "  e.g. curl -s -X POST {base}/api/v1/auth/token -H 'content-type: application/json' -d '{{\"username\":\"admin\",\"password\":\"{password}\"}}'"
    )?;
    out.flush()?;
    let sim_options = Options {
        server: base.clone(),
        token: token.clone(),
        site: options.site.clone(),
        transport: Transport::Ws,
        chaos: options.chaos,
        taxis: true,
        duration: None,
        server_pid: None,
        live: false,
    };
    let sim = run::start(&sim_options).await?;
    writeln!(
        out,
        "  simulating {} gate PCs and kiosks, {} devices, {} taxis, chaos {} (Ctrl-C stops)",
        options.site.clients().count(),
        options.site.device_count(),
        options.site.taxis.len(),
        options.chaos
    )?;
    out.flush()?;
    let mut summary = Summary::new(Api::new(&base, &token), Some(std::process::id()), None, false);
    let mut every = tokio::time::interval(SUMMARY_EVERY);
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = every.tick() => {
                let reading = summary.read(&sim.stats).await;
                summary.show(&reading);
            }
            _ = &mut stop => break,
        }
    }
    sim.stop().await;
    handle.stop(true).await;
    waiting
        .await
        .context("the server's task")?
        .context("the server failed")?;
    writeln!(out, "kwanje demo stopped")?;
    Ok(())
}
