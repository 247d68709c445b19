//! Which device states put a guidance camera out of service (DOMAIN.md's failover table: a
//! down guidance camera makes its bays "unknown").

use crate::device::DeviceState;

/// True when a camera in `state` may be believed: up, or registered and not yet heard from
/// (its areas are unknown until it reports anyway). Down, unreachable (its client is gone),
/// maintenance, flapping and quarantined cameras are out of service.
pub fn in_service(state: DeviceState) -> bool {
    matches!(state, DeviceState::Up | DeviceState::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_up_and_not_yet_heard_cameras_are_in_service() {
        assert!(in_service(DeviceState::Up));
        assert!(in_service(DeviceState::Unknown));
        for state in [
            DeviceState::Down,
            DeviceState::Unreachable,
            DeviceState::Maintenance,
            DeviceState::Flapping,
            DeviceState::Quarantined,
        ] {
            assert!(!in_service(state), "{state:?}");
        }
    }
}
