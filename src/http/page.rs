//! List parameters and envelopes (API.md): `?limit=` up to 1000, `?cursor=`,
//! answered as `{"items": [...], "next_cursor": null | "..."}`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::store::models::{DEFAULT_PAGE, MAX_PAGE};

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 1000 (`MAX_PAGE`); 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::Unprocessable(format!(
                "limit must be between 1 and {MAX_PAGE}, got {n}"
            ))),
        }
    }

    /// The cursor of a list ordered by descending numeric id.
    pub fn id_cursor(&self) -> Result<Option<i64>, ApiError> {
        self.cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>()
                    .map_err(|_| ApiError::Unprocessable(format!("invalid cursor {c:?}")))
            })
            .transpose()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    /// The `cursor` of the next page; null on the last one.
    pub next_cursor: Option<String>,
}

impl<T: Serialize> Page<T> {
    /// A page of `items` fetched with `limit`; the cursor is the key of the last item when the
    /// page is full.
    pub fn new(items: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        let full = usize::try_from(limit).is_ok_and(|l| items.len() >= l);
        let next_cursor = if full { items.last().map(key) } else { None };
        Page { items, next_cursor }
    }
}
