//! Bandwidth as a type: parsed from what people write ("512 Kbps", "1 Mbps", "2 Mbit/s").

use std::fmt;
use std::str::FromStr;

/// A bit rate in bits per second. Units are decimal, as providers sell them: 1 Kbps = 1,000 bit/s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bandwidth(u64);

/// Why a bandwidth string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("bandwidth is empty")]
    Empty,
    #[error("`{0}` does not start with a number")]
    NoNumber(String),
    #[error("`{unit}` is not a bandwidth unit")]
    UnknownUnit { unit: String },
    #[error("a bandwidth needs a unit, e.g. `{0} Kbps` or `{0} Mbps`")]
    MissingUnit(String),
    #[error("bandwidth must be greater than zero")]
    Zero,
    #[error("bandwidth is too large")]
    TooLarge,
}

impl ParseError {
    /// A hint for the person editing the YAML.
    pub fn hint(&self) -> &'static str {
        "write a number and a unit: bps, Kbps, Mbps or Gbps (also kbit/s, Mbit/s), e.g. `512 Kbps`"
    }
}

impl Bandwidth {
    /// A bandwidth of `bps` bits per second.
    pub const fn from_bps(bps: u64) -> Self {
        Self(bps)
    }

    /// Bits per second.
    pub const fn bps(self) -> u64 {
        self.0
    }

    /// Bytes per second, rounded down.
    pub const fn bytes_per_second(self) -> u64 {
        self.0 / 8
    }
}

fn unit_factor(unit: &str) -> Option<u64> {
    let u = unit.trim().to_ascii_lowercase().replace(' ', "");
    let factor = match u.as_str() {
        "bps" | "bit/s" | "b/s" => 1,
        "kbps" | "kbit/s" | "kb/s" | "kbit" => 1_000,
        "mbps" | "mbit/s" | "mb/s" | "mbit" => 1_000_000,
        "gbps" | "gbit/s" | "gb/s" | "gbit" => 1_000_000_000,
        _ => return None,
    };
    Some(factor)
}

impl FromStr for Bandwidth {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseError::Empty);
        }
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        // Indonesian documents write decimals with a comma ("1,5 Mbps").
        let number = number.replace(',', ".");
        if number.is_empty() {
            return Err(ParseError::NoNumber(s.to_string()));
        }
        if unit.trim().is_empty() {
            return Err(ParseError::MissingUnit(number));
        }
        let factor = unit_factor(unit).ok_or_else(|| ParseError::UnknownUnit {
            unit: unit.trim().to_string(),
        })?;
        let bps = parse_scaled(&number, factor).ok_or(ParseError::TooLarge)?;
        if bps == 0 {
            return Err(ParseError::Zero);
        }
        Ok(Self(bps))
    }
}

/// `number * factor` in exact integer arithmetic ("1.5" * 1_000_000 = 1_500_000).
fn parse_scaled(number: &str, factor: u64) -> Option<u64> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.contains('.') {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int.checked_mul(factor)?;
    let mut scale = factor;
    for digit in frac.chars() {
        scale /= 10;
        let d = u64::from(digit.to_digit(10)?);
        value = value.checked_add(d.checked_mul(scale)?)?;
    }
    Some(value)
}

impl fmt::Display for Bandwidth {
    /// The provider's way of writing it: "512 Kbps", "1 Mbps", "1.5 Mbps".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (factor, unit) = match self.0 {
            b if b >= 1_000_000_000 => (1_000_000_000, "Gbps"),
            b if b >= 1_000_000 => (1_000_000, "Mbps"),
            b if b >= 1_000 => (1_000, "Kbps"),
            _ => (1, "bps"),
        };
        let whole = self.0 / factor;
        let rest = self.0 % factor;
        if rest == 0 {
            write!(f, "{whole} {unit}")
        } else {
            let frac = format!("{:0width$}", rest, width = factor.ilog10() as usize);
            write!(f, "{whole}.{} {unit}", frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case::kbps("512 Kbps", 512_000)]
    #[case::mbps("1 Mbps", 1_000_000)]
    #[case::no_space("2Mbps", 2_000_000)]
    #[case::mbit("2 Mbit/s", 2_000_000)]
    #[case::decimal("1.5 Mbps", 1_500_000)]
    #[case::comma("1,5 Mbps", 1_500_000)]
    #[case::lower("512 kbps", 512_000)]
    #[case::gbps("1 Gbps", 1_000_000_000)]
    fn parses(#[case] input: &str, #[case] bps: u64) {
        assert_eq!(input.parse::<Bandwidth>(), Ok(Bandwidth::from_bps(bps)));
    }

    #[rstest]
    #[case::unit("512 KB", ParseError::UnknownUnit { unit: "KB".into() })]
    #[case::missing("512", ParseError::MissingUnit("512".into()))]
    #[case::empty(" ", ParseError::Empty)]
    #[case::zero("0 Mbps", ParseError::Zero)]
    #[case::words("cepat", ParseError::NoNumber("cepat".into()))]
    fn rejects(#[case] input: &str, #[case] err: ParseError) {
        assert_eq!(input.parse::<Bandwidth>(), Err(err));
    }

    #[rstest]
    #[case(512_000, "512 Kbps")]
    #[case(1_000_000, "1 Mbps")]
    #[case(1_500_000, "1.5 Mbps")]
    #[case(64_500, "64.5 Kbps")]
    fn displays(#[case] bps: u64, #[case] text: &str) {
        assert_eq!(Bandwidth::from_bps(bps).to_string(), text);
    }

    proptest! {
        #[test]
        fn display_round_trips(bps in 1u64..100_000_000_000) {
            let b = Bandwidth::from_bps(bps);
            prop_assert_eq!(b.to_string().parse::<Bandwidth>(), Ok(b));
        }
    }
}
