//! Keeping a node's revocation list in step with the store: read every [`SYNC_EVERY`], and
//! the sessions of what was revoked elsewhere (another node of the cluster) closed here too.

use std::sync::atomic::Ordering;
use std::time::Duration;

use diesel::QueryResult;

use super::Accounts;
use crate::auth::{Revocations, Subject};
use crate::store::models::{revocations, users};
use crate::store::DbConnection;
use crate::time::Millis;

/// How often a node reads the revocations from the store.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// The revocations and the disabled users, as stored. A row in a form this server never writes
/// is skipped (and logged).
pub fn read_list(conn: &mut DbConnection) -> QueryResult<Revocations> {
    let mut list = Revocations::default();
    for row in revocations::all(conn)? {
        match Subject::parse(&row.subject) {
            Some(subject) => {
                list.revoke(subject, Millis(row.before_ms), &row.reason);
            }
            None => log::warn!("accounts skipped revocation subject={:?}", row.subject),
        }
    }
    for username in users::disabled(conn)? {
        list.set_disabled(&username, true);
    }
    Ok(list)
}

/// Reads the store every `every` until the system stops; what changed is taken in, and the
/// sessions of newly revoked subjects and newly disabled users are told. A store that is briefly
/// gone keeps the list as it was (each failed read is logged).
pub async fn run(accounts: Accounts, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let changes_before = accounts.local_changes.load(Ordering::Acquire);
        let fresh = match accounts.read().await {
            Ok(fresh) => fresh,
            Err(e) => {
                log::warn!("accounts sync failed error={e}");
                continue;
            }
        };
        if accounts.local_changes.load(Ordering::Acquire) != changes_before {
            // This node changed the list while the store was read: the read may not hold the
            // change. The next read will.
            continue;
        }
        let closing = accounts.revocations.update(|known| known.replace(fresh));
        for (subject, before, why) in closing {
            let user = subject.as_str().split_once(':').map_or("", |(_, name)| name).to_owned();
            accounts.close_sessions(subject, &user, before, why);
        }
    }
}
