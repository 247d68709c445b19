//! Cluster mode's settings, checked once at start. Pure.

use std::time::Duration;

use super::error::ClusterError;
use crate::config::Config;
use crate::ownership::Partitions;

/// What a node in cluster mode needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    pub nats_url: String,
    /// Prefixes every KV bucket and subject.
    pub name: String,
    pub node_id: u16,
    pub partitions: Partitions,
    pub lease: Duration,
    pub renew: Duration,
}

impl ClusterSettings {
    /// `None` without `KWANJE_NATS_URL` (a single node); an error for settings a cluster cannot
    /// run with.
    pub fn from_config(config: &Config) -> Result<Option<ClusterSettings>, ClusterError> {
        let Some(url) = config.nats_url() else {
            return Ok(None);
        };
        let db = config.database_url.trim_start();
        if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(ClusterError::NeedsPostgres);
        }
        let name = config.cluster.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(ClusterError::Setting(format!(
                "KWANJE_CLUSTER must be letters, digits, '-' or '_', got {:?}",
                config.cluster
            )));
        }
        if config.lease_renew_ms == 0 || config.lease_renew_ms.saturating_mul(2) > config.lease_ms {
            return Err(ClusterError::Setting(format!(
                "KWANJE_LEASE_RENEW_MS ({}) must be above 0 and at most half of KWANJE_LEASE_MS ({})",
                config.lease_renew_ms, config.lease_ms
            )));
        }
        Ok(Some(ClusterSettings {
            nats_url: url.to_owned(),
            name: name.to_owned(),
            node_id: config.node_id,
            partitions: Partitions::new(config.partitions).unwrap_or_default(),
            lease: Duration::from_millis(config.lease_ms),
            renew: Duration::from_millis(config.lease_renew_ms),
        }))
    }

    /// The subject every node publishes its topic and user messages on.
    pub fn bus_subject(&self) -> String {
        format!("{}.bus", self.name)
    }

    /// The subject a node announces each device registered, edited or decommissioned there on.
    pub fn registered_subject(&self) -> String {
        format!("{}.devices.registered", self.name)
    }

    /// The KV bucket of partition leases.
    pub fn lease_bucket(&self) -> String {
        format!("{}-leases", self.name)
    }

    /// The KV bucket of node registrations.
    pub fn node_bucket(&self) -> String {
        format!("{}-nodes", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(db: &str, nats: Option<&str>) -> Config {
        Config {
            nats_url: nats.map(str::to_owned),
            ..Config::with_database(db)
        }
    }

    #[test]
    fn without_a_nats_url_there_is_no_cluster() {
        assert_eq!(ClusterSettings::from_config(&cfg("sqlite://x.db", None)).unwrap(), None);
        assert_eq!(
            ClusterSettings::from_config(&cfg("sqlite://x.db", Some("  "))).unwrap(),
            None
        );
    }

    #[test]
    fn cluster_mode_on_sqlite_is_refused_naming_both_settings() {
        let err = ClusterSettings::from_config(&cfg("sqlite://x.db", Some("nats://127.0.0.1:4222"))).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("KWANJE_NATS_URL") && text.contains("DATABASE_URL"),
            "{text}"
        );
    }

    #[test]
    fn a_renewal_period_over_half_the_lease_is_refused() {
        let mut c = cfg("postgres://db/x", Some("nats://n"));
        c.lease_renew_ms = 2_000;
        assert!(matches!(
            ClusterSettings::from_config(&c),
            Err(ClusterError::Setting(_))
        ));
        c.lease_renew_ms = 1_000;
        let s = ClusterSettings::from_config(&c).unwrap().unwrap();
        assert_eq!(
            (s.lease_bucket(), s.node_bucket()),
            ("kwanje-leases".into(), "kwanje-nodes".into())
        );
    }

    #[test]
    fn a_cluster_name_unfit_for_a_bucket_is_refused() {
        let mut c = cfg("postgres://db/x", Some("nats://n"));
        c.cluster = "a.b".into();
        assert!(matches!(
            ClusterSettings::from_config(&c),
            Err(ClusterError::Setting(_))
        ));
    }
}
