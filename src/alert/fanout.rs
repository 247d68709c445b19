//! The seam to alert receivers besides the live topics (webhooks, `crate::notify`): for each
//! alert change the alert service is about to store, the delivery rows to write in the same
//! transaction, so a receiver that is down is still owed every change after a crash.

use super::model::{Alert, AlertEvent};
use crate::store::models::receivers::Delivery;
use crate::time::Millis;

pub trait Fanout: Send + Sync + 'static {
    /// The deliveries `alert`'s change (`event`, at `now`) is owed, each with an id from `new_id`
    /// (made once, so a retried batch writes the same rows). Their `part` is set by the alert
    /// service from the record's fence.
    fn deliveries(
        &self,
        alert: &Alert,
        event: AlertEvent,
        now: Millis,
        new_id: &mut dyn FnMut() -> i64,
    ) -> Vec<Delivery>;
}
