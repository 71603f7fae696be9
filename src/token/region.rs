//! Twilio regions and the Voice SDK edge that goes with each.
//!
//! A token and the browser's connection must agree: the token names the region whose API key
//! signed it (`twr` header), and the SDK must connect through an edge that reaches that region.
//! When they disagree the browser reports 20101 or a bare 53000, which is hard to trace back to a
//! setting. The endpoint therefore returns the matching edge next to every token, so the page can
//! pass it to `new Twilio.Device(token, { edge })` instead of hard-coding one.

use std::fmt;

/// The edge the Voice SDK uses when none is given, and the one to use with no region set.
///
/// Without `TWILIO_VOICE_REGION` the token carries no `twr`, so Twilio reads it in its default
/// region, US1. `roaming` (Global Low Latency) is the SDK's own default: it connects the browser
/// to the nearest edge and routes to US1, the same pairing as Twilio's quickstart. Naming a
/// specific edge instead would only be right for browsers near it, and an edge that belongs to
/// another region is what turns a good US1 token into 53000/20101.
pub const DEFAULT_EDGE: &str = "roaming";

/// A region this service knows, from `TWILIO_VOICE_REGION`.
///
/// The list is the Voice SDK's region-to-edge table (`regionToEdge` in `@twilio/voice-sdk`
/// `lib/twilio/regions.ts`), so every region has a known edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// United States (Virginia), Twilio's default region.
    Us1,
    /// United States (Oregon).
    Us2,
    /// Ireland.
    Ie1,
    /// Australia.
    Au1,
    /// Germany.
    De1,
    /// Japan.
    Jp1,
    /// Singapore.
    Sg1,
    /// Brazil.
    Br1,
    /// Global Low Latency: let Twilio pick the nearest edge.
    Gll,
}

/// `TWILIO_VOICE_REGION` named a region not in [`Region::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Twilio region; use one of: {}", Region::list())]
pub struct UnknownRegion;

impl Region {
    /// Every region, in the order shown in messages.
    pub const ALL: [Region; 9] = [
        Region::Us1,
        Region::Us2,
        Region::Ie1,
        Region::Au1,
        Region::De1,
        Region::Jp1,
        Region::Sg1,
        Region::Br1,
        Region::Gll,
    ];

    /// Reads a region code. Case is ignored because Twilio's docs write them both ways (IE1, ie1).
    pub fn parse(value: &str) -> Result<Self, UnknownRegion> {
        Self::ALL
            .into_iter()
            .find(|region| region.as_str().eq_ignore_ascii_case(value))
            .ok_or(UnknownRegion)
    }

    /// The code Twilio uses, in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us1 => "us1",
            Region::Us2 => "us2",
            Region::Ie1 => "ie1",
            Region::Au1 => "au1",
            Region::De1 => "de1",
            Region::Jp1 => "jp1",
            Region::Sg1 => "sg1",
            Region::Br1 => "br1",
            Region::Gll => "gll",
        }
    }

    /// The Voice SDK edge that reaches this region (the SDK's own `regionToEdge` table).
    pub fn edge(self) -> &'static str {
        match self {
            Region::Us1 => "ashburn",
            Region::Us2 => "umatilla",
            Region::Ie1 => "dublin",
            Region::Au1 => "sydney",
            Region::De1 => "frankfurt",
            Region::Jp1 => "tokyo",
            Region::Sg1 => "singapore",
            Region::Br1 => "sao-paulo",
            Region::Gll => DEFAULT_EDGE,
        }
    }

    /// The value of the token's `twr` header, if any.
    ///
    /// `gll` is a way of routing (nearest edge), not a region an API key can live in, so it
    /// gets no `twr` and Twilio reads the token in its default region, US1, exactly as with no
    /// region set. Every other region is written as configured, as Twilio's helper libraries do.
    pub fn twr(self) -> Option<&'static str> {
        match self {
            Region::Gll => None,
            other => Some(other.as_str()),
        }
    }

    /// The region codes joined for messages: "us1, us2, ...".
    pub fn list() -> String {
        Self::ALL.map(Region::as_str).join(", ")
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The edge a client should use for tokens minted with `region`.
pub fn edge_for(region: Option<Region>) -> &'static str {
    region.map_or(DEFAULT_EDGE, Region::edge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_maps_to_the_sdk_edge() {
        let expected = [
            ("us1", "ashburn"),
            ("us2", "umatilla"),
            ("ie1", "dublin"),
            ("au1", "sydney"),
            ("de1", "frankfurt"),
            ("jp1", "tokyo"),
            ("sg1", "singapore"),
            ("br1", "sao-paulo"),
            ("gll", "roaming"),
        ];
        for (code, edge) in expected {
            let region = Region::parse(code).unwrap();
            assert_eq!((region.as_str(), region.edge()), (code, edge));
        }
        assert_eq!(expected.len(), Region::ALL.len());
    }

    #[test]
    fn no_region_means_roaming_and_no_twr_for_gll() {
        assert_eq!(edge_for(None), "roaming");
        assert_eq!(Region::Gll.twr(), None);
        assert_eq!(Region::Ie1.twr(), Some("ie1"));
    }

    #[test]
    fn parse_ignores_case_and_lists_the_valid_codes_on_error() {
        assert_eq!(Region::parse("IE1"), Ok(Region::Ie1));
        let message = Region::parse("eu1").unwrap_err().to_string();
        assert_eq!(
            message,
            "unknown Twilio region; use one of: us1, us2, ie1, au1, de1, jp1, sg1, br1, gll"
        );
    }
}
