//! The taxi dispatch part of `GET /metrics`: per terminal whose dispatcher runs on this node,
//! what it assigned and how long taxis waited (by service region and class), and what stands in
//! its lines now.
//!
//! Read at scrape time from the dispatchers (`ReadStats`, `ReadQueues`), like the rest of the
//! scrape. A terminal whose dispatcher is restarting, quarantined or run by another node is left
//! out of this node's scrape (the node that runs it reports it).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::AppState;

type Labels = Vec<(String, String)>;
type Seconds = Counter<f64, std::sync::atomic::AtomicU64>;
type SecondsGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Registers the dispatch families on `registry`.
pub async fn register(registry: &mut Registry, state: &AppState) {
    let served: Family<Labels, Counter> = Family::default();
    let wait: Family<Labels, Seconds> = Family::default();
    let wait_p50: Family<Labels, SecondsGauge> = Family::default();
    let wait_max: Family<Labels, SecondsGauge> = Family::default();
    let no_shows: Family<Labels, Counter> = Family::default();
    let refusals: Family<Labels, Counter> = Family::default();
    let holds: Family<Labels, Counter> = Family::default();
    let priority_refusals: Family<Labels, Counter> = Family::default();
    let waiting: Family<Labels, Gauge> = Family::default();
    let at_curb: Family<Labels, Gauge> = Family::default();
    let held: Family<Labels, Gauge> = Family::default();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let terminals = state.taxis.terminals(None).unwrap_or_default();
    for terminal in &terminals {
        let t = terminal.as_str();
        if let Ok(stats) = state.taxis.stats(terminal).await {
            for row in &stats.items {
                let key = labels(&[
                    ("terminal", t),
                    ("region", row.region.as_str()),
                    ("class", row.class.as_str()),
                ]);
                served.get_or_create(&key).inc_by(row.served);
                wait.get_or_create(&key).inc_by(row.wait_total_ms as f64 / 1e3);
                if let Some(ms) = row.wait_p50_ms {
                    wait_p50.get_or_create(&key).set(ms as f64 / 1e3);
                }
                if let Some(ms) = row.wait_max_ms {
                    wait_max.get_or_create(&key).set(ms as f64 / 1e3);
                }
                no_shows.get_or_create(&key).inc_by(row.no_shows);
                refusals.get_or_create(&key).inc_by(row.refusals);
                holds.get_or_create(&key).inc_by(row.holds);
                priority_refusals.get_or_create(&key).inc_by(row.priority_refusals);
            }
        }
        if let Ok(queues) = state.taxis.queues(terminal).await {
            for line in &queues.lines {
                let key = labels(&[("terminal", t), ("line", &line.line.to_string())]);
                waiting.get_or_create(&key).set(count(line.waiting.len()));
                at_curb.get_or_create(&key).set(count(line.curb.len()));
            }
            held.get_or_create(&labels(&[("terminal", t)]))
                .set(count(queues.held.len()));
        }
    }
    registry.register(
        "dispatch_served",
        "Taxis that picked up their passenger, by terminal, service region and class",
        served,
    );
    registry.register(
        "dispatch_wait_seconds",
        "Waits of the served taxis (ticket to call) added up, in seconds; divide by kwanje_dispatch_served_total for the mean",
        wait,
    );
    registry.register(
        "dispatch_wait_p50_seconds",
        "Median wait of the last 10,000 served taxis, in seconds",
        wait_p50,
    );
    registry.register(
        "dispatch_wait_max_seconds",
        "Longest wait of a served taxi, in seconds",
        wait_max,
    );
    registry.register(
        "dispatch_no_shows",
        "Taxis called to the curb whose passenger never came",
        no_shows,
    );
    registry.register(
        "dispatch_refusals",
        "Passenger requests nothing could serve, by the request's region",
        refusals,
    );
    registry.register("dispatch_holds", "Plates held at a lot entrance for an operator", holds);
    registry.register(
        "dispatch_priority_refusals",
        "Short-trip priorities refused as implausible",
        priority_refusals,
    );
    registry.register(
        "dispatch_waiting",
        "Taxis waiting in a lot now, by terminal and line",
        waiting,
    );
    registry.register(
        "dispatch_at_curb",
        "Taxis called forward or assigned now, by terminal and line",
        at_curb,
    );
    registry.register(
        "dispatch_held",
        "Plates held at the lot entrance now, by terminal",
        held,
    );
}
