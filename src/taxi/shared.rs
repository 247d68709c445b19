//! What every taxi and terminal actor shares: one allocation for all of them.

use std::sync::Arc;

use actix::Addr;

use super::journal::Journal;
use super::registry::Registry;
use super::rules::{DispatchConfig, JointZoneRules};
use crate::alert::AlertService;
use crate::ids::IdGen;
use crate::time::Clock;

#[derive(Debug)]
pub struct TaxiShared {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<IdGen>,
    /// Raises taxi alerts (a taxi actor's crash loop).
    pub alerts: Addr<AlertService>,
    /// Writes dispatch records, snapshots and taxi rows, and tells listeners once stored.
    pub journal: Addr<Journal>,
    pub registry: Arc<Registry>,
    pub rules: JointZoneRules,
    pub dispatch: DispatchConfig,
}
