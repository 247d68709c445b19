//! The destination ACL: who may SUBSCRIBE to and SEND to which destination (API.md, STOMP).
//!
//! Owns the destination grammar ([`Destination`]) and the rights by role and scope. Pure: it
//! sees a principal and a destination string, nothing else. Rights that depend on data (a
//! `client` heartbeating only devices it hosts) are checked where that data is, by the
//! transport's application routes; this module only says that a `client` may send to
//! `/app/heartbeat` at all.
//!
//! | destination | SUBSCRIBE | SEND |
//! |---|---|---|
//! | `/topic/devices`, `/topic/devices/{id}`, `/topic/alerts`, `/topic/commands`, `/topic/taxis/{t}/{r}`, `/topic/dispatch`, `/topic/presence` | viewer+ | nobody (server-published) |
//! | `/topic/ops/{channel}` | viewer+ | operator+ |
//! | `/user/queue/commands` | client (its own queue) | nobody |
//! | `/user/queue/dispatch` | driver (its own queue) | nobody |
//! | `/user/queue/parking` | client (its own queue: what its lanes' readings did) | nobody |
//! | `/user/{anyone}/...` | nobody | nobody |
//! | `/app/heartbeat`, `/app/faults`, `/app/commands/ack` | - | client |
//! | `/app/taxi/ping` | - | driver |
//! | `/topic/parking/{site}` | viewer+, and client (a guidance sign or kiosk) | nobody (server-published) |
//! | `/app/occupancy` | - | client (only areas of cameras it hosts: checked by the route) |
//! | `/app/lpr` | - | client (only cameras it hosts: checked by the route) |
//!
//! `admin` may do everything in the table (API.md: "admin (everything)"); a viewer never SENDs.

use thiserror::Error;

use crate::auth::{Principal, Role};
use crate::ids::MAX_KEY_LEN;

/// A destination this server knows, parsed from the STOMP `destination` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    Devices,
    Device(&'a str),
    Alerts,
    Commands,
    Taxis {
        terminal: &'a str,
        region: &'a str,
    },
    Dispatch,
    Presence,
    Ops {
        channel: &'a str,
    },
    /// `/user/queue/commands`: the subscribing principal's own command queue.
    UserCommands,
    /// `/user/queue/dispatch`: the subscribing driver's own dispatch calls.
    UserDispatch,
    /// `/user/queue/parking`: the subscribing client's lane answers (fee due, ticket, release).
    UserParking,
    /// `/user/{name}/...`: another principal's queue named explicitly; never reachable.
    OtherUser,
    AppHeartbeat,
    /// `/app/faults`: a client's fault reports for its devices.
    AppFaults,
    AppCommandAck,
    AppTaxiPing,
    /// `/topic/parking/{site}`: a site's occupancy, for guidance signs and kiosks.
    Parking {
        site: &'a str,
    },
    /// `/app/occupancy`: a guidance camera's client reports counts.
    AppOccupancy,
    /// `/app/lpr`: a lane camera's client reports a plate reading.
    AppLpr,
}

/// An application destination (`/app/...`): where a client's or driver's SEND is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppDestination {
    Heartbeat,
    Faults,
    CommandAck,
    TaxiPing,
    Occupancy,
    Lpr,
}

impl AppDestination {
    pub fn as_str(self) -> &'static str {
        match self {
            AppDestination::Heartbeat => "/app/heartbeat",
            AppDestination::Faults => "/app/faults",
            AppDestination::CommandAck => "/app/commands/ack",
            AppDestination::TaxiPing => "/app/taxi/ping",
            AppDestination::Occupancy => "/app/occupancy",
            AppDestination::Lpr => "/app/lpr",
        }
    }
}

/// What a SEND the ACL let through goes to, classified once where it was checked (so nothing
/// downstream parses the destination again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendTarget {
    /// `/topic/ops/{channel}`: an operators' broadcast through the broker.
    Ops,
    /// An application destination, carried out by the transport's routes.
    App(AppDestination),
}

/// Why an ACL check failed; `Display` goes into the ERROR frame body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AclError {
    #[error("{0:?} is not a destination this server has")]
    UnknownDestination(String),
    #[error("this needs the {needed} role; the token has {has}")]
    Role { needed: &'static str, has: Role },
    #[error("{0} is published by the server only")]
    ServerOnly(String),
    #[error("{0} takes SEND frames only")]
    SendOnly(String),
    #[error("another principal's queue cannot be reached; subscribe to /user/queue/... for your own")]
    OtherPrincipal,
    #[error("a {role} token must carry a {claim:?} claim")]
    MissingClaim { role: Role, claim: &'static str },
}

/// One path segment: the natural-key alphabet of `ids` (1 to 64 of `A-Z a-z 0-9 . _ - :`).
fn segment(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && s.len() <= MAX_KEY_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    ok.then_some(s)
}

/// The most segments a destination of this server has.
const MAX_SEGMENTS: usize = 4;

impl<'a> Destination<'a> {
    /// Parses a destination without allocating (the SEND hot path parses every frame's).
    pub fn parse(text: &'a str) -> Result<Destination<'a>, AclError> {
        let unknown = || AclError::UnknownDestination(text.chars().take(200).collect());
        let mut segments = text.strip_prefix('/').ok_or_else(unknown)?.split('/');
        let mut parts = [""; MAX_SEGMENTS];
        let mut len = 0;
        for (slot, segment) in parts.iter_mut().zip(segments.by_ref()) {
            *slot = segment;
            len += 1;
        }
        let parts = &parts[..len];
        if segments.next().is_some() {
            // Longer than any destination here: only another principal's queue is that long.
            return match parts {
                ["user", name, ..] if *name != "queue" => Ok(Destination::OtherUser),
                _ => Err(unknown()),
            };
        }
        let key = |s: &'a str| segment(s).ok_or_else(unknown);
        Ok(match parts {
            ["topic", "devices"] => Destination::Devices,
            ["topic", "devices", id] => Destination::Device(key(id)?),
            ["topic", "alerts"] => Destination::Alerts,
            ["topic", "commands"] => Destination::Commands,
            ["topic", "taxis", terminal, region] => Destination::Taxis {
                terminal: key(terminal)?,
                region: key(region)?,
            },
            ["topic", "dispatch"] => Destination::Dispatch,
            ["topic", "presence"] => Destination::Presence,
            ["topic", "ops", channel] => Destination::Ops { channel: key(channel)? },
            ["user", "queue", "commands"] => Destination::UserCommands,
            ["user", "queue", "dispatch"] => Destination::UserDispatch,
            ["user", "queue", "parking"] => Destination::UserParking,
            ["user", name, ..] if *name != "queue" => Destination::OtherUser,
            ["app", "heartbeat"] => Destination::AppHeartbeat,
            ["app", "faults"] => Destination::AppFaults,
            ["app", "commands", "ack"] => Destination::AppCommandAck,
            ["app", "taxi", "ping"] => Destination::AppTaxiPing,
            ["topic", "parking", site] => Destination::Parking { site: key(site)? },
            ["app", "occupancy"] => Destination::AppOccupancy,
            ["app", "lpr"] => Destination::AppLpr,
            _ => return Err(unknown()),
        })
    }
}

fn require(who: &Principal, floor: Role, needed: &'static str) -> Result<(), AclError> {
    if who.role.at_least(floor) {
        Ok(())
    } else {
        Err(AclError::Role { needed, has: who.role })
    }
}

/// Checks what a principal must carry to hold a session at all: a `client` token names its
/// gate PC or kiosk, a `driver` token its taxi (their user queues and scopes hang on it).
pub fn check_identity(who: &Principal) -> Result<(), AclError> {
    let missing = |claim| Err(AclError::MissingClaim { role: who.role, claim });
    match who.role {
        Role::Client if who.client.as_deref().is_none_or(str::is_empty) => missing("client"),
        Role::Driver if who.taxi.as_deref().is_none_or(str::is_empty) => missing("taxi"),
        _ => Ok(()),
    }
}

/// The name user destinations resolve to: a client's `client` claim, a driver's `taxi`
/// claim, anyone else's subject.
pub fn user_of(who: &Principal) -> &str {
    let claim = match who.role {
        Role::Client => who.client.as_deref(),
        Role::Driver => who.taxi.as_deref(),
        _ => None,
    };
    claim.unwrap_or(&who.name)
}

/// May `who` SUBSCRIBE to `destination`?
pub fn may_subscribe(who: &Principal, destination: &str) -> Result<(), AclError> {
    match Destination::parse(destination)? {
        Destination::Devices
        | Destination::Device(_)
        | Destination::Alerts
        | Destination::Commands
        | Destination::Taxis { .. }
        | Destination::Dispatch
        | Destination::Presence
        | Destination::Ops { .. } => require(who, Role::Viewer, "viewer"),
        Destination::UserCommands | Destination::UserParking => require(who, Role::Client, "client"),
        Destination::UserDispatch => require(who, Role::Driver, "driver"),
        // Guidance signs and kiosks are clients: they show occupancy.
        Destination::Parking { .. } if who.role == Role::Client => Ok(()),
        Destination::Parking { .. } => require(who, Role::Viewer, "viewer or client"),
        Destination::OtherUser => Err(AclError::OtherPrincipal),
        Destination::AppHeartbeat
        | Destination::AppFaults
        | Destination::AppCommandAck
        | Destination::AppTaxiPing
        | Destination::AppOccupancy
        | Destination::AppLpr => Err(AclError::SendOnly(destination.to_owned())),
    }
}

/// May `who` SEND to `destination`? If so, where it goes.
pub fn may_send(who: &Principal, destination: &str) -> Result<SendTarget, AclError> {
    let app = |floor, needed, app| require(who, floor, needed).map(|()| SendTarget::App(app));
    match Destination::parse(destination)? {
        Destination::Ops { .. } => require(who, Role::Operator, "operator").map(|()| SendTarget::Ops),
        Destination::AppHeartbeat => app(Role::Client, "client", AppDestination::Heartbeat),
        Destination::AppFaults => app(Role::Client, "client", AppDestination::Faults),
        Destination::AppCommandAck => app(Role::Client, "client", AppDestination::CommandAck),
        Destination::AppTaxiPing => app(Role::Driver, "driver", AppDestination::TaxiPing),
        Destination::AppOccupancy => app(Role::Client, "client", AppDestination::Occupancy),
        Destination::AppLpr => app(Role::Client, "client", AppDestination::Lpr),
        Destination::OtherUser => Err(AclError::OtherPrincipal),
        Destination::Devices
        | Destination::Device(_)
        | Destination::Alerts
        | Destination::Commands
        | Destination::Taxis { .. }
        | Destination::Dispatch
        | Destination::Presence
        | Destination::UserCommands
        | Destination::UserDispatch
        | Destination::UserParking
        | Destination::Parking { .. } => Err(AclError::ServerOnly(destination.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role) -> Principal {
        Principal {
            name: format!("{role}-1"),
            role,
            client: (role == Role::Client).then(|| "gate-1".to_owned()),
            taxi: (role == Role::Driver).then(|| "12가3456".to_owned()),
            expires_ms: 0,
            issued_ms: 0,
        }
    }

    const TOPICS: [&str; 8] = [
        "/topic/devices",
        "/topic/devices/cam-1",
        "/topic/alerts",
        "/topic/commands",
        "/topic/taxis/T1/seoul",
        "/topic/dispatch",
        "/topic/presence",
        "/topic/ops/handover",
    ];

    #[test]
    fn viewers_and_above_subscribe_to_topics_clients_and_drivers_do_not() {
        for topic in TOPICS {
            for role in [Role::Admin, Role::Operator, Role::Viewer] {
                assert_eq!(may_subscribe(&who(role), topic), Ok(()), "{role} {topic}");
            }
            for role in [Role::Client, Role::Driver] {
                assert!(matches!(may_subscribe(&who(role), topic), Err(AclError::Role { .. })));
            }
        }
    }

    #[test]
    fn nobody_sends_to_server_topics_and_only_operators_to_ops() {
        for topic in &TOPICS[..7] {
            for role in [Role::Admin, Role::Operator, Role::Viewer, Role::Client, Role::Driver] {
                assert!(matches!(may_send(&who(role), topic), Err(AclError::ServerOnly(_))));
            }
        }
        assert_eq!(
            may_send(&who(Role::Operator), "/topic/ops/handover"),
            Ok(SendTarget::Ops)
        );
        assert_eq!(may_send(&who(Role::Admin), "/topic/ops/handover"), Ok(SendTarget::Ops));
        for role in [Role::Viewer, Role::Client, Role::Driver] {
            assert!(matches!(
                may_send(&who(role), "/topic/ops/handover"),
                Err(AclError::Role { needed: "operator", .. })
            ));
        }
    }

    #[test]
    fn a_viewer_may_not_send_anywhere() {
        for destination in [
            "/app/heartbeat",
            "/app/commands/ack",
            "/app/taxi/ping",
            "/topic/ops/x",
            "/user/queue/commands",
        ] {
            assert!(may_send(&who(Role::Viewer), destination).is_err(), "{destination}");
        }
    }

    #[test]
    fn application_destinations_go_by_role() {
        let app = |a| Ok(SendTarget::App(a));
        assert_eq!(
            may_send(&who(Role::Client), "/app/heartbeat"),
            app(AppDestination::Heartbeat)
        );
        assert_eq!(may_send(&who(Role::Client), "/app/faults"), app(AppDestination::Faults));
        assert!(may_send(&who(Role::Viewer), "/app/faults").is_err());
        assert!(may_send(&who(Role::Driver), "/app/faults").is_err());
        assert_eq!(
            may_send(&who(Role::Client), "/app/commands/ack"),
            app(AppDestination::CommandAck)
        );
        assert!(may_send(&who(Role::Client), "/app/taxi/ping").is_err());
        assert_eq!(
            may_send(&who(Role::Driver), "/app/taxi/ping"),
            app(AppDestination::TaxiPing)
        );
        for a in [
            AppDestination::Heartbeat,
            AppDestination::Faults,
            AppDestination::CommandAck,
            AppDestination::TaxiPing,
        ] {
            assert!(matches!(Destination::parse(a.as_str()), Ok(d) if format!("{d:?}").starts_with("App")));
        }
        assert!(may_send(&who(Role::Driver), "/app/heartbeat").is_err());
        assert!(may_send(&who(Role::Operator), "/app/heartbeat").is_err());
        assert!(matches!(
            may_subscribe(&who(Role::Client), "/app/heartbeat"),
            Err(AclError::SendOnly(_))
        ));
    }

    #[test]
    fn user_queues_are_ones_own_and_named_queues_are_unreachable() {
        assert_eq!(may_subscribe(&who(Role::Client), "/user/queue/commands"), Ok(()));
        assert_eq!(may_subscribe(&who(Role::Driver), "/user/queue/dispatch"), Ok(()));
        assert!(may_subscribe(&who(Role::Viewer), "/user/queue/commands").is_err());
        assert!(may_subscribe(&who(Role::Client), "/user/queue/dispatch").is_err());
        for role in [Role::Admin, Role::Client, Role::Operator] {
            for destination in ["/user/gate-2/queue/commands", "/user/gate-1/queue/commands"] {
                assert_eq!(may_subscribe(&who(role), destination), Err(AclError::OtherPrincipal));
                assert!(may_send(&who(role), destination).is_err());
            }
        }
        assert!(may_send(&who(Role::Admin), "/user/queue/commands").is_err());
    }

    #[test]
    fn parking_topics_are_for_viewers_and_clients_and_occupancy_is_sent_by_clients() {
        for role in [Role::Admin, Role::Operator, Role::Viewer, Role::Client] {
            assert_eq!(may_subscribe(&who(role), "/topic/parking/T1"), Ok(()), "{role}");
            assert!(matches!(
                may_send(&who(role), "/topic/parking/T1"),
                Err(AclError::ServerOnly(_))
            ));
        }
        assert!(matches!(
            may_subscribe(&who(Role::Driver), "/topic/parking/T1"),
            Err(AclError::Role { .. })
        ));
        assert_eq!(
            may_send(&who(Role::Client), "/app/occupancy"),
            Ok(SendTarget::App(AppDestination::Occupancy))
        );
        for role in [Role::Operator, Role::Viewer, Role::Driver] {
            assert!(may_send(&who(role), "/app/occupancy").is_err(), "{role}");
        }
        assert!(matches!(
            may_subscribe(&who(Role::Client), "/app/occupancy"),
            Err(AclError::SendOnly(_))
        ));
        for bad in [
            "/topic/parking",
            "/topic/parking/T1/x",
            "/topic/parking/has space",
            "/app/occupancy/x",
        ] {
            assert!(
                matches!(Destination::parse(bad), Err(AclError::UnknownDestination(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn lane_readings_are_sent_by_clients_and_answered_on_their_own_queue() {
        assert_eq!(
            may_send(&who(Role::Client), "/app/lpr"),
            Ok(SendTarget::App(AppDestination::Lpr))
        );
        for role in [Role::Operator, Role::Viewer, Role::Driver] {
            assert!(may_send(&who(role), "/app/lpr").is_err(), "{role}");
        }
        assert!(matches!(
            may_subscribe(&who(Role::Client), "/app/lpr"),
            Err(AclError::SendOnly(_))
        ));
        assert_eq!(may_subscribe(&who(Role::Client), "/user/queue/parking"), Ok(()));
        assert!(may_subscribe(&who(Role::Viewer), "/user/queue/parking").is_err());
        assert!(may_send(&who(Role::Client), "/user/queue/parking").is_err());
    }

    #[test]
    fn the_grammar_is_strict() {
        for bad in [
            "",
            "topic/devices",
            "/topic/devices/",
            "/topic/devices/a/b",
            "/topic/devices/has space",
            "/topic/ops",
            "/topic/taxis/T1",
            "/user/queue/other",
            "/queue/x",
            "/app/heartbeat/x",
            "/topic/taxis/T1/seoul/x",
            "/app/commands/ack/x/y",
            "/user/queue/commands/x/y",
        ] {
            assert!(
                matches!(Destination::parse(bad), Err(AclError::UnknownDestination(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            Destination::parse("/user/gate-2/queue/commands/x"),
            Ok(Destination::OtherUser)
        );
        assert_eq!(
            Destination::parse("/topic/taxis/T1/seoul"),
            Ok(Destination::Taxis {
                terminal: "T1",
                region: "seoul"
            })
        );
    }

    #[test]
    fn identity_claims_are_required_and_name_the_user() {
        let mut client = who(Role::Client);
        assert_eq!(check_identity(&client), Ok(()));
        assert_eq!(user_of(&client), "gate-1");
        client.client = None;
        assert!(matches!(
            check_identity(&client),
            Err(AclError::MissingClaim { claim: "client", .. })
        ));
        let mut driver = who(Role::Driver);
        assert_eq!(user_of(&driver), "12가3456");
        driver.taxi = Some(String::new());
        assert!(check_identity(&driver).is_err());
        assert_eq!(user_of(&who(Role::Operator)), "operator-1");
    }
}
