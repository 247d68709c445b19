//! A taxi's registration corrected, and a taxi taken out of service, both off the lots only:
//! a taxi's place in a line was given by its licence region and class, and leaving it there
//! while its registration changes under it (or its actor is gone) would be unfair or a ghost.

use super::core::model::{Plate, Region, TaxiClass};
use super::error::TaxiError;
use super::messages::{Amend, Stop};
use super::service::Taxis;
use crate::store::models::{audit, revocations, taxis};
use crate::supervision::StartChild;
use diesel::Connection;

impl Taxis {
    /// Corrects taxi `plate`'s licence region and class on behalf of `by` (its actor changes its
    /// card, which is stored as any change of it). Answers the fields changed. Audited.
    pub async fn amend(
        &self,
        plate: &Plate,
        licence_region: Option<Region>,
        class: Option<TaxiClass>,
        by: &str,
    ) -> Result<Vec<&'static str>, TaxiError> {
        let addr = self.taxi_actor(plate)?;
        let changed = addr
            .send(Amend { licence_region, class })
            .await
            .map_err(|_| TaxiError::restarting(format!("taxi {plate}")))??;
        if !changed.is_empty() {
            let now = self.now();
            let entry = audit::AuditEntry {
                id: self.next_id(now),
                at_ms: now.0,
                principal: by.to_owned(),
                action: "taxi.update".into(),
                target: format!("taxi:{plate}"),
                detail: Some(changed.join(",")),
            };
            self.store().write(move |c| audit::insert(c, &entry)).await?;
            log::info!("taxi edited plate={plate} by={by} changed={}", changed.join(","));
        }
        Ok(changed)
    }

    /// Takes taxi `plate` out of service on behalf of `by`, while it is at no terminal: its
    /// actor is stopped on purpose, its driver tokens are revoked (`why`), its row is kept with
    /// its history and it leaves the registry. Answers when it was decommissioned.
    pub async fn decommission(&self, plate: &Plate, by: &str, why: &str) -> Result<i64, TaxiError> {
        let taxi = self.taxi_entry(plate)?;
        taxi.entry.card().off_the_lots()?;
        if let Some(addr) = taxi.slot.addr() {
            addr.send(Stop)
                .await
                .map_err(|_| TaxiError::restarting(format!("taxi {plate}")))?;
        }
        // A lot reading handled before the stop may have placed it at a terminal after all.
        if let Err(e) = taxi.entry.card().off_the_lots() {
            self.restart_child(plate).await;
            return Err(e.into());
        }
        let now = self.now();
        let subject = crate::auth::Subject::taxi(plate.as_str());
        let entry = audit::AuditEntry {
            id: self.next_id(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: "taxi.decommission".into(),
            target: format!("taxi:{plate}"),
            detail: Some(why.to_owned()),
        };
        let (key, stored_subject, reason) = (plate.to_string(), subject.as_str().to_owned(), why.to_owned());
        let done = self
            .store()
            .write(move |c| {
                c.transaction(|c| {
                    let done = taxis::decommission(c, &key, now.0)?;
                    if done {
                        revocations::revoke(c, &stored_subject, now.0, &reason)?;
                        audit::insert(c, &entry)?;
                    }
                    Ok(done)
                })
            })
            .await;
        match done {
            Ok(true) => {}
            Ok(false) => return Err(TaxiError::NotFound(format!("taxi {plate} is not registered"))),
            Err(e) => {
                // Not stored: it stays in service, and its actor runs again.
                self.restart_child(plate).await;
                return Err(e.into());
            }
        }
        self.registry().remove_taxi(plate);
        log::info!("taxi decommissioned plate={plate} by={by}");
        Ok(now.0)
    }

    async fn restart_child(&self, plate: &Plate) {
        let started = self
            .taxi_supervisor()
            .send(StartChild {
                id: plate.clone(),
                // Its actor was stopped just now: a start that replaces whatever still runs.
                reset: true,
            })
            .await;
        if !matches!(started, Ok(Ok(_))) {
            log::warn!("taxi actor not restarted plate={plate}");
        }
    }
}
