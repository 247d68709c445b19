//! What the guidance actor is sent ([`super::guidance::Guidance`]), each with its answer.

use actix::Message;

use super::core::area::AreaSpec;
use super::core::report::Reading;
use super::core::view::SiteView;

/// Count checked readings (the report was checked whole by [`super::core::report::check`]).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecordReadings {
    pub readings: Vec<Reading>,
}

/// A stored area joins the book; `in_service`: its camera's state as of now.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AddArea {
    pub area: AreaSpec,
    pub in_service: bool,
}

/// The views of every site (or one), with every zone (or one).
#[derive(Debug, Message)]
#[rtype(result = "Vec<SiteView>")]
pub struct GetOccupancy {
    pub site: Option<String>,
    pub zone: Option<String>,
}
