//! Which direction of an asymmetric link limits: echo trains measure the narrower of the two
//! directions (the echoes cross both), a download measures the down direction alone; set side
//! by side, they tell whether the up direction (OPD to Dukcapil) is the narrower one, or the down
//! direction limits (with the up one as wide or wider, which echoes cannot bound).

use serde::Serialize;

/// TCP goodput to Ethernet frame bits, as `tbf` and the trains count (1448 payload bytes in a
/// 1514-byte frame with timestamps).
pub const FRAME_PER_GOODPUT: f64 = 1514.0 / 1448.0;

/// The two methods agree within this share: each is held to 5 % of the truth.
pub const AGREE: f64 = 0.10;

/// The narrower direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limiting {
    /// OPD to Dukcapil: the download runs clearly faster than the round trip.
    Up,
    /// Dukcapil to OPD (the up direction as wide or wider): the two agree.
    Down,
    /// The download ran clearly slower than the round trip, which cannot be (TCP did not fill
    /// the link, or the link changed between the two): no verdict.
    Undetermined,
}

/// The verdict, with both figures in frame bits per second.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub limiting: Limiting,
    /// The narrower direction's rate (the trains' figure).
    pub round_trip_bps: f64,
    /// The down direction's rate (the download's goodput as frame bits).
    pub down_bps: f64,
    /// In Indonesian, for the technician.
    pub text: String,
}

/// Compares the trains' figure (`round_trip_bps`, frame bits) with a download's TCP goodput.
#[must_use]
pub fn verdict(round_trip_bps: f64, down_goodput_bps: f64) -> Verdict {
    let down_bps = down_goodput_bps * FRAME_PER_GOODPUT;
    let ratio = down_bps / round_trip_bps.max(1.0);
    let (limiting, text) = if ratio > 1.0 + AGREE {
        (
            Limiting::Up,
            format!(
                "arah unggah (OPD ke Dukcapil) yang membatasi: ±{}; arah unduh ±{}",
                kbps(round_trip_bps),
                kbps(down_bps)
            ),
        )
    } else if ratio >= 1.0 - AGREE {
        (
            Limiting::Down,
            format!(
                "arah unduh (Dukcapil ke OPD) yang membatasi: ±{}; arah unggah sama atau lebih lebar",
                kbps(down_bps)
            ),
        )
    } else {
        (
            Limiting::Undetermined,
            format!(
                "arah pembatas tidak dapat ditentukan: unduhan ({}) lebih lambat daripada rangkaian paket ({})",
                kbps(down_bps),
                kbps(round_trip_bps)
            ),
        )
    };
    Verdict {
        limiting,
        round_trip_bps,
        down_bps,
        text,
    }
}

fn kbps(bps: f64) -> String {
    format!("{:.0} Kbps", bps / 1e3)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    /// Goodput a download reads on a link shaped to `frame_bps` down.
    fn goodput(frame_bps: f64) -> f64 {
        frame_bps / FRAME_PER_GOODPUT
    }

    #[rstest]
    #[case::up_narrower(1_000_000.0, goodput(2_000_000.0), Limiting::Up)]
    #[case::down_narrower(512_000.0, goodput(512_000.0) * 0.97, Limiting::Down)]
    #[case::symmetric(1_000_000.0, goodput(1_030_000.0), Limiting::Down)]
    #[case::just_past_agreement(1_000_000.0, goodput(1_150_000.0), Limiting::Up)]
    #[case::download_too_slow(2_000_000.0, goodput(1_000_000.0), Limiting::Undetermined)]
    fn which_direction_limits(
        #[case] round_trip: f64,
        #[case] down_goodput: f64,
        #[case] want: Limiting,
    ) {
        let v = verdict(round_trip, down_goodput);
        assert_eq!(v.limiting, want, "{}", v.text);
    }

    #[test]
    fn the_text_names_the_direction_and_both_rates() {
        let v = verdict(1_000_000.0, goodput(2_000_000.0));
        assert_eq!(
            v.text,
            "arah unggah (OPD ke Dukcapil) yang membatasi: ±1000 Kbps; arah unduh ±2000 Kbps"
        );
    }
}
