//! HTTP requests for `/metrics`: counted by route (the path pattern, `/api/v1/devices/{id}`,
//! never the raw path, so ids do not multiply the series), method and status, with the time to
//! the response head as a histogram by route and method. Every request passes through
//! [`record`], refusals by the guards in front of the routes included (route `unmatched` when no
//! route took it).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A request's labels, made once per request: the route pattern is the only allocation (actix
/// makes it), the method of the usual five is static, the status a number.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: Cow<'static, str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    route: String,
    method: Cow<'static, str>,
}

type Histograms = Family<DurationLabels, Histogram, fn() -> Histogram>;

/// 0.5 ms doubling to about 16 s.
fn histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The method as a label value, without an allocation for the usual ones.
fn method_label(method: &str) -> Cow<'static, str> {
    match method {
        "GET" => Cow::Borrowed("GET"),
        "POST" => Cow::Borrowed("POST"),
        "PUT" => Cow::Borrowed("PUT"),
        "PATCH" => Cow::Borrowed("PATCH"),
        "DELETE" => Cow::Borrowed("DELETE"),
        other => Cow::Owned(other.to_owned()),
    }
}

/// The counters and histograms, shared by every worker (app data; cloning shares them).
#[derive(Clone, Debug)]
pub struct RequestMetrics {
    requests: Family<RequestLabels, Counter>,
    seconds: Histograms,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        RequestMetrics {
            requests: Family::default(),
            seconds: Family::new_with_constructor(histogram as fn() -> Histogram),
        }
    }
}

impl RequestMetrics {
    /// One answered request.
    pub fn observe(&self, route: String, method: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            route,
            method: method_label(method),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        let RequestLabels { route, method, .. } = labels;
        self.seconds
            .get_or_create(&DurationLabels { route, method })
            .observe(took.as_secs_f64());
    }

    /// Adds them to a scrape's registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            self.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response head, by route pattern and method",
            self.seconds.clone(),
        );
    }
}

/// The middleware: times the request and counts its answer.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<RequestMetrics>>().cloned();
    let method = req.method().clone();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        metrics.observe(route, method.as_str(), res.status().as_u16(), started.elapsed());
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn requests_are_counted_by_pattern_method_and_status_and_timed() {
        let m = RequestMetrics::default();
        m.observe("/api/v1/devices/{id}".into(), "GET", 200, Duration::from_millis(3));
        m.observe("/api/v1/devices/{id}".into(), "GET", 200, Duration::from_millis(1));
        m.observe("/api/v1/devices/{id}".into(), "GET", 404, Duration::from_millis(1));
        let mut registry = Registry::with_prefix("kwanje");
        m.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"kwanje_http_requests_total{route="/api/v1/devices/{id}",method="GET",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"status="404"} 1"#), "{text}");
        assert!(
            text.contains(r#"kwanje_http_request_duration_seconds_count{route="/api/v1/devices/{id}",method="GET"} 3"#),
            "{text}"
        );
    }
}
