//! The transport's errors.
//!
//! Error policy: a [`RouteError`] is a client's SEND the server refuses after the STOMP session
//! accepted the frame (a body that does not parse, a device the client does not host). It ends
//! that one session: the socket actor hands it to `Session::abort` as the matching
//! [`ProtocolError`] (ERROR frame with the reason, then close) and logs it. Nothing is applied
//! from a refused frame.

use thiserror::Error;

use crate::device::batch::BatchError;
use crate::stomp::ProtocolError;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    #[error("the body of a SEND to {destination} is not what it takes: {reason}")]
    BadBody { destination: &'static str, reason: String },
    #[error("one frame may carry at most {limit} device heartbeats; this one has {count}")]
    TooManyHeartbeats { count: usize, limit: usize },
    #[error("device {device} is not hosted by client {client}")]
    NotHosted { device: String, client: String },
}

impl RouteError {
    /// The STOMP error this refusal becomes.
    pub fn into_protocol(self, destination: &str) -> ProtocolError {
        let reason = self.to_string();
        match self {
            RouteError::NotHosted { .. } => ProtocolError::SendDenied {
                destination: destination.to_owned(),
                reason,
            },
            RouteError::BadBody { .. } | RouteError::TooManyHeartbeats { .. } => ProtocolError::Rejected {
                destination: destination.to_owned(),
                reason,
            },
        }
    }
}

impl From<BatchError> for RouteError {
    fn from(err: BatchError) -> Self {
        match err {
            BatchError::BadBody { destination, reason } => RouteError::BadBody { destination, reason },
            BatchError::TooManyHeartbeats { count, limit } => RouteError::TooManyHeartbeats { count, limit },
            BatchError::NotHosted { device, client } => RouteError::NotHosted { device, client },
        }
    }
}
