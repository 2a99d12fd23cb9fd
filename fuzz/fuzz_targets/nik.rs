//! The NIK parser and local checker: any text in. A NIK it accepts must be exactly the 16
//! digits given, and nothing about it may leak through `Debug`, `Display` or an error.
#![no_main]

use juknis::nik::{Error, Nik, Sex};
use libfuzzer_sys::fuzz_target;

fn has_digit_run(s: &str, n: usize) -> bool {
    let mut run = 0;
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= n {
            return true;
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let trimmed = input.trim();
    match Nik::parse(input) {
        Ok(nik) => {
            // Round trip: the same 16 digits, and they parse again to the same NIK.
            let digits = nik.expose();
            assert_eq!(digits, trimmed);
            assert_eq!(digits.len(), 16);
            assert!(digits.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(Nik::parse(digits).as_ref(), Ok(&nik));
            assert_eq!(nik.as_u64(), digits.parse::<u64>().unwrap_or(u64::MAX));
            // Redacted everywhere but `expose`.
            assert!(!format!("{nik:?}{nik}").bytes().any(|b| b.is_ascii_digit()));
            // What the parser promised.
            assert!(nik.kecamatan().is_some());
            assert_eq!(nik.prefix(), &digits[..6]);
            assert!((1..=9999).contains(&nik.serial()));
            let b = nik.birth_date();
            assert!((1..=12).contains(&b.month) && (1..=31).contains(&b.day) && b.yy <= 99);
            let raw_day: u8 = digits[6..8].parse().unwrap_or(0);
            assert_eq!(nik.sex() == Sex::Female, raw_day > 40);
            let today = chrono::NaiveDate::from_ymd_opt(2026, 5, 20).unwrap_or_default();
            let born = b.resolve(today);
            assert!(born.is_some_and(|d| d <= today), "an accepted birth date resolves");
        }
        Err(e) => {
            match &e {
                Error::Length { len } => {
                    assert_eq!(*len, trimmed.chars().count());
                    assert_ne!(*len, 16);
                }
                Error::NotDigit { position } => {
                    let c = trimmed.chars().nth(position - 1);
                    assert!(c.is_some_and(|c| !c.is_ascii_digit()));
                }
                _ => assert_eq!(trimmed.len(), 16),
            }
            // An error may be logged: it must not carry the NIK.
            for msg in [e.to_string(), juknis::gate::local_reason(&e)] {
                assert!(!msg.is_empty());
                assert!(!has_digit_run(&msg, 8), "{msg}");
            }
        }
    }
});
