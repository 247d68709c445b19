//! One registered taxi as its actor knows it: the registration (licence region, class), the
//! service region its driver chose, the blacklist, and the terminal whose lot last read its
//! plate, which is where its driver app's pings are forwarded.
//!
//! Pure: the taxi actor (`actor.rs`) owns one [`TaxiCard`], feeds it what happens and carries
//! out what it returns. Places in line are not here: they belong to the terminal dispatcher,
//! so a taxi actor that crashes and is rebuilt from its card loses nobody's place.

use std::str::FromStr;

use super::dispatch::Registration;
use super::model::{ModelError, Plate, Region, TaxiClass, TerminalId};
use super::rules::{JointZoneRules, RuleError};

/// Longest blacklist reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A taxi's registration and the choices made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiCard {
    pub plate: Plate,
    pub licence_region: Region,
    pub class: TaxiClass,
    pub service_region: Option<Region>,
    pub blacklisted: bool,
    pub reason: Option<String>,
    pub terminal: Option<TerminalId>,
}

/// Why a card refused a change; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CardError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("a blacklist reason is required (1 to {MAX_REASON_CHARS} characters)")]
    BadReason,
    /// Its registration is what its place in a line was given by: changed only off the lots.
    #[error("taxi {0} is at terminal {1}'s lot; change or decommission it once it has left")]
    AtTerminal(Plate, TerminalId),
}

impl TaxiCard {
    /// The key that places the taxi in a partition: its terminal, or its plate at none. The
    /// owner check, a partition's gain or loss and the fence of its writes all use it.
    pub fn partition_key(&self) -> &str {
        match &self.terminal {
            Some(terminal) => terminal.as_str(),
            None => self.plate.as_str(),
        }
    }

    /// A newly registered taxi.
    pub fn new(plate: Plate, licence_region: Region, class: TaxiClass) -> Self {
        TaxiCard {
            plate,
            licence_region,
            class,
            service_region: None,
            blacklisted: false,
            reason: None,
            terminal: None,
        }
    }

    /// The card from its stored row's text fields; `None` if any is unreadable.
    pub fn from_stored(
        plate: &str,
        licence_region: &str,
        class: &str,
        service_region: Option<&str>,
        blacklisted: bool,
        reason: Option<String>,
        terminal: Option<&str>,
    ) -> Option<Self> {
        Some(TaxiCard {
            plate: Plate::parse(plate).ok()?,
            licence_region: Region::parse(licence_region).ok()?,
            class: TaxiClass::from_str(class).ok()?,
            service_region: service_region.map(Region::parse).transpose().ok()?,
            blacklisted,
            reason,
            terminal: terminal.map(TerminalId::parse).transpose().ok()?,
        })
    }

    /// What a terminal's dispatcher needs with an arrival of this taxi.
    pub fn registration(&self) -> Registration {
        Registration {
            licence_region: self.licence_region.clone(),
            class: self.class,
            service_region: self.service_region.clone(),
            blacklisted: self.blacklisted,
        }
    }

    /// The lot of `terminal` read the plate: pings go there from now on. Returns the terminal
    /// the taxi was last read at when it is another one (the taxi moved between lots).
    pub fn arrived(&mut self, terminal: TerminalId) -> Option<TerminalId> {
        match self.terminal.replace(terminal) {
            Some(before) if Some(&before) != self.terminal.as_ref() => Some(before),
            _ => None,
        }
    }

    /// Where a ping from the driver app goes: the terminal whose lot last read the plate.
    pub fn ping_target(&self) -> Option<&TerminalId> {
        self.terminal.as_ref()
    }

    /// Checks the driver's choice against the licence and the joint-zone rules (422 when
    /// refused) without changing anything: the terminal may still refuse it (409).
    pub fn check_service_region(&self, region: &Region, rules: &JointZoneRules) -> Result<(), CardError> {
        rules.check(&self.licence_region, region)?;
        Ok(())
    }

    /// Records the driver's choice, once the rules and the terminal accepted it. Returns
    /// whether it changed.
    pub fn set_service_region(&mut self, region: Region) -> bool {
        if self.service_region.as_ref() == Some(&region) {
            return false;
        }
        self.service_region = Some(region);
        true
    }

    /// Blacklists the plate with an operator's reason (trimmed; required).
    pub fn blacklist(&mut self, reason: &str) -> Result<(), CardError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(CardError::BadReason);
        }
        self.blacklisted = true;
        self.reason = Some(reason.to_owned());
        Ok(())
    }

    /// Corrects the registration: its licence region and class. Refused while the taxi is at a
    /// terminal (its place in line was given by them). A new licence region clears the chosen
    /// service region, which the old licence allowed (the driver chooses again). Answers the
    /// fields changed.
    pub fn amend(
        &mut self,
        licence_region: Option<Region>,
        class: Option<TaxiClass>,
    ) -> Result<Vec<&'static str>, CardError> {
        self.off_the_lots()?;
        let mut changed = Vec::new();
        if let Some(region) = licence_region.filter(|r| *r != self.licence_region) {
            self.licence_region = region;
            self.service_region = None;
            changed.push("license_region");
        }
        if let Some(class) = class.filter(|c| *c != self.class) {
            self.class = class;
            changed.push("class");
        }
        Ok(changed)
    }

    /// `Err` while the taxi is at a terminal's lot.
    pub fn off_the_lots(&self) -> Result<(), CardError> {
        match &self.terminal {
            Some(t) => Err(CardError::AtTerminal(self.plate.clone(), t.clone())),
            None => Ok(()),
        }
    }

    /// Lifts the blacklist. Returns whether the plate was blacklisted.
    pub fn unblacklist(&mut self) -> bool {
        let was = self.blacklisted;
        self.blacklisted = false;
        self.reason = None;
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxi::core::rules::JointPair;

    fn r(s: &str) -> Region {
        Region::parse(s).unwrap()
    }

    fn card() -> TaxiCard {
        TaxiCard::new(Plate::parse("12가3456").unwrap(), r("gyeonggi"), TaxiClass::Standard)
    }

    #[test]
    fn a_registration_is_amended_off_the_lots_only() {
        let mut c = card();
        c.service_region = Some(r("seoul"));
        assert_eq!(c.amend(None, Some(TaxiClass::Standard)).unwrap(), Vec::<&str>::new());
        assert_eq!(
            c.amend(Some(r("incheon")), Some(TaxiClass::Jumbo)).unwrap(),
            ["license_region", "class"]
        );
        assert_eq!(
            (c.licence_region.clone(), c.class, c.service_region.clone()),
            (r("incheon"), TaxiClass::Jumbo, None)
        );
        c.arrived(TerminalId::parse("T1").unwrap());
        let refused = c.amend(None, Some(TaxiClass::Deluxe)).unwrap_err();
        assert!(matches!(refused, CardError::AtTerminal(..)), "{refused}");
        assert_eq!(c.class, TaxiClass::Jumbo, "nothing changed");
    }

    #[test]
    fn arrivals_move_the_ping_target_and_report_a_change_of_lot() {
        let mut c = card();
        assert_eq!(c.ping_target(), None);
        let t1 = TerminalId::parse("T1").unwrap();
        let t2 = TerminalId::parse("T2").unwrap();
        assert_eq!(c.arrived(t1.clone()), None);
        assert_eq!(c.arrived(t1.clone()), None);
        assert_eq!(c.arrived(t2.clone()), Some(t1));
        assert_eq!(c.ping_target(), Some(&t2));
    }

    #[test]
    fn service_region_follows_the_joint_zone_rules() {
        let rules = JointZoneRules::new(
            [r("seoul"), r("incheon"), r("gyeonggi")],
            [JointPair {
                licence: r("gyeonggi"),
                service: r("seoul"),
            }],
        )
        .unwrap();
        let mut c = card();
        assert!(c.check_service_region(&r("seoul"), &rules).is_ok());
        assert!(matches!(
            c.check_service_region(&r("incheon"), &rules),
            Err(CardError::Rule(RuleError::NotAllowed { .. }))
        ));
        assert!(matches!(
            c.check_service_region(&r("busan"), &rules),
            Err(CardError::Rule(RuleError::UnknownRegion { .. }))
        ));
        assert!(c.set_service_region(r("seoul")));
        assert!(!c.set_service_region(r("seoul")));
        assert_eq!(c.registration().service_region, Some(r("seoul")));
    }

    #[test]
    fn blacklist_needs_a_reason_and_can_be_lifted() {
        let mut c = card();
        assert_eq!(c.blacklist("   "), Err(CardError::BadReason));
        assert_eq!(
            c.blacklist(&"x".repeat(MAX_REASON_CHARS + 1)),
            Err(CardError::BadReason)
        );
        assert!(!c.blacklisted);
        c.blacklist("  refused a ride ").unwrap();
        assert!(c.registration().blacklisted);
        assert_eq!(c.reason.as_deref(), Some("refused a ride"));
        assert!(c.unblacklist());
        assert!(!c.unblacklist());
        assert_eq!(c.reason, None);
    }

    #[test]
    fn stored_rows_are_read_back_or_refused() {
        let c = TaxiCard::from_stored("12가3456", "gyeonggi", "jumbo", Some("seoul"), true, None, Some("t1")).unwrap();
        assert_eq!(c.class, TaxiClass::Jumbo);
        assert_eq!(c.terminal.unwrap().as_str(), "T1");
        assert!(TaxiCard::from_stored("", "seoul", "standard", None, false, None, None).is_none());
        assert!(TaxiCard::from_stored("A1", "seoul", "limo", None, false, None, None).is_none());
    }
}
