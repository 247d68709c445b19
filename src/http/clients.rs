//! `/api/v1/clients`: gate PCs and kiosks.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::page::{Page, PageQuery};
use super::AppState;
use crate::auth::Role;
use crate::broker::messages::OnlineClients;
use crate::ids::ClientId;
use crate::store::models::{audit, clients};

/// Longest name or site accepted.
pub(super) const MAX_TEXT: usize = 200;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewClient {
    /// 1 to 64 of `A-Z a-z 0-9 . _ - :`.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub id: String,
    /// Not blank; at most 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    #[schema(max_length = 200)]
    pub site: Option<String>,
}

/// A gate PC or kiosk.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub site: Option<String>,
    pub created_ms: i64,
    /// A STOMP session of this client is open, or its HTTP heartbeats keep arriving (the
    /// broker's presence).
    pub online: bool,
    /// The node running this client's devices (the owner of its partition); null while no
    /// node owns it.
    pub owner_node: Option<u16>,
}

impl From<clients::Client> for ClientView {
    fn from(c: clients::Client) -> Self {
        ClientView {
            id: c.id,
            name: c.name,
            site: c.site,
            created_ms: c.created_ms,
            online: false,
            owner_node: None,
        }
    }
}

pub(super) fn text(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.chars().count() > MAX_TEXT => Err(ApiError::Unprocessable(format!(
            "{field} is longer than {MAX_TEXT} characters"
        ))),
        other => Ok(other),
    }
}

/// Registers a gate PC or kiosk.
///
/// **Role:** admin.
#[utoipa::path(
    post,
    path = "/api/v1/clients",
    operation_id = "create_client",
    tag = "clients",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "registered", body = ClientView),
        (status = 403, description = "the token is not an admin's"),
        (status = 409, description = "a client with this id is already registered"),
        (status = 422, description = "bad id, blank or overlong name or site"),
        (status = 503, description = "the store is unavailable"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewClient>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Admin)?;
    let body = body.into_inner();
    let id: ClientId = body
        .id
        .parse()
        .map_err(|e: crate::ids::InvalidKey| ApiError::Unprocessable(e.to_string()))?;
    let name = text("name", Some(body.name))?.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(ApiError::Unprocessable("name must not be empty".into()));
    }
    let now = state.clock.now();
    let row = clients::Client {
        id: id.to_string(),
        name,
        site: text("site", body.site)?,
        created_ms: now.0,
        decommissioned_ms: None,
    };
    let entry = audit::AuditEntry {
        id: state.ids.next(now),
        at_ms: now.0,
        principal: caller.name.clone(),
        action: "client.register".into(),
        target: format!("client:{id}"),
        detail: None,
    };
    let stored = row.clone();
    state
        .store
        .write(move |c| {
            // A decommissioned client of this id comes back as new, its history kept.
            if !clients::revive(c, &stored)? {
                clients::insert(c, &stored)?;
            }
            audit::insert(c, &entry)
        })
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => ApiError::Conflict(format!("client {id} is already registered")),
            other => other.into(),
        })?;
    log::info!("client registered id={} by={}", row.id, caller.name);
    let mut view = ClientView::from(row);
    view.owner_node = super::cluster::owner_node(&state, &view.id);
    Ok(HttpResponse::Created().json(view))
}

/// Lists gate PCs and kiosks.
///
/// By id, each with `online`: a STOMP session of it is open.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/clients",
    operation_id = "list_clients",
    params(PageQuery),
    tag = "clients",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of clients", body = Page<ClientView>),
        (status = 403, description = "the token has no viewer role or above"),
        (status = 422, description = "limit out of range"),
        (status = 503, description = "the store or presence is unavailable"),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    let limit = query.limit()?;
    let after = query.cursor.clone();
    let rows = state
        .store
        .read(move |c| clients::page(c, after.as_deref(), limit))
        .await?;
    let online = state
        .broker
        .send(OnlineClients)
        .await
        .map_err(|e| ApiError::Unavailable(format!("presence is not available: {e}")))?;
    let items: Vec<ClientView> = rows
        .into_iter()
        .map(ClientView::from)
        .map(|mut view| {
            view.online = online.binary_search(&view.id).is_ok();
            view.owner_node = super::cluster::owner_node(&state, &view.id);
            view
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::new(items, limit, |c| c.id.clone())))
}
