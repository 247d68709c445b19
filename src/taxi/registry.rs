//! Who is running: plate to [`Taxi`], terminal to [`Terminal`]. Readable from any thread
//! without asking an actor.
//!
//! Each is its actor's entry (data, [`super::entry`]) beside the slot its supervisor keeps the
//! actor in, so one lookup finds both. The service and the supervisors' factories hold the
//! registry; the actors do not (a taxi actor holds only the [`Terminals`] it sends to, a
//! terminal actor the [`TaxiCards`] view of it).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::actor::TaxiActor;
use super::core::card::TaxiCard;
use super::core::model::{Plate, TerminalId};
use super::entry::{TaxiCards, TaxiEntry};
use super::terminal::{Terminal, Terminals};
use crate::supervision::Child;

/// A registered taxi: its entry and its actor's slot.
pub type Taxi = Child<TaxiEntry, TaxiActor>;

#[derive(Debug)]
pub struct Registry {
    taxis: RwLock<BTreeMap<Plate, Arc<Taxi>>>,
    terminals: Arc<Terminals>,
}

impl Registry {
    pub fn new(terminals: impl IntoIterator<Item = Arc<Terminal>>) -> Self {
        Registry {
            taxis: RwLock::new(BTreeMap::new()),
            terminals: Arc::new(terminals.into_iter().map(|t| (t.id.clone(), t)).collect()),
        }
    }

    pub fn taxi(&self, plate: &Plate) -> Option<Arc<Taxi>> {
        self.taxis.read().unwrap_or_else(|p| p.into_inner()).get(plate).cloned()
    }

    /// Adds a taxi; false when the plate is taken.
    pub fn insert_taxi(&self, taxi: Arc<Taxi>) -> bool {
        let mut map = self.taxis.write().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(&taxi.plate) {
            return false;
        }
        map.insert(taxi.plate.clone(), taxi);
        true
    }

    /// Takes taxi `plate` out (decommissioned).
    pub fn remove_taxi(&self, plate: &Plate) -> Option<Arc<Taxi>> {
        self.taxis.write().unwrap_or_else(|p| p.into_inner()).remove(plate)
    }

    pub fn taxis(&self) -> Vec<Arc<Taxi>> {
        self.taxis
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn taxi_count(&self) -> usize {
        self.taxis.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn terminal(&self, id: &TerminalId) -> Option<Arc<Terminal>> {
        self.terminals.get(id).cloned()
    }

    pub fn terminals(&self) -> impl Iterator<Item = &Arc<Terminal>> {
        self.terminals.values()
    }

    /// Every terminal, for the taxi actors that send to them.
    pub fn terminal_map(&self) -> &Arc<Terminals> {
        &self.terminals
    }
}

impl TaxiCards for Registry {
    fn card(&self, plate: &Plate) -> Option<TaxiCard> {
        self.taxi(plate).map(|taxi| taxi.card())
    }
}
