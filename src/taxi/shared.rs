//! What every taxi and terminal actor shares: one allocation for all of them. Data and
//! addresses of the services below the actors only; never the registry (which holds the actors'
//! own types).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::Addr;

use super::core::model::{RequestId, TerminalId};
use super::core::rules::{DispatchConfig, JointZoneRules};
use super::entry::TaxiCards;
use super::journal::Journal;
use crate::alert::AlertService;
use crate::ids::IdGen;
use crate::ownership::Ownership;
use crate::time::Clock;

#[derive(Debug)]
pub struct TaxiShared {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<IdGen>,
    /// Raises taxi alerts (a taxi actor's crash loop).
    pub alerts: Addr<AlertService>,
    /// Writes dispatch records, snapshots and taxi rows, and tells listeners once stored.
    pub journal: Addr<Journal>,
    pub rules: JointZoneRules,
    pub dispatch: DispatchConfig,
    /// Open request to the terminal that has it: terminals route and close, the service reads.
    pub requests: RequestRoutes,
    /// The taxis' cards, as terminals read them.
    pub cards: Arc<dyn TaxiCards>,
    /// The partitions this node acts for: an escalated child's alert is raised under the
    /// fence of its partition.
    pub ownership: Ownership,
}

/// Open request to the terminal that has it, for the pickup, no-show and complete routes.
#[derive(Debug, Default)]
pub struct RequestRoutes {
    routes: RwLock<HashMap<RequestId, TerminalId>>,
}

impl RequestRoutes {
    pub fn terminal(&self, request: RequestId) -> Option<TerminalId> {
        self.routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&request)
            .cloned()
    }

    pub(super) fn route(&self, request: RequestId, terminal: &TerminalId) {
        self.routes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(request, terminal.clone());
    }

    pub(super) fn close(&self, request: RequestId) {
        self.routes.write().unwrap_or_else(|p| p.into_inner()).remove(&request);
    }
}
