//! `kwanje import` and `kwanje export`: a sheet file sent to, or fetched from, a running server's
//! `/api/v1/provision` with an admin's token, so the server's live actors take what is stored.
//! `.csv` files are CSV; anything else is JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

/// How long the server may take over a whole sheet.
pub const TIMEOUT: Duration = Duration::from_secs(300);

fn is_csv(file: &Path) -> bool {
    file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn client() -> awc::Client {
    awc::Client::builder().timeout(TIMEOUT).finish()
}

/// What an answer of `POST /api/v1/provision` says, for a person.
pub fn describe(answer: &Value) -> String {
    let list = |key: &str| -> Vec<String> {
        answer[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| match i.as_str() {
                        Some(id) => id.to_owned(),
                        None => format!(
                            "{} ({})",
                            i["id"].as_str().unwrap_or("?"),
                            i["changed"]
                                .as_array()
                                .map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                                .unwrap_or_default()
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let verb = if answer["dry_run"] == true { "would " } else { "" };
    let mut out = String::new();
    for (what, key) in [
        ("create clients", "clients_created"),
        ("update clients", "clients_updated"),
        ("create devices", "devices_created"),
        ("update devices", "devices_updated"),
        ("create taxis", "taxis_created"),
    ] {
        let items = list(key);
        let _ = writeln!(
            out,
            "{verb}{what}: {}{}",
            items.len(),
            if items.is_empty() {
                String::new()
            } else {
                format!(" ({})", items.join("; "))
            }
        );
    }
    let _ = writeln!(out, "unchanged: {}", answer["unchanged"].as_u64().unwrap_or(0));
    out
}

/// Sends `file` to `server`; answers the summary to print, or fails with every bad row.
pub async fn import(server: &str, token: &str, file: &Path, dry_run: bool) -> anyhow::Result<String> {
    let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let content_type = if is_csv(file) { "text/csv" } else { "application/json" };
    let url = format!(
        "{}/api/v1/provision{}",
        server.trim_end_matches('/'),
        if dry_run { "?dry_run=true" } else { "" }
    );
    let mut resp = client()
        .post(&url)
        .bearer_auth(token)
        .insert_header(("content-type", content_type))
        .send_body(body)
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let bytes = resp
        .body()
        .limit(64 * 1024 * 1024)
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match resp.status().as_u16() {
        200 => Ok(describe(&answer)),
        422 if answer["errors"].is_array() => {
            let mut report = format!("{}\n", answer["detail"].as_str().unwrap_or("the sheet is refused"));
            for e in answer["errors"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    report,
                    "{} {}: {}",
                    e["row"].as_str().unwrap_or("?"),
                    e["id"].as_str().unwrap_or(""),
                    e["error"].as_str().unwrap_or("")
                );
            }
            bail!("{report}")
        }
        status => bail!(
            "{url}: {status} {}",
            answer["detail"]
                .as_str()
                .map_or_else(|| String::from_utf8_lossy(&bytes).into_owned(), str::to_owned)
        ),
    }
}

/// Writes what `server` has registered to `file`; answers how many bytes were written.
pub async fn export(server: &str, token: &str, file: &Path) -> anyhow::Result<usize> {
    let format = if is_csv(file) { "csv" } else { "json" };
    let url = format!("{}/api/v1/provision?format={format}", server.trim_end_matches('/'));
    let mut resp = client()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let bytes = resp
        .body()
        .limit(256 * 1024 * 1024)
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    if resp.status().as_u16() != 200 {
        bail!("{url}: {} {}", resp.status(), String::from_utf8_lossy(&bytes));
    }
    std::fs::write(file, &bytes).with_context(|| format!("writing {}", file.display()))?;
    Ok(bytes.len())
}
