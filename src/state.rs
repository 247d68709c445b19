//! What the edges share: the services, the store, the keys and the clock, made once by the
//! wiring ([`crate::app`]) and handed to every HTTP handler and every STOMP transport.
//!
//! It lives outside `http` so the transports reach the services without importing the HTTP
//! edge. Data only: it decides nothing.

use std::sync::Arc;

use actix::Addr;

use crate::alert::AlertService;
use crate::auth::Keys;
use crate::broker::{Broker, Bus};
use crate::command::CommandService;
use crate::config::Config;
use crate::device::Devices;
use crate::http::login_guard;
use crate::ids::IdGen;
use crate::parking::Parking;
use crate::store::Store;
use crate::taxi::Taxis;
use crate::time::Clock;

/// What every handler and session can reach.
#[derive(Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: Arc<Keys>,
    pub devices: Devices,
    pub taxis: Taxis,
    pub alerts: Addr<AlertService>,
    /// Realtime fan-out and presence.
    pub broker: Addr<Broker>,
    /// The one way to publish (in front of the broker).
    pub bus: Arc<dyn Bus>,
    pub commands: Addr<CommandService>,
    pub ids: Arc<IdGen>,
    pub clock: Arc<dyn Clock>,
    /// The login throttle and the bound on password checks (the HTTP login's).
    pub logins: login_guard::Logins,
    /// This node in its cluster; `None` on a single node.
    pub cluster: Option<Arc<crate::cluster::ClusterNode>>,
    /// Where a client's heartbeats and acks go when another node owns its partition (cluster
    /// mode only).
    pub elsewhere: Option<crate::ownership::Elsewhere>,
    /// Connections per client address and STOMP sessions per principal.
    pub limits: crate::limit::Limits,
    /// Parking control: areas, occupancy.
    pub parking: Parking,
    /// Revoked tokens and disabled users.
    pub accounts: crate::accounts::Accounts,
    /// The alert receivers (webhooks) this node routes alert changes to.
    pub receivers: Arc<crate::notify::Receivers>,
    /// STOMP frames in and out and sessions by transport, counted for `/metrics`.
    pub stomp: Arc<crate::stomp::StompTally>,
}
