//! What stands between an unauthenticated caller and a password check: the login throttle
//! (an actor around [`crate::auth::throttle::LoginThrottle`]) and the bound on password checks
//! running at once.
//!
//! A password check (argon2) is the most expensive thing a caller without a token can make the
//! server do. Checks run one at a time by default ([`PasswordChecks::run`], `KWANJE_LOGIN_CONCURRENCY`),
//! so a flood takes at most one core and leaves the rest to heartbeats; a short queue waits for
//! its turn and anything past it is refused at once with 503. A throttled attempt is answered
//! 429 before any check runs. The actor raises the `auth_flood` alert (minor) when refusals
//! pile up and resolves it once they stop.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::error::BlockingError;
use actix_web::web;
use tokio::sync::Semaphore;

use super::error::ApiError;
use crate::alert::messages::Record;
use crate::alert::model::{AlertKind, Intent, Severity, Subject, SubjectType};
use crate::alert::AlertService;
use crate::auth::throttle::{Admission, FloodChange, LoginThrottle, ThrottleSettings, ThrottleStats};
use crate::time::Clock;

/// Checks that may wait for their turn, per check allowed at once, before more are refused.
pub const QUEUED_CHECKS_PER_SLOT: usize = 16;
/// How often quiet records are forgotten and the end of a flood is looked for.
const TICK: Duration = Duration::from_secs(1);
/// The subject of the `auth_flood` alert.
pub const FLOOD_SUBJECT_ID: &str = "login";

/// May this attempt check its password?
#[derive(Debug, Message)]
#[rtype(result = "Admission")]
pub struct AdmitLogin {
    pub addr: IpAddr,
    pub username: String,
}

/// An admitted attempt's password was wrong (or its user unknown).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct LoginFailed {
    pub addr: IpAddr,
    pub username: String,
}

/// An admitted attempt logged in.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct LoginSucceeded {
    pub addr: IpAddr,
    pub username: String,
}

/// The throttle's figures, for `/metrics`.
#[derive(Debug, Message)]
#[rtype(result = "ThrottleStats")]
pub struct GetLoginStats;

/// The throttle's actor.
#[derive(Debug)]
pub struct LoginGuard {
    throttle: LoginThrottle,
    clock: Arc<dyn Clock>,
    alerts: Addr<AlertService>,
}

impl LoginGuard {
    pub fn new(settings: ThrottleSettings, clock: Arc<dyn Clock>, alerts: Addr<AlertService>) -> Self {
        LoginGuard {
            throttle: LoginThrottle::new(settings),
            clock,
            alerts,
        }
    }

    fn carry_out(&self, change: Option<FloodChange>) {
        let subject = Subject {
            kind: SubjectType::Server,
            id: FLOOD_SUBJECT_ID.to_owned(),
        };
        let intent = match change {
            None => return,
            Some(FloodChange::Started { refusals_in_window }) => {
                log::warn!("login flood started refusals_in_window={refusals_in_window}");
                Intent::Raise {
                    subject,
                    kind: AlertKind::AuthFlood,
                    severity: Severity::Minor,
                    detail: Some(format!(
                        "{refusals_in_window} refused or failed logins within 10 s; logins are throttled"
                    )),
                }
            }
            Some(FloodChange::Ended) => {
                log::info!("login flood ended");
                Intent::Resolve {
                    subject,
                    kind: AlertKind::AuthFlood,
                }
            }
        };
        self.alerts.do_send(Record {
            writes: None,
            state: None,
            intents: vec![intent],
            committed: None,
            // A node-wide alert: it belongs to no partition.
            fence: None,
        });
    }
}

impl Actor for LoginGuard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |guard, _| {
            let change = guard.throttle.tick(guard.clock.now());
            guard.carry_out(change);
        });
    }
}

impl Handler<AdmitLogin> for LoginGuard {
    type Result = MessageResult<AdmitLogin>;

    fn handle(&mut self, msg: AdmitLogin, _: &mut Context<Self>) -> Self::Result {
        let (admission, change) = self.throttle.admit(msg.addr, &msg.username, self.clock.now());
        self.carry_out(change);
        MessageResult(admission)
    }
}

impl Handler<LoginFailed> for LoginGuard {
    type Result = ();

    fn handle(&mut self, msg: LoginFailed, _: &mut Context<Self>) {
        let change = self.throttle.failed(msg.addr, &msg.username, self.clock.now());
        self.carry_out(change);
    }
}

impl Handler<LoginSucceeded> for LoginGuard {
    type Result = ();

    fn handle(&mut self, msg: LoginSucceeded, _: &mut Context<Self>) {
        self.throttle.succeeded(msg.addr, &msg.username);
    }
}

impl Handler<GetLoginStats> for LoginGuard {
    type Result = MessageResult<GetLoginStats>;

    fn handle(&mut self, _: GetLoginStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.throttle.stats())
    }
}

/// Why a password check did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRefused {
    /// Every slot busy and the queue full.
    Busy,
}

/// The bound on password checks running at once, with a short queue in front of it.
#[derive(Debug, Clone)]
pub struct PasswordChecks {
    slots: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    /// Checks refused because the queue was full, for `/metrics`.
    busy: Arc<AtomicUsize>,
}

impl PasswordChecks {
    /// `concurrency` checks at once (at least one), and [`QUEUED_CHECKS_PER_SLOT`] waiting per
    /// slot.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        PasswordChecks {
            slots: Arc::new(Semaphore::new(concurrency)),
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued: concurrency * QUEUED_CHECKS_PER_SLOT,
            busy: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs `check` (blocking: argon2) on the blocking pool when a slot is free, after waiting
    /// for one if the queue has room; refuses at once when it has none.
    pub async fn run<T, F>(&self, check: F) -> Result<Result<T, BlockingError>, CheckRefused>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.busy.fetch_add(1, Ordering::Relaxed);
            return Err(CheckRefused::Busy);
        }
        let permit = self.slots.acquire().await;
        self.queued.fetch_sub(1, Ordering::AcqRel);
        // The semaphore is never closed, so this is always a permit.
        let _permit = permit.map_err(|_| CheckRefused::Busy)?;
        Ok(web::block(check).await)
    }

    /// Checks refused because every slot and the queue were taken.
    pub fn refused_busy(&self) -> u64 {
        self.busy.load(Ordering::Relaxed) as u64
    }
}

/// The login path's shared parts: the throttle's address and the password-check slots.
#[derive(Debug, Clone)]
pub struct Logins {
    pub guard: Addr<LoginGuard>,
    pub checks: PasswordChecks,
}

impl Logins {
    /// Admits an attempt at `username`'s password from `req`'s address (a login, a password
    /// change): the address, or 429 with `Retry-After` while the throttle makes it wait.
    pub async fn admit(&self, req: &actix_web::HttpRequest, username: &str) -> Result<IpAddr, ApiError> {
        let addr = req
            .peer_addr()
            .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let admission = self
            .guard
            .send(AdmitLogin {
                addr,
                username: username.to_owned(),
            })
            .await
            .map_err(|e| ApiError::Internal(format!("login guard: {e}")))?;
        match admission {
            Admission::Throttled { retry_after } => {
                log::debug!("login throttled username={:?} addr={addr}", shown(username));
                Err(ApiError::TooManyRequests {
                    detail: format!(
                        "too many login attempts from this address or for this username; retry in {} s",
                        retry_after.as_secs()
                    ),
                    retry_after_secs: retry_after.as_secs(),
                })
            }
            _ => Ok(addr),
        }
    }
}

impl From<CheckRefused> for ApiError {
    fn from(CheckRefused::Busy: CheckRefused) -> Self {
        ApiError::Unavailable("too many logins are being checked at once; retry shortly".into())
    }
}

/// Characters of a username a log line shows (a body may carry up to 64 KiB).
pub const LOGGED_USERNAME_CHARS: usize = 64;

/// `username` as a log line shows it: at most [`LOGGED_USERNAME_CHARS`] characters.
pub fn shown(username: &str) -> String {
    username.chars().take(LOGGED_USERNAME_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_shows_at_most_64_characters_of_a_username() {
        assert_eq!(shown("admin"), "admin");
        let long = "관".repeat(10_000);
        assert_eq!(shown(&long).chars().count(), LOGGED_USERNAME_CHARS);
    }

    /// A flood of checks never runs more than the slots allow, and past the queue's bound it is
    /// refused at once.
    #[actix_web::test]
    async fn checks_run_one_at_a_time_and_past_a_full_queue_are_refused() {
        let checks = PasswordChecks::new(1);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..(QUEUED_CHECKS_PER_SLOT + 8) {
            let (checks, running, most) = (checks.clone(), running.clone(), most.clone());
            tasks.push(actix::spawn(async move {
                checks
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .map(|r| r.is_ok())
            }));
        }
        let (mut ran, mut refused) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(true) => ran += 1,
                Ok(false) => panic!("the blocking pool failed"),
                Err(CheckRefused::Busy) => refused += 1,
            }
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two checks at once");
        // One running and a full queue behind it; the rest refused.
        assert_eq!(ran, QUEUED_CHECKS_PER_SLOT + 1);
        assert_eq!(refused, 7);
        assert_eq!(checks.refused_busy(), 7);
    }
}
