//! Roles and the principal a verified token names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::AuthError;

/// What a principal may do (API.md "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Watch, acknowledge, command.
    Operator,
    /// Watch only.
    Viewer,
    /// A gate PC or kiosk: heartbeats and command acks for the devices it hosts.
    Client,
    /// One taxi's driver app.
    Driver,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
            Role::Client => "client",
            Role::Driver => "driver",
        }
    }

    /// Rank on the watch > act > administer ladder; clients and drivers are not on it.
    fn rank(self) -> u8 {
        match self {
            Role::Admin => 3,
            Role::Operator => 2,
            Role::Viewer => 1,
            Role::Client | Role::Driver => 0,
        }
    }

    /// True when this role includes everything `floor` may do (`viewer+`, `operator+`).
    pub fn at_least(self, floor: Role) -> bool {
        if floor.rank() == 0 {
            return self == floor || self == Role::Admin;
        }
        self.rank() >= floor.rank()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "viewer" => Ok(Role::Viewer),
            "client" => Ok(Role::Client),
            "driver" => Ok(Role::Driver),
            other => Err(format!(
                "unknown role {other:?}: use admin, operator, viewer, client or driver"
            )),
        }
    }
}

/// Who is asking: the verified content of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// For `client` tokens: the gate PC or kiosk this principal is.
    pub client: Option<String>,
    /// For `driver` tokens: the taxi's plate.
    pub taxi: Option<String>,
    /// When the token stops being valid (epoch ms).
    pub expires_ms: i64,
    /// When the token was issued (epoch ms; `i64::MAX` for a principal no token stands for, such
    /// as a client certificate's, which revoking tokens does not touch).
    pub issued_ms: i64,
}

impl Principal {
    /// Refuses unless the role includes `floor`.
    pub fn require(&self, floor: Role) -> Result<(), AuthError> {
        if self.role.at_least(floor) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(format!(
                "this needs the {floor} role or above; the token has {}",
                self.role
            )))
        }
    }

    /// True for the client `client_id` itself (or an admin).
    pub fn is_client(&self, client_id: &str) -> bool {
        self.role == Role::Admin || (self.role == Role::Client && self.client.as_deref() == Some(client_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_includes_lower_rungs_only() {
        assert!(Role::Admin.at_least(Role::Operator));
        assert!(Role::Operator.at_least(Role::Viewer));
        assert!(!Role::Viewer.at_least(Role::Operator));
        assert!(!Role::Client.at_least(Role::Viewer));
        assert!(!Role::Driver.at_least(Role::Viewer));
        assert!(Role::Client.at_least(Role::Client));
        assert!(Role::Admin.at_least(Role::Client));
        assert!(!Role::Operator.at_least(Role::Client));
    }

    #[test]
    fn a_client_is_only_itself() {
        let p = Principal {
            name: "gate-pc-1".into(),
            role: Role::Client,
            client: Some("gate-pc-1".into()),
            taxi: None,
            expires_ms: 0,
            issued_ms: 0,
        };
        assert!(p.is_client("gate-pc-1"));
        assert!(!p.is_client("gate-pc-2"));
        assert!(matches!(p.require(Role::Viewer), Err(AuthError::Forbidden(_))));
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in [Role::Admin, Role::Operator, Role::Viewer, Role::Client, Role::Driver] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
