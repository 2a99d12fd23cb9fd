use chrono::NaiveDate;
use proptest::prelude::*;
use rstest::rstest;

use super::*;

#[rstest]
#[case::man_cileunyi("3204050101900001", Sex::Male, 1, 1, 90, 1)]
#[case::woman_day_plus_40("3204054101900002", Sex::Female, 1, 1, 90, 2)]
#[case::woman_last_day("3204057112859999", Sex::Female, 31, 12, 85, 9999)]
#[case::leap_day_2000("3204052902000001", Sex::Male, 29, 2, 0, 1)]
#[case::aceh_first_kecamatan("1101011505700003", Sex::Male, 15, 5, 70, 3)]
#[case::surrounding_space(" 3204050101900001\n", Sex::Male, 1, 1, 90, 1)]
fn valid(
    #[case] input: &str,
    #[case] sex: Sex,
    #[case] day: u8,
    #[case] month: u8,
    #[case] yy: u8,
    #[case] serial: u16,
) {
    let nik = Nik::parse(input).unwrap();
    assert_eq!(nik.sex(), sex);
    assert_eq!(nik.birth_date(), BirthDate { yy, month, day });
    assert_eq!(nik.serial(), serial);
    assert_eq!(nik.expose(), input.trim());
    assert_eq!(nik.prefix(), &input.trim()[..6]);
    assert!(nik.kecamatan().is_some());
}

#[rstest]
#[case::empty("", Error::Length { len: 0 })]
#[case::fifteen("320405010190000", Error::Length { len: 15 })]
#[case::seventeen("32040501019000011", Error::Length { len: 17 })]
#[case::letter("32040501019000O1", Error::NotDigit { position: 15 })]
#[case::dashes("3204-05-010190-0001", Error::NotDigit { position: 5 })]
#[case::unknown_province("9904050101900001", Error::UnknownRegion)]
#[case::unknown_kecamatan("3204990101900001", Error::UnknownRegion)]
#[case::day_zero("3204050001900001", Error::BirthDate { problem: DateProblem::Day })]
#[case::day_32("3204053201900001", Error::BirthDate { problem: DateProblem::Day })]
#[case::day_40("3204054001900001", Error::BirthDate { problem: DateProblem::Day })]
#[case::day_72("3204057201900001", Error::BirthDate { problem: DateProblem::Day })]
#[case::month_zero("3204050100900001", Error::BirthDate { problem: DateProblem::Month })]
#[case::month_13("3204050113900001", Error::BirthDate { problem: DateProblem::Month })]
#[case::april_31("3204053104900001", Error::BirthDate { problem: DateProblem::NoSuchDay })]
#[case::woman_feb_30("3204057002900001", Error::BirthDate { problem: DateProblem::NoSuchDay })]
#[case::feb_29_not_leap("3204052902930001", Error::BirthDate { problem: DateProblem::NoSuchDay })]
#[case::serial_zero("3204050101900000", Error::ZeroSerial)]
fn invalid(#[case] input: &str, #[case] expected: Error) {
    assert_eq!(Nik::parse(input), Err(expected));
}

#[test]
fn debug_and_display_never_show_digits() {
    let nik = Nik::parse("3204050101900001").unwrap();
    for shown in [
        format!("{nik:?}"),
        format!("{nik}"),
        format!("{:?}", Some(&nik)),
    ] {
        assert!(!shown.chars().any(|c| c.is_ascii_digit()), "{shown}");
    }
}

#[test]
fn errors_never_show_digits_of_the_input() {
    for input in ["9904050101900001", "3204053104900001", "3204050101900000"] {
        let msg = Nik::parse(input).unwrap_err().to_string();
        assert!(
            !msg.contains(&input[..6]) && !msg.contains(&input[6..12]),
            "{msg}"
        );
    }
}

#[rstest]
#[case::this_century("3204050101100001", "2010-01-01")]
#[case::last_century("3204050101900001", "1990-01-01")]
#[case::born_today("3204050106260001", "2026-06-01")]
#[case::tomorrow_is_last_century("3204050206260001", "1926-06-02")]
fn birth_date_resolves_century(#[case] input: &str, #[case] expected: &str) {
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let nik = Nik::parse(input).unwrap();
    assert_eq!(
        nik.birth_date().resolve(today).unwrap().to_string(),
        expected
    );
}

#[test]
fn region_table_is_complete() {
    assert!(region::all().len() > 7000);
    let k = region::kecamatan("320405").unwrap();
    assert_eq!(k.name, "Cileunyi");
    assert_eq!(k.regency, "KABUPATEN BANDUNG");
    assert_eq!(k.province, "JAWA BARAT");
}

fn valid_parts() -> impl Strategy<Value = (usize, u8, u8, u8, bool, u16)> {
    (
        0..region::all().len(),
        1u8..=28,
        1u8..=12,
        0u8..=99,
        any::<bool>(),
        1u16..=9999,
    )
}

proptest! {
    #[test]
    fn built_niks_parse_back((k, day, month, yy, woman, serial) in valid_parts()) {
        let code = region::all()[k].code;
        let d = if woman { day + 40 } else { day };
        let s = format!("{code}{d:02}{month:02}{yy:02}{serial:04}");
        let nik = Nik::parse(&s).unwrap();
        prop_assert_eq!(nik.expose(), s.as_str());
        prop_assert_eq!(nik.sex(), if woman { Sex::Female } else { Sex::Male });
        prop_assert_eq!(nik.birth_date(), BirthDate { yy, month, day });
        prop_assert_eq!(nik.serial(), serial);
        prop_assert_eq!(nik.as_u64(), s.parse::<u64>().unwrap());
    }

    #[test]
    fn never_panics_and_accepts_only_16_digits(s in "\\PC{0,24}") {
        if let Ok(nik) = Nik::parse(&s) {
            prop_assert_eq!(nik.expose().len(), 16);
            prop_assert!(nik.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn zero_serial_always_refused((k, day, month, yy, _w, _s) in valid_parts()) {
        let code = region::all()[k].code;
        let s = format!("{code}{day:02}{month:02}{yy:02}0000");
        prop_assert_eq!(Nik::parse(&s), Err(Error::ZeroSerial));
    }
}
