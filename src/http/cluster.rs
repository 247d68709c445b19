//! `GET /api/v1/cluster`: the nodes and who owns each partition, with its fencing token. On a
//! single node, the one node owning every partition with token 0.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::auth::Role;
use crate::cluster::view::{self, ClusterView};

/// The cluster as this node sees it.
pub fn current(state: &AppState) -> ClusterView {
    match &state.cluster {
        Some(node) => node.view(),
        None => view::single_node(
            &state.config.cluster,
            state.config.node_id,
            &state.config.bind,
            state.config.ownership().partitions,
        ),
    }
}

/// The node that runs the actors of `key`'s partition (a client id for a client and its
/// devices): this one on a single node; as last seen in a cluster, `None` while nobody owns it.
pub fn owner_node(state: &AppState, key: &str) -> Option<u16> {
    match &state.cluster {
        Some(node) => node.owner_of(node.settings.partitions.of(key)),
        None => Some(state.config.node_id),
    }
}

/// The cluster's nodes and partitions.
///
/// Every node (`alive`: registered and renewing now) with the partitions it owns, and every
/// partition with its owner and fencing token (the lease revision it was acquired at; `null`
/// while no node holds it). Without `KWANJE_NATS_URL`: the one node owning every partition,
/// token 0.
///
/// **Role:** viewer or above.
#[utoipa::path(
    get,
    path = "/api/v1/cluster",
    operation_id = "show_cluster",
    tag = "cluster",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the cluster as this node sees it", body = ClusterView),
        (status = 403, description = "the token has no viewer role or above"),
    )
)]
pub async fn show(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(HttpResponse::Ok().json(current(&state)))
}
