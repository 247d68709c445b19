//! `PATCH` and `DELETE /api/v1/clients/{id}`: renaming a gate PC or kiosk and taking it out of
//! service.

use actix_web::{web, HttpResponse};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::clients::{text, ClientView};
use super::error::ApiError;
use super::extract::Caller;
use super::{nullable, AppState};
use crate::alert::messages::OpenAlertsOf;
use crate::alert::{Intent, Record};
use crate::auth::{Role, Subject};
use crate::broker::messages::OnlineClients;
use crate::store::models::{audit, clients, devices, revocations};

/// An edit of a gate PC or kiosk: a field left out stays as it is; `site: null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    /// Not blank; at most 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(max_length = 200)]
    #[serde(default, deserialize_with = "nullable::field")]
    pub site: Option<Option<String>>,
}

/// Why an edit of client `id` was not stored.
enum Refused {
    NotFound,
    Hosts(i64),
}

impl Refused {
    fn into_api(self, id: &str) -> ApiError {
        match self {
            Refused::NotFound => ApiError::NotFound(format!("no client {id} in service")),
            Refused::Hosts(n) => ApiError::Conflict(format!(
                "client {id} still hosts {n} devices in service: move them to another client (PATCH /api/v1/devices/{{id}} with client_id) or decommission them first"
            )),
        }
    }
}

/// Edits a gate PC or kiosk.
///
/// Its name and site. Audited with the fields changed.
///
/// **Role:** admin.
#[utoipa::path(
    patch,
    path = "/api/v1/clients/{id}",
    operation_id = "update_client",
    tag = "clients",
    params(("id" = String, Path, description = "the client's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the client as edited", body = ClientView),
        (status = 400, description = "a field the edit does not take (`id`, a misspelling) or a malformed body"),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such client in service"),
        (status = 422, description = "blank or overlong name or site"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ClientPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let body = body.into_inner();
    let name = text("name", body.name)?;
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::Unprocessable("name must not be empty".into()));
    }
    let site = body.site.map(|s| text("site", s)).transpose()?;
    let now = state.clock.now();
    let (key, by, audit_id) = (id.to_string(), caller.name.clone(), state.ids.next(now));
    let row = state
        .store
        .write(move |c| {
            let Some(mut row) = clients::find(c, &key)? else {
                return Ok(None);
            };
            let mut changed = Vec::new();
            if let Some(name) = name.filter(|n| *n != row.name) {
                row.name = name;
                changed.push("name");
            }
            if let Some(site) = site.filter(|s| *s != row.site) {
                row.site = site;
                changed.push("site");
            }
            if !changed.is_empty() {
                clients::set_details(c, &key, &row.name, row.site.as_deref())?;
                let entry = audit::AuditEntry {
                    id: audit_id,
                    at_ms: now.0,
                    principal: by.clone(),
                    action: "client.update".into(),
                    target: format!("client:{key}"),
                    detail: Some(changed.join(",")),
                };
                audit::insert(c, &entry)?;
            }
            Ok(Some(row))
        })
        .await?
        .ok_or_else(|| Refused::NotFound.into_api(&id))?;
    log::info!("client edited id={id} by={}", caller.name);
    let online = state
        .broker
        .send(OnlineClients)
        .await
        .map_err(|e| ApiError::Unavailable(format!("presence is not available: {e}")))?;
    let mut view = ClientView::from(row);
    view.online = online.binary_search(&view.id).is_ok();
    view.owner_node = super::cluster::owner_node(&state, &view.id);
    Ok(HttpResponse::Ok().json(view))
}

/// A gate PC or kiosk taken out of service.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecommissionedClient {
    pub id: String,
    pub decommissioned_ms: i64,
    /// Every token issued to it until now is refused from now on.
    pub tokens_revoked_before_ms: i64,
}

/// Decommissions a gate PC or kiosk.
///
/// Only once it hosts no device in service (409 says how many it still hosts). Every token
/// issued to it is revoked, so its open STOMP sessions are closed with an ERROR saying why and
/// its requests are refused; its own open alerts (`client_disconnected`) are resolved by the
/// caller with the reason. Its history is kept; registering the same id again brings it back
/// as new. Audited.
///
/// **Role:** admin.
#[utoipa::path(
    delete,
    path = "/api/v1/clients/{id}",
    operation_id = "decommission_client",
    tag = "clients",
    params(("id" = String, Path, description = "the client's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "decommissioned", body = DecommissionedClient),
        (status = 403, description = "the token is not an admin's"),
        (status = 404, description = "no such client in service"),
        (status = 409, description = "it still hosts devices in service"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn decommission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let subject = Subject::client(&id);
    let why = format!("client {id} was decommissioned by {}", caller.name);
    let before = state.accounts.now();
    let entry = audit::AuditEntry {
        id: state.ids.next(before),
        at_ms: before.0,
        principal: caller.name.clone(),
        action: "client.decommission".into(),
        target: format!("client:{id}"),
        detail: None,
    };
    let (key, stored, reason) = (id.to_string(), subject.as_str().to_owned(), why.clone());
    state
        .store
        .write(move |c| {
            c.transaction(|c| {
                if clients::find(c, &key)?.is_none() {
                    return Ok(Err(Refused::NotFound));
                }
                let hosted = devices::count_hosted(c, &key)?;
                if hosted > 0 {
                    return Ok(Err(Refused::Hosts(hosted)));
                }
                clients::decommission(c, &key, before.0)?;
                revocations::revoke(c, &stored, before.0, &reason)?;
                audit::insert(c, &entry)?;
                Ok(Ok(()))
            })
        })
        .await?
        .map_err(|r| r.into_api(&id))?;
    state.accounts.revoked(subject, &id, before, why.clone());
    // Its own open alerts (a `client_disconnected` it can no longer resolve by coming back).
    let alert_subject = crate::alert::Subject {
        kind: crate::alert::SubjectType::Client,
        id: id.to_string(),
    };
    if let (Ok(open), Some(fence)) = (
        state
            .alerts
            .send(OpenAlertsOf {
                subject: alert_subject.clone(),
            })
            .await,
        state.devices.fence_of(&id),
    ) {
        let intents: Vec<Intent> = open
            .iter()
            .map(|a| Intent::Retire {
                subject: alert_subject.clone(),
                kind: a.kind,
                by: caller.name.clone(),
                why: why.clone(),
            })
            .collect();
        if !intents.is_empty() {
            state.alerts.do_send(Record {
                writes: None,
                state: None,
                intents,
                committed: None,
                fence: Some(fence),
            });
        }
    }
    log::info!("client decommissioned id={id} by={}", caller.name);
    Ok(HttpResponse::Ok().json(DecommissionedClient {
        id: id.into_inner(),
        decommissioned_ms: before.0,
        tokens_revoked_before_ms: before.0,
    }))
}
