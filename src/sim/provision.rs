//! Provisioning a site through the API, idempotently: what exists (409) is reused, what is
//! missing is created, and each client gets its token from `POST /api/v1/clients/{id}/token`.
//! A second run on the same server creates nothing.

use std::collections::HashMap;

use anyhow::Context;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use super::api::Api;
use super::site::Site;

/// Registrations in flight at once.
pub const CONCURRENCY: usize = 16;
/// Lifetime asked for each client token (a day: a sim run is shorter).
pub const CLIENT_TOKEN_TTL_MS: u64 = 24 * 3_600 * 1_000;

/// What provisioning did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub created: usize,
    pub reused: usize,
    /// Each client's token, by client id.
    pub tokens: HashMap<String, String>,
}

enum Outcome {
    Created,
    Reused,
}

/// `POST path body`: 201 created, 409 already there; anything else is an error.
async fn ensure(api: &Api, path: &str, body: Value) -> anyhow::Result<Outcome> {
    match api.post(path, &body).await? {
        (200 | 201, _) => Ok(Outcome::Created),
        (409, _) => Ok(Outcome::Reused),
        (status, answer) => anyhow::bail!("POST {path} {body}: {status} {answer}"),
    }
}

/// Registers every client, device and taxi of `site` that is not registered yet, and fetches a
/// token for every client. Standbys are registered before the devices that name them.
pub async fn provision(api: &Api, site: &Site) -> anyhow::Result<Provisioned> {
    let mut done = Provisioned::default();
    let mut count = |o: Outcome| match o {
        Outcome::Created => done.created += 1,
        Outcome::Reused => done.reused += 1,
    };
    let clients: Vec<Value> = site
        .clients()
        .map(|p| json!({"id": p.client.id, "name": p.client.name, "site": p.terminal}))
        .collect();
    for o in run_all(api, "/api/v1/clients", clients).await? {
        count(o);
    }
    let (standbys, others): (Vec<Value>, Vec<Value>) = {
        let standby_ids: std::collections::HashSet<&str> = site
            .clients()
            .flat_map(|p| p.client.devices.iter().filter_map(|d| d.standby_id.as_deref()))
            .collect();
        let mut all = Vec::new();
        for p in site.clients() {
            for d in &p.client.devices {
                let mut body = json!({
                    "id": d.id, "kind": d.kind, "client_id": p.client.id,
                    "site": p.terminal, "zone": p.zone, "auto_failover": d.auto_failover,
                });
                let fields = body.as_object_mut().expect("an object");
                if let Some(lane) = &d.lane {
                    fields.insert("lane".into(), json!(lane));
                }
                if let Some(s) = &d.standby_id {
                    fields.insert("standby_id".into(), json!(s));
                }
                if let Some(ms) = d.heartbeat_interval_ms {
                    fields.insert("heartbeat_interval_ms".into(), json!(ms));
                }
                if let Some(t) = d.miss_tolerance {
                    fields.insert("miss_tolerance".into(), json!(t));
                }
                all.push((standby_ids.contains(d.id.as_str()), body));
            }
        }
        let (s, o): (Vec<_>, Vec<_>) = all.into_iter().partition(|(standby, _)| *standby);
        (
            s.into_iter().map(|x| x.1).collect(),
            o.into_iter().map(|x| x.1).collect(),
        )
    };
    for batch in [standbys, others] {
        for o in run_all(api, "/api/v1/devices", batch).await? {
            count(o);
        }
    }
    let taxis: Vec<Value> = site
        .taxis
        .iter()
        .map(|t| json!({"plate": t.plate, "license_region": t.license_region, "class": t.class}))
        .collect();
    for o in run_all(api, "/api/v1/taxis", taxis).await? {
        count(o);
    }
    let ids: Vec<String> = site.clients().map(|p| p.client.id.clone()).collect();
    let tokens: Vec<(String, String)> = stream::iter(ids)
        .map(|id| async move {
            let token = client_token(api, &id).await?;
            anyhow::Ok((id, token))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    done.tokens = tokens.into_iter().collect();
    log::info!(
        "sim provisioned created={} reused={} clients={}",
        done.created,
        done.reused,
        done.tokens.len()
    );
    Ok(done)
}

async fn run_all(api: &Api, path: &str, bodies: Vec<Value>) -> anyhow::Result<Vec<Outcome>> {
    stream::iter(bodies)
        .map(|body| ensure(api, path, body))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

/// A token for the client `id` (which must be registered).
pub async fn client_token(api: &Api, id: &str) -> anyhow::Result<String> {
    let path = format!("/api/v1/clients/{id}/token");
    match api.post(&path, &json!({"ttl_ms": CLIENT_TOKEN_TTL_MS})).await? {
        (200, body) => body["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("token answer without access_token"),
        (status, body) => anyhow::bail!("POST {path}: {status} {body}"),
    }
}
