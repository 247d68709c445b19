//! A partition gained or lost (cluster mode): the devices whose gate PC or kiosk falls in it
//! start (restored from the store, each with one fresh deadline window from now) or stop.
//! Which devices belong to a partition is [`members`], pure; the rest is wiring.

use std::sync::Arc;

use super::messages::Stop;
use super::model::DeviceState;
use super::registry::Device;
use super::service::{device_from_row, Devices};
use crate::ownership::{Partition, Partitions};
use crate::store::models::devices;
use crate::supervision::StartChild;

/// The devices of `partition` among `all`: those whose client falls in it.
pub fn members<'a>(
    partitions: Partitions,
    partition: Partition,
    all: impl IntoIterator<Item = &'a Arc<Device>>,
) -> Vec<&'a Arc<Device>> {
    all.into_iter()
        .filter(|d| partitions.of(d.entry.spec().client_id.as_str()) == partition)
        .collect()
}

impl Devices {
    /// This node now owns `partition`: its devices are read from the store again (those
    /// registered elsewhere since it started join the registry, those it knew are restored as
    /// their last owner left them), and every device of the partition that is not quarantined and not running
    /// starts. Answers how many were asked to start.
    pub async fn partition_gained(&self, partitions: Partitions, partition: Partition) -> usize {
        let store = self.store().clone();
        match tokio::task::spawn_blocking(move || store.read_blocking(devices::all)).await {
            Ok(Ok(rows)) => {
                // As stored now: registered elsewhere since this node started, or changed by
                // the partition's last owner since this node last read it.
                for row in rows.iter().filter(|r| partitions.of(&r.client_id) == partition) {
                    if let Some(device) = device_from_row(row) {
                        self.registry().refresh(Arc::new(device));
                    }
                }
                // Decommissioned meanwhile (an announcement this node missed): gone here too.
                let in_service: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
                for device in members(partitions, partition, &self.registry().all()) {
                    let id = device.spec().id.to_string();
                    if !in_service.contains(id.as_str()) && device.slot.addr().is_none() {
                        self.registry().remove(&id);
                        log::info!("device dropped, no longer in service id={id}");
                    }
                }
            }
            Ok(Err(e)) => log::warn!("partition gained: devices unread partition={partition} error={e}"),
            Err(e) => log::warn!("partition gained: devices unread partition={partition} error={e}"),
        }
        let all = self.registry().all();
        let mut started = 0;
        for device in members(partitions, partition, &all) {
            if device.state() != DeviceState::Quarantined && device.slot.addr().is_none() {
                self.supervisor().do_send(StartChild {
                    id: device.spec().id.clone(),
                    reset: false,
                });
                started += 1;
            }
        }
        log::info!("partition gained partition={partition} devices_started={started}");
        started
    }

    /// This node no longer owns `partition`: its running devices stop (their new owner runs
    /// them). Answers how many were asked to stop.
    pub fn partition_lost(&self, partitions: Partitions, partition: Partition) -> usize {
        let all = self.registry().all();
        let mut stopped = 0;
        for device in members(partitions, partition, &all) {
            if let Some(addr) = device.slot.addr() {
                addr.do_send(Stop);
                stopped += 1;
            }
        }
        log::info!("partition lost partition={partition} devices_stopped={stopped}");
        stopped
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::device::entry::{DeviceEntry, Snapshot};
    use crate::device::model::{DeviceKind, DeviceSpec};
    use crate::time::Millis;

    fn device(id: &str, client: &str) -> Arc<Device> {
        let spec = DeviceSpec {
            id: id.parse().unwrap(),
            kind: DeviceKind::LprCamera,
            client_id: client.parse().unwrap(),
            site: None,
            zone: None,
            lane: None,
            standby_id: None,
            heartbeat_interval: Duration::from_secs(5),
            miss_tolerance: 3,
            auto_failover: false,
        };
        let stored = Snapshot {
            state: DeviceState::Unknown,
            since: Millis(0),
            last_seen: None,
        };
        Arc::new(Device::new(DeviceEntry::new(spec, stored, true), 0))
    }

    #[test]
    fn a_gate_pcs_devices_fall_in_its_partition_together() {
        let partitions = Partitions::new(8).unwrap();
        let all: Vec<_> = (0..40)
            .map(|i| device(&format!("cam-{i}"), &format!("gate-{}", i % 10)))
            .collect();
        let mut seen = 0;
        for p in partitions.all() {
            let members = members(partitions, p, &all);
            assert!(members
                .iter()
                .all(|d| partitions.of(d.entry.spec().client_id.as_str()) == p));
            seen += members.len();
        }
        assert_eq!(seen, all.len(), "every device in exactly one partition");
        let p = partitions.of("gate-3");
        let of_gate_3 = members(partitions, p, &all)
            .iter()
            .filter(|d| d.entry.spec().client_id.as_str() == "gate-3")
            .count();
        assert_eq!(of_gate_3, 4);
    }
}
