//! The live SockJS sessions (HTTP transports) by session id: the one owner of that map.
//!
//! A request for an unknown session claims the id with a session actor it has prepared but not
//! started; when two requests race for a new id, the first claim wins and the loser drops its
//! actor unstarted. A session leaves the map when it tells of its end ([`SessionEnded`], only
//! for itself: a newer session under the same id stays). WebSocket sessions are not here: the protocol lets several
//! share an id, and each lives exactly as long as its socket.

use std::collections::HashMap;

use actix::prelude::*;

use super::actor::{SessionEnded, SockJsSession};
use super::ids::SessionId;

#[derive(Debug, Default)]
pub struct Registry {
    sessions: HashMap<SessionId, Addr<SockJsSession>>,
}

impl Actor for Registry {
    type Context = Context<Self>;
}

/// The live session with this id.
#[derive(Debug, Message)]
#[rtype(result = "Option<Addr<SockJsSession>>")]
pub struct Find {
    pub id: SessionId,
}

/// Registers `session` under `id` unless a live one is there; answers whichever is.
#[derive(Debug, Message)]
#[rtype(result = "Addr<SockJsSession>")]
pub struct Claim {
    pub id: SessionId,
    pub session: Addr<SockJsSession>,
}

impl Handler<Find> for Registry {
    type Result = Option<Addr<SockJsSession>>;

    fn handle(&mut self, msg: Find, _: &mut Self::Context) -> Self::Result {
        self.sessions.get(&msg.id).filter(|s| s.connected()).cloned()
    }
}

impl Handler<Claim> for Registry {
    type Result = MessageResult<Claim>;

    fn handle(&mut self, msg: Claim, _: &mut Self::Context) -> Self::Result {
        if let Some(live) = self.sessions.get(&msg.id).filter(|s| s.connected()) {
            return MessageResult(live.clone());
        }
        self.sessions.insert(msg.id, msg.session.clone());
        MessageResult(msg.session)
    }
}

impl Handler<SessionEnded> for Registry {
    type Result = ();

    fn handle(&mut self, msg: SessionEnded, _: &mut Self::Context) {
        if self.sessions.get(&msg.id) == Some(&msg.session) {
            self.sessions.remove(&msg.id);
        }
    }
}
