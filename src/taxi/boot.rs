//! What the taxi service starts from: the rows read from the store at boot, turned into the
//! registry's entries and the terminals' starting snapshots. Reading blocks; building is pure.

use super::core::card::TaxiCard;
use super::core::dispatch::{Dispatcher, DispatcherSnapshot};
use super::core::model::TerminalId;
use super::core::rules::RuleError;
use super::core::settings::TaxiSettings;
use super::entry::TaxiEntry;
use super::registry::Taxi;
use crate::alert::{AlertKind, Subject, SubjectType};
use crate::store::models::{alerts as stored_alerts, dispatch, taxis};
use crate::store::{Store, StoreError};

/// What the taxi service starts from, read from the store off the arbiter threads.
#[derive(Debug, Default)]
pub struct TaxiBoot {
    pub taxis: Vec<taxis::Taxi>,
    pub terminals: Vec<dispatch::TerminalRow>,
    /// Taxis and terminals with a `crash_loop` alert still open: quarantined before the
    /// process stopped. A quarantine lives in memory, so each starts afresh and its alert is
    /// resolved.
    pub crash_loops: Vec<Subject>,
}

impl TaxiBoot {
    /// Reads the rows. Blocking.
    pub fn read(store: &Store) -> Result<TaxiBoot, StoreError> {
        store.read_blocking(|c| {
            let crash_loops = stored_alerts::unresolved(c)?
                .into_iter()
                .filter(|a| a.kind == AlertKind::CrashLoop.as_str())
                .filter_map(|a| {
                    let kind = a.subject_type.parse::<SubjectType>().ok()?;
                    matches!(kind, SubjectType::Taxi | SubjectType::Terminal)
                        .then_some(Subject { kind, id: a.subject_id })
                })
                .collect();
            Ok(TaxiBoot {
                taxis: taxis::all(c)?,
                terminals: dispatch::terminals(c)?,
                crash_loops,
            })
        })
    }
}

/// A taxi's registry entry from its stored row; `None` when the row no longer reads back.
pub(super) fn taxi_from_row(row: &taxis::Taxi) -> Option<Taxi> {
    let card = TaxiCard::from_stored(
        &row.plate,
        &row.license_region,
        &row.class,
        row.service_region.as_deref(),
        row.blacklisted,
        row.reason.clone(),
        row.terminal.as_deref(),
    )?;
    Some(Taxi::new(
        TaxiEntry::new(card),
        u32::try_from(row.restarts).unwrap_or(0),
    ))
}

/// A terminal's stored snapshot, when there is one and it reads back as this terminal's.
pub(super) fn stored_snapshot(id: &TerminalId, row: Option<&dispatch::TerminalRow>) -> Option<DispatcherSnapshot> {
    row.and_then(|r| r.snapshot.as_deref())
        .and_then(|text| match serde_json::from_str::<DispatcherSnapshot>(text) {
            Ok(s) if s.terminal() == id => Some(s),
            Ok(_) => None,
            Err(e) => {
                log::error!("stored snapshot unreadable terminal={id} error={e}; starting empty");
                None
            }
        })
}

/// A terminal's starting snapshot: the stored one when it reads back, else an empty dispatcher.
pub(super) fn terminal_snapshot(
    id: &TerminalId,
    row: Option<&dispatch::TerminalRow>,
    settings: &TaxiSettings,
) -> Result<DispatcherSnapshot, RuleError> {
    match stored_snapshot(id, row) {
        Some(s) => Ok(s),
        None => Ok(Dispatcher::new(id.clone(), settings.dispatch.clone(), settings.rules.clone())?.snapshot()),
    }
}
