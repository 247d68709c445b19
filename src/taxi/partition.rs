//! A partition gained or lost (cluster mode): the terminals that fall in it (and the taxis
//! queued at them; a taxi at no terminal by its plate) start or stop. Which key places a taxi
//! is [`TaxiCard::partition_key`](super::core::card::TaxiCard::partition_key) (pure), the same
//! the supervisor's owner check uses.

use super::messages::Stop;
use super::service::Taxis;
use crate::ownership::{Partition, Partitions};
use crate::supervision::StartChild;

impl Taxis {
    /// This node now owns `partition`: its terminals' dispatchers and its taxis start.
    pub fn partition_gained(&self, partitions: Partitions, partition: Partition) -> usize {
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
