//! What Google's libphonenumber metadata says an E.164 number is: whether it is valid, and of
//! which type (fixed line, mobile, premium rate…).
//!
//! The metadata comes from the `phonenumber` crate, a maintained Rust port that ships Google's
//! `PhoneNumberMetadata.xml` with each release, so a renumbering anywhere in the world reaches
//! callflow with a dependency update instead of an edit to a hand-kept list. It is decoded
//! once, on the first check.
//!
//! The classification itself is done here, with the crate's patterns, for two reasons:
//!
//! - The number classified must be exactly the number Twilio will dial. The crate's parser is
//!   lenient (it strips a national prefix written after the country code), so the canonical
//!   digits are split here: the country code is the first one to three digits the metadata
//!   knows, as libphonenumber's `extractCountryCode` does, and the rest is the national number.
//! - The crate matches its patterns through one regex cache of 100 entries behind a global lock,
//!   and its `number_type` drops the leading zero of Italian fixed lines (`+39 06…` comes back
//!   as unknown). Here each calling code's patterns are compiled once, on first use, into
//!   anchored regexes that need no lock, so a check costs a few microseconds.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use phonenumber::Type;
use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::Regex;

/// How the metadata reads a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// No country or global service uses the number's calling code.
    NoSuchCountryCode,
    /// The calling code is known but no range of it holds the number.
    Invalid {
        /// Digits in the country calling code.
        code_digits: usize,
    },
    /// A valid number of this type. Never [`Type::Unknown`].
    Valid { code_digits: usize, kind: Type },
}

/// Reads `digits`, the E.164 number without its `+`.
pub fn read(digits: &str) -> Reading {
    let Some((code_digits, regions)) = (1..=3).find_map(|len| {
        let code = digits.get(..len)?.parse::<u16>().ok()?;
        CODES.get(&code).map(|regions| (len, regions))
    }) else {
        return Reading::NoSuchCountryCode;
    };
    let national = &digits[code_digits..];
    match kind_in(regions, national) {
        Type::Unknown => Reading::Invalid { code_digits },
        kind => Reading::Valid { code_digits, kind },
    }
}

/// The number's type in the region of its calling code that holds it, as libphonenumber's
/// `getRegionCodeForNumberFromRegionList` picks the region: the first whose leading digits
/// match, or (for regions without leading digits) whose patterns know the number.
fn kind_in(regions: &[Region], national: &str) -> Type {
    for region in regions {
        let patterns = region.patterns();
        match &patterns.leading_digits {
            Some(leading) if regions.len() > 1 => {
                if leading.is_match(national) {
                    return patterns.kind(national);
                }
            }
            _ => {
                let kind = patterns.kind(national);
                if kind != Type::Unknown || regions.len() == 1 {
                    return kind;
                }
            }
        }
    }
    Type::Unknown
}

/// Every calling code's regions, main country first, in the order libphonenumber tries them.
/// (By code, not by region: the global services all share the region id `001`.)
static CODES: LazyLock<HashMap<u16, Vec<Region>>> = LazyLock::new(|| {
    (1..=999)
        .filter_map(|code| {
            let regions = DATABASE.by_code(&code)?;
            let regions = regions
                .into_iter()
                .map(|metadata| Region {
                    metadata,
                    patterns: OnceLock::new(),
                })
                .collect();
            Some((code, regions))
        })
        .collect()
});

struct Region {
    metadata: &'static Metadata,
    patterns: OnceLock<Patterns>,
}

impl Region {
    fn patterns(&self) -> &Patterns {
        self.patterns
            .get_or_init(|| Patterns::compile(self.metadata))
    }
}

/// One region's patterns, compiled.
struct Patterns {
    leading_digits: Option<Regex>,
    general: Option<Pattern>,
    /// The special types in the order libphonenumber's `getNumberTypeHelper` tries them.
    special: Vec<(Type, Pattern)>,
    fixed_line: Option<Pattern>,
    mobile: Option<Pattern>,
    /// Where fixed-line and mobile numbers cannot be told apart (the NANP), both patterns are
    /// the same text.
    fixed_is_mobile: bool,
}

/// A national-number pattern and the lengths it allows.
struct Pattern {
    regex: Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn compile(descriptor: Option<&Descriptor>) -> Option<Pattern> {
        let descriptor = descriptor?;
        let regex = anchored(descriptor.national_number().as_str(), true)?;
        Some(Pattern {
            regex,
            lengths: descriptor.possible_length().to_vec(),
        })
    }

    fn is_match(&self, national: &str) -> bool {
        let length_ok = self.lengths.is_empty()
            || u16::try_from(national.len()).is_ok_and(|len| self.lengths.contains(&len));
        length_ok && self.regex.is_match(national)
    }
}

/// The metadata's pattern as a regex matching from the start (and to the end when `whole`).
/// The patterns are written with insignificant whitespace. A pattern that does not compile
/// (none does in the shipped metadata) counts as matching nothing.
fn anchored(source: &str, whole: bool) -> Option<Regex> {
    let end = if whole { "$" } else { "" };
    Regex::new(&format!("(?x)^(?:{source}){end}")).ok()
}

impl Patterns {
    fn compile(metadata: &Metadata) -> Patterns {
        let d = metadata.descriptors();
        let special = [
            (Type::PremiumRate, d.premium_rate()),
            (Type::TollFree, d.toll_free()),
            (Type::SharedCost, d.shared_cost()),
            (Type::Voip, d.voip()),
            (Type::PersonalNumber, d.personal_number()),
            (Type::Pager, d.pager()),
            (Type::Uan, d.uan()),
            (Type::Voicemail, d.voicemail()),
        ]
        .into_iter()
        .filter_map(|(kind, descriptor)| Some((kind, Pattern::compile(descriptor)?)))
        .collect();
        let source = |descriptor: Option<&Descriptor>| {
            descriptor.map(|descriptor| descriptor.national_number().as_str().to_owned())
        };
        Patterns {
            leading_digits: metadata
                .leading_digits()
                .and_then(|leading| anchored(leading.as_str(), false)),
            general: Pattern::compile(Some(d.general())),
            special,
            fixed_line: Pattern::compile(d.fixed_line()),
            mobile: Pattern::compile(d.mobile()),
            fixed_is_mobile: source(d.fixed_line()).is_some()
                && source(d.fixed_line()) == source(d.mobile()),
        }
    }

    fn kind(&self, national: &str) -> Type {
        if !self.general.as_ref().is_some_and(|p| p.is_match(national)) {
            return Type::Unknown;
        }
        if let Some((kind, _)) = self.special.iter().find(|(_, p)| p.is_match(national)) {
            return *kind;
        }
        let mobile = || self.mobile.as_ref().is_some_and(|p| p.is_match(national));
        if self
            .fixed_line
            .as_ref()
            .is_some_and(|p| p.is_match(national))
        {
            if self.fixed_is_mobile || mobile() {
                return Type::FixedLineOrMobile;
            }
            return Type::FixedLine;
        }
        if mobile() {
            return Type::Mobile;
        }
        Type::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(number: &str) -> Option<Type> {
        match read(number.strip_prefix('+').unwrap()) {
            Reading::Valid { kind, .. } => Some(kind),
            _ => None,
        }
    }

    #[test]
    fn reads_types_as_libphonenumber_does() {
        assert_eq!(kind("+12125550123"), Some(Type::FixedLineOrMobile));
        assert_eq!(kind("+19005550100"), Some(Type::PremiumRate));
        assert_eq!(kind("+15005550100"), Some(Type::PersonalNumber));
        assert_eq!(kind("+442079460018"), Some(Type::FixedLine));
        assert_eq!(kind("+447400123456"), Some(Type::Mobile));
        assert_eq!(kind("+449012345678"), Some(Type::PremiumRate));
        // Italian fixed lines keep their leading zero.
        assert_eq!(kind("+390612345678"), Some(Type::FixedLine));
        assert_eq!(kind("+393123456789"), Some(Type::Mobile));
        // A region sharing a calling code is found by its leading digits.
        assert_eq!(kind("+18765550100"), Some(Type::Mobile));
        assert_eq!(kind("+447624123456"), Some(Type::Mobile));
        assert_eq!(kind("+979123456789"), Some(Type::PremiumRate));
    }

    #[test]
    fn invalid_and_unknown_codes() {
        assert_eq!(read("14565550100"), Reading::Invalid { code_digits: 1 });
        assert_eq!(read("3701234"), Reading::Invalid { code_digits: 3 });
        assert_eq!(read("2800000000"), Reading::NoSuchCountryCode);
    }
}
