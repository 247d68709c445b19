//! `GET /api/v1/audit`: the audit log (who did what to which subject, and when), newest first,
//! filtered by actor, action, target and time, paginated like the other lists (the operator
//! console's audit view reads it).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::auth::Role;
use crate::store::models::audit as rows;

/// One stored operator action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// Increasing with time; the list's cursor.
    pub id: i64,
    pub at_ms: i64,
    /// Who: the token's subject (`sub`).
    pub actor: String,
    /// What: `alert.ack`, `alert.resolve`, `command.issue`, `taxi.restart`, `terminal.restart`,
    /// `device.register`, `client.register`, `taxi.register`, ...
    pub action: String,
    /// To what: `kind:id`, for example `alert:42`, `device:cam-1`, `taxi:12A3456`, `terminal:T1`.
    pub target: String,
    /// The note or the parameters of the action, when it has any.
    pub detail: Option<String>,
}

impl From<rows::AuditEntry> for AuditView {
    fn from(row: rows::AuditEntry) -> Self {
        AuditView {
            id: row.id,
            at_ms: row.at_ms,
            actor: row.principal,
            action: row.action,
            target: row.target,
            detail: row.detail,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries by this actor (exact match; a trailing `*` matches by prefix).
    pub actor: Option<String>,
    /// Only entries of this action (exact match), for example `alert.ack`; `alert.*` for every
    /// action starting with `alert.`.
    pub action: Option<String>,
    /// Only entries about this target (exact match), for example `device:cam-1`; `device:*` for
    /// every device.
    pub target: Option<String>,
    /// Only entries at or after this time, in ms since the epoch.
    pub since: Option<i64>,
    /// Only entries before this time, in ms since the epoch; must be after `since`.
    pub until: Option<i64>,
    /// Items per page, 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (an entry id).
    #[param(value_type = Option<i64>)]
    pub cursor: Option<String>,
}

impl AuditQuery {
    /// The store filter these parameters ask for, or why they cannot be read.
    pub fn filter(&self) -> Result<rows::Filter, ApiError> {
        let exact = |name: &str, value: &Option<String>| match value {
            Some(v) if v.trim().is_empty() => {
                Err(ApiError::Unprocessable(format!("{name} must not be empty when given")))
            }
            Some(v) => match v.strip_suffix('*') {
                Some("") => Err(ApiError::Unprocessable(format!(
                    "{name}=* would match everything: leave {name} out instead"
                ))),
                Some(prefix) => Ok(Some(rows::Match::Prefix(prefix.to_owned()))),
                None => Ok(Some(rows::Match::Exact(v.clone()))),
            },
            None => Ok(None),
        };
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if until <= since {
                return Err(ApiError::Unprocessable(format!(
                    "until ({until}) must be after since ({since})"
                )));
            }
        }
        Ok(rows::Filter {
            principal: exact("actor", &self.actor)?,
            action: exact("action", &self.action)?,
            target: exact("target", &self.target)?,
            since_ms: self.since,
            until_ms: self.until,
        })
    }
}

/// Lists the audit log.
///
/// Stored operator actions (acknowledgements, resolutions, commands, restarts, registrations,
/// field tokens), newest first, narrowed by the filters given (all must match).
///
/// **Role:** operator or above.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit",
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of audit entries, newest first", body = Page<AuditView>),
        (status = 400, description = "a parameter is not of its type (since/until not integers)"),
        (status = 403, description = "the token has no operator role or above"),
        (status = 422, description = "an empty filter, until not after since, limit out of range, bad cursor"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Operator)?;
    let q = query.into_inner();
    let filter = q.filter()?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let (limit, before) = (page.limit()?, page.id_cursor()?);
    let found = state.store.read(move |c| rows::page(c, &filter, before, limit)).await?;
    let items: Vec<AuditView> = found.into_iter().map(AuditView::from).collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |e| e.id.to_string())))
}

#[cfg(test)]
mod tests {
    use super::AuditQuery;
    use crate::store::models::audit::Match;

    #[test]
    fn filters_pass_through_as_exact_matches() {
        let q = AuditQuery {
            actor: Some("op".into()),
            action: Some("alert.ack".into()),
            target: Some("alert:7".into()),
            since: Some(10),
            until: Some(20),
            ..AuditQuery::default()
        };
        let f = q.filter().unwrap();
        assert_eq!(f.principal, Some(Match::Exact("op".into())));
        assert_eq!(f.action, Some(Match::Exact("alert.ack".into())));
        assert_eq!(f.target, Some(Match::Exact("alert:7".into())));
        assert_eq!((f.since_ms, f.until_ms), (Some(10), Some(20)));
        assert!(AuditQuery::default().filter().unwrap().principal.is_none());
    }

    #[test]
    fn a_trailing_star_matches_by_prefix_and_a_lone_star_is_refused() {
        let q = AuditQuery {
            action: Some("alert.*".into()),
            target: Some("device:*".into()),
            actor: Some("k*m".into()),
            ..AuditQuery::default()
        };
        let f = q.filter().unwrap();
        assert_eq!(f.action, Some(Match::Prefix("alert.".into())));
        assert_eq!(f.target, Some(Match::Prefix("device:".into())));
        assert_eq!(
            f.principal,
            Some(Match::Exact("k*m".into())),
            "only a trailing star is a prefix"
        );
        let all = AuditQuery {
            target: Some("*".into()),
            ..AuditQuery::default()
        };
        assert!(all.filter().unwrap_err().to_string().contains("leave target out"));
    }

    #[test]
    fn empty_filters_and_backward_ranges_are_refused() {
        let empty = AuditQuery {
            actor: Some(" ".into()),
            ..AuditQuery::default()
        };
        assert!(empty.filter().unwrap_err().to_string().contains("actor"));
        let backwards = AuditQuery {
            since: Some(20),
            until: Some(20),
            ..AuditQuery::default()
        };
        assert!(backwards.filter().unwrap_err().to_string().contains("until"));
        let open_ended = AuditQuery {
            since: Some(20),
            ..AuditQuery::default()
        };
        assert_eq!(open_ended.filter().unwrap().since_ms, Some(20));
    }
}
