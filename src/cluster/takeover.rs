//! The `node_takeover` alert (pure): partitions this node gained whose lease another node held
//! before, grouped by that node, become one minor alert per previous owner. Its subject is
//! `server`/`node-{from}`, the node whose partitions were taken over; a further takeover from
//! the same node while the alert is open counts it again. An operator resolves it (a takeover
//! is an event, nothing recovers from it).

use std::collections::BTreeMap;

use crate::alert::model::{AlertKind, Intent, Severity, Subject, SubjectType};
use crate::ownership::Partition;

/// The subject id of the alert about node `from`.
pub fn subject_id(from: u16) -> String {
    format!("node-{from}")
}

/// One raise per previous owner among `taken` (`(from_node, partition)`), by node id, its detail
/// naming the new owner and the partitions in order.
pub fn intents(node_id: u16, taken: &[(u16, Partition)]) -> Vec<Intent> {
    let mut by_node: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
    for &(from, Partition(p)) in taken {
        by_node.entry(from).or_default().push(p);
    }
    by_node
        .into_iter()
        .map(|(from, mut ps)| {
            ps.sort_unstable();
            ps.dedup();
            let list = ps.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
            Intent::Raise {
                subject: Subject {
                    kind: SubjectType::Server,
                    id: subject_id(from),
                },
                kind: AlertKind::NodeTakeover,
                severity: Severity::Minor,
                detail: Some(format!("node {node_id} took over partitions {list} from node {from}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(i: &Intent) -> (String, String) {
        match i {
            Intent::Raise {
                subject,
                kind: AlertKind::NodeTakeover,
                severity: Severity::Minor,
                detail: Some(d),
            } if subject.kind == SubjectType::Server => (subject.id.clone(), d.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_minor_alert_per_previous_owner_with_its_partitions_in_order() {
        let taken = [
            (3, Partition(9)),
            (2, Partition(4)),
            (3, Partition(1)),
            (3, Partition(9)),
        ];
        let got: Vec<_> = intents(1, &taken).iter().map(detail).collect();
        assert_eq!(
            got,
            vec![
                (
                    "node-2".to_owned(),
                    "node 1 took over partitions 4 from node 2".to_owned()
                ),
                (
                    "node-3".to_owned(),
                    "node 1 took over partitions 1,9 from node 3".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn no_takeover_no_alert() {
        assert!(intents(1, &[]).is_empty());
    }
}
