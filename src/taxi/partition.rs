//! A partition gained or lost (cluster mode): the terminals that fall in it (and the taxis
//! queued at them; a taxi at no terminal by its plate) start or stop. Which key places a taxi
//! is [`TaxiCard::partition_key`](super::core::card::TaxiCard::partition_key) (pure), the same
//! the supervisor's owner check uses.

use std::sync::Arc;

use super::boot::{stored_snapshot, taxi_from_row};
use super::messages::Stop;
use super::service::Taxis;
use crate::ownership::{Partition, Partitions};
use crate::store::models::{dispatch, taxis};
use crate::supervision::StartChild;

impl Taxis {
    /// This node now owns `partition`: its terminals and taxis are read from the store again
    /// (each terminal carries on from the snapshot its last owner stored, a taxi registered
    /// elsewhere since this node started joins the registry, one it knew takes its stored
    /// card), then its terminals' dispatchers and its taxis start.
    pub async fn partition_gained(&self, partitions: Partitions, partition: Partition) -> usize {
        self.refresh(partitions, partition).await;
        let mut started = 0;
        for terminal in self.registry().terminals() {
            if partitions.of(terminal.id.as_str()) == partition && terminal.slot.addr().is_none() {
                self.terminal_supervisor().do_send(StartChild {
                    id: terminal.id.clone(),
                    reset: false,
                });
                started += 1;
            }
        }
        for taxi in self.registry().taxis() {
            let card = taxi.entry.card();
            if partitions.of(card.partition_key()) == partition && taxi.slot.addr().is_none() {
                self.taxi_supervisor().do_send(StartChild {
                    id: taxi.plate.clone(),
                    reset: false,
                });
                started += 1;
            }
        }
        log::info!("partition gained partition={partition} taxi_actors_started={started}");
        started
    }

    /// Reads `partition`'s terminals and taxis from the store into the registry (those not
    /// running here). Unreadable, it leaves the registry as it was and says so.
    async fn refresh(&self, partitions: Partitions, partition: Partition) {
        let store = self.store().clone();
        let read =
            tokio::task::spawn_blocking(move || store.read_blocking(|c| Ok((dispatch::terminals(c)?, taxis::all(c)?))))
                .await;
        let (terminals, taxis) = match read {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => return log::warn!("partition gained: taxis unread partition={partition} error={e}"),
            Err(e) => return log::warn!("partition gained: taxis unread partition={partition} error={e}"),
        };
        for terminal in self.registry().terminals() {
            if partitions.of(terminal.id.as_str()) != partition || terminal.slot.addr().is_some() {
                continue;
            }
            let row = terminals.iter().find(|r| r.terminal == terminal.id.as_str());
            if let Some(snapshot) = stored_snapshot(&terminal.id, row) {
                terminal.entry.snapshotted(Arc::new(snapshot));
            }
        }
        for row in &taxis {
            let Some(taxi) = taxi_from_row(row) else { continue };
            let card = taxi.entry.card();
            if partitions.of(card.partition_key()) != partition {
                continue;
            }
            match self.registry().taxi(&card.plate) {
                Some(known) if known.slot.addr().is_none() => known.entry.set_card(card),
                Some(_) => {}
                None => {
                    self.registry().insert_taxi(Arc::new(taxi));
                }
            }
        }
    }

    /// This node no longer owns `partition`: its terminals' dispatchers and its taxis stop.
    pub fn partition_lost(&self, partitions: Partitions, partition: Partition) -> usize {
        let mut stopped = 0;
        for terminal in self.registry().terminals() {
            if partitions.of(terminal.id.as_str()) == partition {
                if let Some(addr) = terminal.slot.addr() {
                    addr.do_send(Stop);
                    stopped += 1;
                }
            }
        }
        for taxi in self.registry().taxis() {
            if partitions.of(taxi.entry.card().partition_key()) == partition {
                if let Some(addr) = taxi.slot.addr() {
                    addr.do_send(Stop);
                    stopped += 1;
                }
            }
        }
        log::info!("partition lost partition={partition} taxi_actors_stopped={stopped}");
        stopped
    }
}
