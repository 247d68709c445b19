//! `/metrics` read back with a Prometheus text-format parser, so a test asks for one sample by
//! family and labels instead of matching text.
//!
//! prometheus-client writes the OpenMetrics text form (counters `_total`, `# EOF` at the end),
//! which Prometheus reads; the OpenMetrics parser checks it strictly, so a scrape that does not
//! parse whole fails the test.

use openmetrics_parser::{openmetrics::parse_openmetrics, MetricsExposition, OpenMetricsType, OpenMetricsValue};

use super::Server;

pub struct Scrape {
    pub text: String,
    parsed: MetricsExposition<OpenMetricsType, OpenMetricsValue>,
}

impl Scrape {
    /// Scrapes `s` from loopback (no token needed).
    pub async fn of(s: &Server) -> Scrape {
        let mut resp = awc::Client::default().get(s.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let text = String::from_utf8(resp.body().limit(16 << 20).await.unwrap().to_vec()).unwrap();
        let parsed = parse_openmetrics(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        Scrape { text, parsed }
    }

    /// Every sample of `family` whose labels include `labels`.
    pub fn values(&self, family: &str, labels: &[(&str, &str)]) -> Vec<OpenMetricsValue> {
        let Some(f) = self.parsed.families.get(family) else {
            return Vec::new();
        };
        f.iter_samples()
            .filter(|sample| {
                let set = sample.get_labelset().unwrap();
                labels.iter().all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
            .map(|sample| sample.value.clone())
            .collect()
    }

    /// The one counter or gauge sample of `family` with `labels`; `None` if there is not
    /// exactly one.
    pub fn number(&self, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.values(family, labels).as_slice() {
            [OpenMetricsValue::Counter(c)] => Some(c.value.as_f64()),
            [OpenMetricsValue::Gauge(g)] | [OpenMetricsValue::Unknown(g)] => Some(g.as_f64()),
            _ => None,
        }
    }
}
