//! The access rights a service provider may ask for (TR-03110 part 4, TR-03127).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One access right (a "CHAT" entry) as AusweisApp names it. Rights this crate does not
/// know yet (a newer AusweisApp) are kept as [`AccessRight::Other`] so the consent screen
/// can still list them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AccessRight {
    /// Address (Anschrift).
    Address,
    /// Birth name (Geburtsname).
    BirthName,
    /// Family name (Familienname).
    FamilyName,
    /// Given names (Vornamen).
    GivenNames,
    /// Place of birth (Geburtsort).
    PlaceOfBirth,
    /// Date of birth (Geburtsdatum).
    DateOfBirth,
    /// Doctoral degree (Doktorgrad).
    DoctoralDegree,
    /// Religious or artistic name (Ordens- oder Künstlername).
    ArtisticName,
    /// Service-specific pseudonym.
    Pseudonym,
    /// Valid until (Gültig bis).
    ValidUntil,
    /// Nationality (Staatsangehörigkeit).
    Nationality,
    /// Issuing country (Ausstellender Staat).
    IssuingCountry,
    /// Document type (Dokumentenart).
    DocumentType,
    /// Residence permit I (Nebenbestimmungen I).
    ResidencePermitI,
    /// Residence permit II (Nebenbestimmungen II).
    ResidencePermitII,
    /// Community ID (Wohnort-ID).
    CommunityId,
    /// Address verification (Wohnortbestätigung).
    AddressVerification,
    /// Age verification (Altersbestätigung).
    AgeVerification,
    /// Write: address.
    WriteAddress,
    /// Write: community ID.
    WriteCommunityId,
    /// Write: residence permit I.
    WriteResidencePermitI,
    /// Write: residence permit II.
    WriteResidencePermitII,
    /// The provider may use the CAN instead of the PIN (on-site readout).
    CanAllowed,
    /// PIN management.
    PinManagement,
    /// A right this crate does not know, with AusweisApp's name for it.
    Other(String),
}

/// Every right this crate knows, in the order the consent screen lists them.
const KNOWN: [(AccessRight, &str, &str); 24] = [
    (AccessRight::FamilyName, "FamilyName", "family_name"),
    (AccessRight::GivenNames, "GivenNames", "given_names"),
    (
        AccessRight::DoctoralDegree,
        "DoctoralDegree",
        "doctoral_degree",
    ),
    (AccessRight::ArtisticName, "ArtisticName", "artistic_name"),
    (AccessRight::BirthName, "BirthName", "birth_name"),
    (AccessRight::DateOfBirth, "DateOfBirth", "date_of_birth"),
    (AccessRight::PlaceOfBirth, "PlaceOfBirth", "place_of_birth"),
    (AccessRight::Address, "Address", "address"),
    (AccessRight::Nationality, "Nationality", "nationality"),
    (
        AccessRight::IssuingCountry,
        "IssuingCountry",
        "issuing_country",
    ),
    (AccessRight::DocumentType, "DocumentType", "document_type"),
    (AccessRight::ValidUntil, "ValidUntil", "valid_until"),
    (AccessRight::Pseudonym, "Pseudonym", "pseudonym"),
    (
        AccessRight::ResidencePermitI,
        "ResidencePermitI",
        "residence_permit_i",
    ),
    (
        AccessRight::ResidencePermitII,
        "ResidencePermitII",
        "residence_permit_ii",
    ),
    (AccessRight::CommunityId, "CommunityID", "community_id"),
    (
        AccessRight::AddressVerification,
        "AddressVerification",
        "address_verification",
    ),
    (
        AccessRight::AgeVerification,
        "AgeVerification",
        "age_verification",
    ),
    (AccessRight::WriteAddress, "WriteAddress", "write_address"),
    (
        AccessRight::WriteCommunityId,
        "WriteCommunityID",
        "write_community_id",
    ),
    (
        AccessRight::WriteResidencePermitI,
        "WriteResidencePermitI",
        "write_residence_permit_i",
    ),
    (
        AccessRight::WriteResidencePermitII,
        "WriteResidencePermitII",
        "write_residence_permit_ii",
    ),
    (AccessRight::CanAllowed, "CanAllowed", "can_allowed"),
    (
        AccessRight::PinManagement,
        "PinManagement",
        "pin_management",
    ),
];

impl AccessRight {
    /// Every right this crate knows (for translation completeness checks).
    pub fn all_known() -> impl Iterator<Item = AccessRight> {
        KNOWN.iter().map(|(right, _, _)| right.clone())
    }

    /// The right for AusweisApp's name; unknown names become [`AccessRight::Other`].
    pub fn from_sdk_name(name: &str) -> Self {
        KNOWN
            .iter()
            .find(|(_, sdk, _)| *sdk == name)
            .map(|(right, _, _)| right.clone())
            .unwrap_or_else(|| Self::Other(name.to_owned()))
    }

    /// AusweisApp's name, as sent in `SET_ACCESS_RIGHTS`.
    pub fn sdk_name(&self) -> &str {
        match self {
            Self::Other(name) => name,
            known => KNOWN
                .iter()
                .find(|(right, _, _)| right == known)
                .map(|(_, sdk, _)| *sdk)
                .unwrap_or("unknown"),
        }
    }

    /// The message code the UI translates, e.g. `eid.right.family_name`. Unknown rights
    /// share `eid.right.other` (the UI may show the SDK name next to it).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Other(_) => "eid.right.other",
            known => KNOWN
                .iter()
                .position(|(right, _, _)| right == known)
                .map(|index| RIGHT_CODES[index])
                .unwrap_or("eid.right.other"),
        }
    }

    /// Whether the right writes to the card rather than reading from it.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Self::WriteAddress
                | Self::WriteCommunityId
                | Self::WriteResidencePermitI
                | Self::WriteResidencePermitII
        )
    }

    /// The position in the consent screen's order (unknown rights last).
    pub fn display_order(&self) -> usize {
        KNOWN
            .iter()
            .position(|(right, _, _)| right == self)
            .unwrap_or(KNOWN.len())
    }
}

/// `eid.right.<snake name>` for every known right, in [`KNOWN`] order.
pub(crate) const RIGHT_CODES: [&str; 24] = [
    "eid.right.family_name",
    "eid.right.given_names",
    "eid.right.doctoral_degree",
    "eid.right.artistic_name",
    "eid.right.birth_name",
    "eid.right.date_of_birth",
    "eid.right.place_of_birth",
    "eid.right.address",
    "eid.right.nationality",
    "eid.right.issuing_country",
    "eid.right.document_type",
    "eid.right.valid_until",
    "eid.right.pseudonym",
    "eid.right.residence_permit_i",
    "eid.right.residence_permit_ii",
    "eid.right.community_id",
    "eid.right.address_verification",
    "eid.right.age_verification",
    "eid.right.write_address",
    "eid.right.write_community_id",
    "eid.right.write_residence_permit_i",
    "eid.right.write_residence_permit_ii",
    "eid.right.can_allowed",
    "eid.right.pin_management",
];

impl Serialize for AccessRight {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.sdk_name())
    }
}

impl<'de> Deserialize<'de> for AccessRight {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::from_sdk_name(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_snake_names() {
        for (index, (right, sdk, snake)) in KNOWN.iter().enumerate() {
            assert_eq!(RIGHT_CODES[index], format!("eid.right.{snake}"));
            assert_eq!(right.code(), RIGHT_CODES[index]);
            assert_eq!(AccessRight::from_sdk_name(sdk), *right);
            assert_eq!(right.sdk_name(), *sdk);
        }
        let other = AccessRight::from_sdk_name("FutureRight");
        assert_eq!(other, AccessRight::Other("FutureRight".into()));
        assert_eq!(other.sdk_name(), "FutureRight");
        assert_eq!(other.code(), "eid.right.other");
    }
}
