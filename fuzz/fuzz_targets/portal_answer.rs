//! The parser of the Dukcapil Web Portal's answer body. The first two bytes choose which of the
//! nine elements the agreement allows; the rest is the body. Whatever the portal (or something
//! pretending to be it) sends: an answer or `Malformed`, never a panic, never a record holding
//! an element the agreement does not grant, and never a NIK in an error message.
#![no_main]

use juknis::portal::answer::{self, Element, Elements};
use juknis::portal::Status;
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
    let (mask, body) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => return,
    };
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    let allowed: Vec<Element> = Element::NINE
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, e)| *e)
        .collect();
    let elements = Elements::of(&allowed);
    match answer::parse(body, elements) {
        Ok(p) => {
            assert_eq!(p.record.is_some(), p.status == Status::Found);
            if let Some(r) = &p.record {
                let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
                let grant = |e: Element| elements.contains(e);
                assert_eq!(r.nik.is_some(), grant(Element::Nik));
                if let Some(nik) = &r.nik {
                    assert!(nik.len() == 16 && digits(nik), "a NIK is 16 digits");
                }
                if let Some(kk) = &r.nomor_kk {
                    assert!(kk.len() == 16 && digits(kk), "a Nomor KK is 16 digits");
                }
                let pairs = [
                    (r.nomor_kk.is_some(), Element::NomorKk),
                    (r.nama_lengkap.is_some(), Element::NamaLengkap),
                    (r.jenis_kelamin.is_some(), Element::JenisKelamin),
                    (r.tempat_lahir.is_some(), Element::TempatLahir),
                    (r.tanggal_lahir.is_some(), Element::TanggalLahir),
                    (r.status_perkawinan.is_some(), Element::StatusPerkawinan),
                    (r.jenis_pekerjaan.is_some(), Element::JenisPekerjaan),
                    (r.alamat.is_some(), Element::Alamat),
                ];
                for (present, e) in pairs {
                    assert!(!present || grant(e), "{e:?} is not granted but was kept");
                }
                if let Some(a) = &r.alamat {
                    let k = &a.kode_desa_kelurahan;
                    assert!(k.is_empty() || (k.len() == 4 && digits(k)), "NO_KEL is 4 digits");
                    let c = a.kode_kecamatan.as_bytes();
                    let pp_kk_cc = c.len() == 8
                        && c.iter().enumerate().all(|(i, b)| {
                            if i % 3 == 2 { *b == b'.' } else { b.is_ascii_digit() }
                        });
                    assert!(c.is_empty() || pp_kk_cc, "kode kecamatan is PP.KK.CC");
                }
                // Debug is redacted: population data never reaches a log line.
                assert!(!format!("{r:?}").bytes().any(|b| b.is_ascii_digit()));
                let _ = serde_json::to_string(r);
            }
            let _ = (p.status.as_str(), p.status.message());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!has_digit_run(&msg, 8), "an error shows no NIK: {msg}");
        }
    }
});
