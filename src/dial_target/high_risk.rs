//! The high-risk destinations: calling codes and ranges where an ordinary, valid number can still
//! cost the line a fortune.
//!
//! International revenue-share fraud (IRSF) works by making a victim's line call numbers whose
//! termination rate is high and whose operator (or someone who hijacked the range) shares that
//! rate with the fraudster. Premium-rate numbers are the obvious case, and the libphonenumber
//! metadata already marks those. The rest are ordinary fixed and mobile numbers in places whose
//! rates are high and whose ranges keep turning up in fraud reports: small island networks,
//! several West and Central African countries, satellite and other global codes, and the
//! Caribbean's NANP area codes, which look like US numbers. No pattern broader than the
//! destination's own code reaches them: `+*` and `+5*` never dial Cuba, `+53*` does.
//!
//! This list is the one place they are written. Each entry has a one-line reason, which the
//! log line of a refused dial and the README show.

/// A calling code or range no broad allow pattern may reach by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HighRiskDestination {
    /// E.164 prefix: `+` and the calling code, or the code and the start of a range.
    pub prefix: &'static str,
    /// Where it is and why it is on the list.
    pub reason: &'static str,
}

const fn entry(prefix: &'static str, reason: &'static str) -> HighRiskDestination {
    HighRiskDestination { prefix, reason }
}

/// The reason for a country whose rates and fraud record put it on the list.
macro_rules! irsf {
    ($place:literal) => {
        concat!(
            $place,
            ": very high termination rates; a frequent destination of international revenue-share fraud"
        )
    };
}

/// The reason for a Caribbean NANP area code.
macro_rules! nanp_caribbean {
    ($place:literal) => {
        concat!(
            $place,
            ": dialled like a US number but billed as an international call; Caribbean +1 area codes are the usual 'one ring' callback-scam targets"
        )
    };
}

/// The reason for a global code that belongs to no country.
macro_rules! global {
    ($what:literal) => {
        concat!(
            $what,
            ": a global code with no country, charged at the highest international rates"
        )
    };
}

/// Every high-risk destination, by calling code. No entry's prefix starts another's.
pub const HIGH_RISK_DESTINATIONS: &[HighRiskDestination] = &[
    // Caribbean area codes of the North American Numbering Plan (+1).
    entry("+1242", nanp_caribbean!("Bahamas")),
    entry("+1246", nanp_caribbean!("Barbados")),
    entry("+1264", nanp_caribbean!("Anguilla")),
    entry("+1268", nanp_caribbean!("Antigua and Barbuda")),
    entry("+1284", nanp_caribbean!("British Virgin Islands")),
    entry("+1345", nanp_caribbean!("Cayman Islands")),
    entry("+1441", nanp_caribbean!("Bermuda")),
    entry("+1473", nanp_caribbean!("Grenada")),
    entry("+1649", nanp_caribbean!("Turks and Caicos Islands")),
    entry("+1658", nanp_caribbean!("Jamaica (overlay)")),
    entry("+1664", nanp_caribbean!("Montserrat")),
    entry("+1721", nanp_caribbean!("Sint Maarten")),
    entry("+1758", nanp_caribbean!("Saint Lucia")),
    entry("+1767", nanp_caribbean!("Dominica")),
    entry("+1784", nanp_caribbean!("Saint Vincent and the Grenadines")),
    entry("+1809", nanp_caribbean!("Dominican Republic")),
    entry("+1829", nanp_caribbean!("Dominican Republic")),
    entry("+1849", nanp_caribbean!("Dominican Republic")),
    entry("+1868", nanp_caribbean!("Trinidad and Tobago")),
    entry("+1869", nanp_caribbean!("Saint Kitts and Nevis")),
    entry("+1876", nanp_caribbean!("Jamaica")),
    // The Caribbean and the South Atlantic.
    entry("+53", irsf!("Cuba")),
    entry("+500", irsf!("Falkland Islands")),
    // Africa and the Indian Ocean.
    entry("+220", irsf!("Gambia")),
    entry("+224", irsf!("Guinea")),
    entry("+231", irsf!("Liberia")),
    entry("+232", irsf!("Sierra Leone")),
    entry("+235", irsf!("Chad")),
    entry("+239", irsf!("Sao Tome and Principe")),
    entry("+242", irsf!("Republic of the Congo")),
    entry("+243", irsf!("Democratic Republic of the Congo")),
    entry("+245", irsf!("Guinea-Bissau")),
    entry(
        "+246",
        irsf!("Diego Garcia (British Indian Ocean Territory)"),
    ),
    entry("+247", irsf!("Ascension Island")),
    entry("+252", irsf!("Somalia")),
    entry("+269", irsf!("Comoros")),
    entry("+290", irsf!("Saint Helena and Tristan da Cunha")),
    // The Pacific, and Antarctica.
    entry(
        "+672",
        irsf!("Norfolk Island and Australian bases in Antarctica"),
    ),
    entry("+674", irsf!("Nauru")),
    entry("+675", irsf!("Papua New Guinea")),
    entry("+676", irsf!("Tonga")),
    entry("+677", irsf!("Solomon Islands")),
    entry("+678", irsf!("Vanuatu")),
    entry("+680", irsf!("Palau")),
    entry("+681", irsf!("Wallis and Futuna")),
    entry("+682", irsf!("Cook Islands")),
    entry("+683", irsf!("Niue")),
    entry("+685", irsf!("Samoa")),
    entry("+686", irsf!("Kiribati")),
    entry("+688", irsf!("Tuvalu")),
    entry("+690", irsf!("Tokelau")),
    entry("+691", irsf!("Micronesia")),
    entry("+692", irsf!("Marshall Islands")),
    // Global codes (ITU "international networks" and services), which belong to no country.
    entry("+800", global!("Universal International Freephone Numbers")),
    entry("+808", global!("International Shared Cost Service")),
    entry("+870", global!("Inmarsat satellite phones")),
    entry("+878", global!("Universal Personal Telecommunications")),
    entry(
        "+881",
        global!("Global Mobile Satellite System (Iridium, Globalstar and others)"),
    ),
    entry(
        "+882",
        global!("International Networks (carriers without a country)"),
    ),
    entry(
        "+883",
        global!("International Networks (carriers without a country)"),
    ),
    entry("+888", global!("OCHA humanitarian telecommunications")),
    entry("+979", global!("International Premium Rate Service")),
];

/// The entry whose prefix starts `number` (`+` and digits), if any.
pub fn destination_of(number: &str) -> Option<&'static HighRiskDestination> {
    HIGH_RISK_DESTINATIONS
        .iter()
        .find(|destination| number.starts_with(destination.prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_well_formed() {
        for (i, destination) in HIGH_RISK_DESTINATIONS.iter().enumerate() {
            let digits = destination.prefix.strip_prefix('+').expect("starts with +");
            assert!(
                (2..=5).contains(&digits.len())
                    && !digits.starts_with('0')
                    && digits.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                destination.prefix
            );
            assert!(!destination.reason.is_empty());
            for other in &HIGH_RISK_DESTINATIONS[i + 1..] {
                assert!(
                    !other.prefix.starts_with(destination.prefix)
                        && !destination.prefix.starts_with(other.prefix),
                    "{} overlaps {}",
                    destination.prefix,
                    other.prefix
                );
            }
        }
    }

    /// A prefix naming more than a calling code must not cut a code in half: `+1876` is the
    /// code 1 and the area code 876, `+53` the whole code of Cuba.
    #[test]
    fn prefixes_start_with_a_known_calling_code() {
        for destination in HIGH_RISK_DESTINATIONS {
            let digits = &destination.prefix[1..];
            assert!(
                !matches!(
                    super::super::metadata::read(&format!("{digits}0000000")),
                    super::super::metadata::Reading::NoSuchCountryCode
                ),
                "{}",
                destination.prefix
            );
        }
    }
}
