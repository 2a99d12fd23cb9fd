//! Readable units in hand-edited YAML: durations (`500ms`, `5m`) and byte sizes (`64 KiB`).
//! Pure text parsing, shared by the topology and the probe profiles (which depend on the
//! topology, never the reverse).

use std::time::Duration;

/// Parses `250us`, `500ms`, `5s`, `1.5s`, `2m`, `1h`.
#[must_use]
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(n * scale).ok()
}

/// Parses `1400`, `1400 B`, `64 KiB`, `2 MB`, `1 MiB`, `1 GB`.
#[must_use]
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "kB" | "KB" => 1e3,
        "KiB" => 1024.0,
        "MB" => 1e6,
        "MiB" => 1024.0 * 1024.0,
        "GB" => 1e9,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let v = n * scale;
    (0.0..1e18).contains(&v).then_some(v.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("500ms", Some(Duration::from_millis(500)))]
    #[case("5s", Some(Duration::from_secs(5)))]
    #[case("1.5s", Some(Duration::from_millis(1500)))]
    #[case("2m", Some(Duration::from_secs(120)))]
    #[case("1h", Some(Duration::from_secs(3600)))]
    #[case("250us", Some(Duration::from_micros(250)))]
    #[case("5", None)]
    #[case("5 parsecs", None)]
    #[case("", None)]
    fn durations(#[case] text: &str, #[case] want: Option<Duration>) {
        assert_eq!(parse_duration(text), want);
    }

    #[rstest]
    #[case("1400", Some(1400))]
    #[case("64 KiB", Some(65536))]
    #[case("2 MB", Some(2_000_000))]
    #[case("1MiB", Some(1_048_576))]
    #[case("3 furlongs", None)]
    fn byte_sizes(#[case] text: &str, #[case] want: Option<u64>) {
        assert_eq!(parse_bytes(text), want);
    }
}
