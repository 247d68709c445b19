//! The taxi side of a simulated site: taxis reach a terminal's holding lot (its entrance camera
//! reports the plate), drivers' apps ping, kiosks ask for taxis for a mix of regions and
//! distances, picked-up trips are completed after a while (short and long), and the taxi comes
//! back to the lot. All over the HTTP API with the tokens field equipment holds.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::json;

use super::api::{encode, Api};
use super::site::{Site, REGIONS};
use super::stats::Stats;

/// How often each waiting driver's app pings (the server suspends after 30 s of silence).
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// How often each terminal's kiosks ask for a taxi.
pub const REQUEST_EVERY: Duration = Duration::from_millis(1_500);
/// Taxis reaching the lots at the start, per second.
pub const ARRIVALS_PER_S: u32 = 20;
/// A trip's length in simulated seconds, per km (scaled down: a 40 km trip takes 20 s).
pub const TRIP_S_PER_KM: f64 = 0.5;

/// A trip on its way back to the lot.
struct Trip {
    plate: String,
    terminal: String,
    request: i64,
    distance_km: f64,
}

/// Runs the taxi traffic until aborted.
pub async fn run(api: Api, site: Site, tokens: HashMap<String, String>, stats: Rc<Stats>) {
    let terminals: Vec<String> = site.terminals.iter().map(|t| t.id.clone()).collect();
    let lot = |t: &str| -> Option<(Api, String)> {
        let client = site.lot_client(t)?;
        Some((
            api.with_token(tokens.get(&client.id)?),
            client.devices.first()?.id.clone(),
        ))
    };
    let lots: HashMap<String, (Api, String)> = terminals.iter().filter_map(|t| Some((t.clone(), lot(t)?))).collect();
    // A kiosk of each terminal asks for taxis (an operator's token where the site has none).
    let kiosks: HashMap<String, Api> = terminals
        .iter()
        .map(|t| {
            let kiosk = site
                .clients()
                .find(|p| p.terminal == t && p.client.id.starts_with("kiosk"))
                .and_then(|p| tokens.get(&p.client.id));
            (t.clone(), kiosk.map_or_else(|| api.clone(), |k| api.with_token(k)))
        })
        .collect();
    let mut drivers: Vec<(String, Api)> = Vec::new();
    for taxi in &site.taxis {
        let path = format!("/api/v1/taxis/{}/token", encode(&taxi.plate));
        match api.post(&path, &json!({"ttl_ms": 24 * 3_600 * 1_000})).await {
            Ok((200, body)) => {
                if let Some(t) = body["access_token"].as_str() {
                    drivers.push((taxi.plate.clone(), api.with_token(t)));
                }
            }
            other => log::warn!("sim taxi token refused plate={} answer={other:?}", taxi.plate),
        }
    }
    let mut rng = rand::rngs::StdRng::from_os_rng();
    // The morning: every taxi reaches a lot, spread over the terminals.
    for (n, (plate, _)) in drivers.iter().enumerate() {
        let terminal = &terminals[n % terminals.len()];
        arrive(&lots, plate, terminal, &stats).await;
        if n as u32 % ARRIVALS_PER_S == ARRIVALS_PER_S - 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let drivers: HashMap<String, Api> = drivers.into_iter().collect();
    let mut pings = tokio::time::interval(PING_EVERY);
    let mut asks = tokio::time::interval(REQUEST_EVERY);
    let mut trips: Vec<(tokio::time::Instant, Trip)> = Vec::new();
    let mut done = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = pings.tick() => {
                for (plate, driver) in &drivers {
                    let _ = driver.post(&format!("/api/v1/taxis/{}/heartbeat", encode(plate)), &json!({})).await;
                }
            }
            _ = asks.tick() => {
                for terminal in &terminals {
                    let region = REGIONS[rng.random_range(0..REGIONS.len())];
                    // Two in five are short trips (under 10 km), the rest long.
                    let distance_km: f64 = if rng.random_bool(0.4) { rng.random_range(2.0..10.0) } else { rng.random_range(10.0..70.0) };
                    let kiosk = &kiosks[terminal];
                    stats.requests.inc();
                    let body = json!({"terminal": terminal, "destination_region": region, "distance_km": (distance_km * 10.0).round() / 10.0});
                    let Ok((201, answer)) = kiosk.post("/api/v1/dispatch/requests", &body).await else { continue };
                    let (Some(request), Some(plate)) = (answer["id"].as_i64(), answer["plate"].as_str()) else { continue };
                    stats.assigned.inc();
                    if !matches!(kiosk.post(&format!("/api/v1/dispatch/{request}/pickup"), &json!({})).await, Ok((200, _))) {
                        continue;
                    }
                    let back = tokio::time::Instant::now() + Duration::from_secs_f64(distance_km * TRIP_S_PER_KM);
                    trips.push((back, Trip { plate: plate.to_owned(), terminal: terminal.clone(), request, distance_km }));
                }
            }
            _ = done.tick() => {
                let now = tokio::time::Instant::now();
                let (over, going): (Vec<_>, Vec<_>) = trips.drain(..).partition(|(at, _)| *at <= now);
                trips = going;
                for (_, trip) in over {
                    let body = json!({"distance_km": (trip.distance_km * 10.0).round() / 10.0});
                    let driver = drivers.get(&trip.plate).unwrap_or(&api);
                    if let Ok((200, _)) = driver.post(&format!("/api/v1/dispatch/{}/complete", trip.request), &body).await {
                        stats.trips.inc();
                    }
                    arrive(&lots, &trip.plate, &trip.terminal, &stats).await;
                }
            }
        }
    }
}

/// The lot camera of `terminal` reads `plate`.
async fn arrive(lots: &HashMap<String, (Api, String)>, plate: &str, terminal: &str, stats: &Stats) {
    let Some((camera, camera_id)) = lots.get(terminal) else {
        return;
    };
    let body = json!({"plate": plate, "terminal": terminal, "camera_id": camera_id});
    match camera.post("/api/v1/taxis/arrivals", &body).await {
        Ok((200 | 201, _)) => stats.arrivals.inc(),
        other => log::debug!("sim taxi arrival refused plate={plate} answer={other:?}"),
    }
}
