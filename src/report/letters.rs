//! The letters the Juknis asks the OPD to write, drafted from the agreement in the topology as
//! the kajian teknis' cover letter is: what the appliance knows (the parties, the PKS numbers
//! and dates, the access method, the elements, the card readers) is filled in; what only the
//! OPD knows (the letter's number, the names of new officials, the new User ID holder's data)
//! is a dotted line to complete. Each letter names the Juknis item that asks for it.
//!
//! Pure: a topology and a date in, a [`Document`] out (HTML, DOCX or PDF by `doc`).

use chrono::NaiveDate;

use super::calendar::date_long;
use crate::doc::{Block, Document, Inline, Table};
use crate::topology::{NodeKind, Party, Topology, ZoneKind};

/// Which letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Letter {
    /// Permohonan perpanjangan PKS (Juknis VI.F-G), two months before its end at the latest.
    Perpanjangan,
    /// Permohonan perubahan User ID, with the form's seven items (II.A.3).
    UserId,
    /// Permohonan perubahan metode akses dan elemen data (II.C.3).
    MetodeAkses,
    /// Pemberitahuan pergantian pemangku jabatan or organisation (VI.H).
    Pejabat,
    /// BAST pengembalian kartu SAM dan penonaktifan Card Reader (IV.I).
    Sam,
}

impl Letter {
    /// Every letter, in the order the Dokumen page lists them.
    pub const ALL: [Letter; 5] = [
        Letter::Perpanjangan,
        Letter::UserId,
        Letter::MetodeAkses,
        Letter::Pejabat,
        Letter::Sam,
    ];

    /// The name on the command line and in file names.
    pub fn key(self) -> &'static str {
        match self {
            Letter::Perpanjangan => "perpanjangan",
            Letter::UserId => "user-id",
            Letter::MetodeAkses => "metode-akses",
            Letter::Pejabat => "pejabat",
            Letter::Sam => "sam",
        }
    }

    /// What the letter is about (its "Perihal").
    pub fn subject(self) -> &'static str {
        match self {
            Letter::Perpanjangan => "Permohonan Perpanjangan Perjanjian Kerja Sama",
            Letter::UserId => "Permohonan Perubahan User ID Akses Data Kependudukan",
            Letter::MetodeAkses => "Permohonan Perubahan Metode Akses dan Elemen Data",
            Letter::Pejabat => "Pemberitahuan Pergantian Pemangku Jabatan",
            Letter::Sam => {
                "Berita Acara Serah Terima Pengembalian Kartu SAM dan Penonaktifan Card Reader"
            }
        }
    }

    /// The Juknis item that asks for it.
    pub fn item(self) -> &'static str {
        match self {
            Letter::Perpanjangan => "VI.F dan VI.G",
            Letter::UserId => "II.A.3",
            Letter::MetodeAkses => "II.C.3",
            Letter::Pejabat => "VI.H",
            Letter::Sam => "IV.I",
        }
    }
}

/// Why a letter cannot be drafted from this topology.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(
        "the topology shows no KTP-el card reader (a node of kind card_reader): there is no SAM card to return"
    )]
    NoCardReader,
}

const DOTS: &str = "....................";

/// What the form of a User ID change holds (Juknis II.A.3.a, its seven items).
pub const USER_ID_FORM: [&str; 7] = [
    "Nomor Induk Kependudukan",
    "Nama Lengkap",
    "Nomor Identitas Kepegawaian",
    "Status Kepegawaian",
    "Jabatan",
    "Kode Wilayah Kantor",
    "Nama dan Alamat Kantor",
];

fn para(parts: Vec<Inline>) -> Block {
    Block::Paragraph(parts)
}

/// A table with these column heads, left-aligned, for the OPD to complete.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table(Table {
        caption: String::new(),
        header: header.iter().map(|h| (*h).to_owned()).collect(),
        rows,
        align: Vec::new(),
    })
}

fn pks(t: &Topology) -> String {
    let a = &t.agreement;
    let mut s = match (&a.pks_dukcapil, &a.pks_opd) {
        (Some(d), Some(o)) => format!("Nomor {d} dan Nomor {o}"),
        (Some(n), None) | (None, Some(n)) => format!("Nomor {n}"),
        (None, None) => format!("Nomor {DOTS}"),
    };
    if let Some(d) = &a.pks_date {
        match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => s.push_str(&format!(" tanggal {}", date_long(d))),
            Err(_) => s.push_str(&format!(" tanggal {d}")),
        }
    }
    s
}

fn place(t: &Topology) -> String {
    let a = &t.agreement;
    match a
        .opd
        .split_once("Kabupaten ")
        .or_else(|| a.opd.split_once("Kota "))
    {
        Some((_, p)) if !p.trim().is_empty() => p.trim().to_owned(),
        _ => "..........".into(),
    }
}

fn zone_name(t: &Topology, kind: ZoneKind, or: &str) -> String {
    t.zones
        .iter()
        .find(|z| z.kind == kind)
        .map_or_else(|| or.to_owned(), |z| z.name.clone())
}

/// The letter's head: letterhead, place and date, number, subject, addressee.
fn head(b: &mut Vec<Block>, t: &Topology, letter: Letter, to: &str, attachments: &str) {
    b.push(para(vec![Inline::Bold(format!(
        "[KOP SURAT {}]",
        t.agreement.opd.to_uppercase()
    ))]));
    b.push(Block::text(format!("{}, {DOTS}", place(t))));
    for (k, v) in [
        ("Nomor", "....../....../....../...."),
        ("Sifat", "Biasa"),
        ("Lampiran", attachments),
        ("Perihal", letter.subject()),
    ] {
        b.push(para(vec![Inline::Text(format!("{k}: {v}"))]));
    }
    b.push(Block::text(format!("Yth. {to}")));
    b.push(Block::text("di"));
    b.push(Block::text("Tempat"));
}

fn closing(b: &mut Vec<Block>, t: &Topology, copies: &[String]) {
    b.push(Block::text(
        "Demikian surat ini kami sampaikan. Atas perhatian dan kerja samanya, kami ucapkan terima kasih.",
    ));
    b.push(Block::Signature {
        place_date: format!("{}, {DOTS}", place(t)),
        role: format!("Kepala {}", t.agreement.opd),
        name: "(Nama Lengkap)".into(),
        id: format!("NIP. {DOTS}"),
    });
    if !copies.is_empty() {
        b.push(Block::text("Tembusan:"));
        b.push(Block::List {
            ordered: true,
            items: copies
                .iter()
                .map(|c| vec![Inline::Text(c.clone())])
                .chain(std::iter::once(vec![Inline::Text("Arsip.".into())]))
                .collect(),
        });
    }
}

/// Draft `letter` from `t`'s agreement, dated `today` (WIB).
pub fn draft(t: &Topology, letter: Letter, today: NaiveDate) -> Result<Document, Error> {
    let a = &t.agreement;
    let dukcapil = a.dukcapil.clone();
    let ditjen = "Direktur Jenderal Kependudukan dan Pencatatan Sipil Kementerian Dalam Negeri";
    let mut b = Vec::new();
    let mut cover = vec![
        ("OPD/Lembaga Pengguna".to_owned(), a.opd.clone()),
        ("Perjanjian Kerja Sama".to_owned(), pks(t)),
        (
            "Dasar".to_owned(),
            format!("Juknis Web Portal {}", letter.item()),
        ),
        ("Draf disusun".to_owned(), date_long(today)),
    ];
    match letter {
        Letter::Perpanjangan => {
            let end = a.end.map_or_else(|| DOTS.to_owned(), date_long);
            if let Some(e) = a.end {
                let due = e
                    .checked_sub_months(chrono::Months::new(2))
                    .map_or_else(|| DOTS.to_owned(), date_long);
                cover.push(("PKS berakhir".into(), date_long(e)));
                cover.push(("Diajukan paling lambat".into(), due));
            }
            head(
                &mut b,
                t,
                letter,
                &format!("{ditjen}\nmelalui Kepala {dukcapil}"),
                "-",
            );
            b.push(Block::text(format!(
                "Berdasarkan Perjanjian Kerja Sama {} tentang Pemanfaatan Nomor Induk Kependudukan, Data Kependudukan dan KTP-el antara {dukcapil} dengan {} yang berlaku{} sampai dengan {end}, serta Petunjuk Teknis Web Portal Bagian VI.F, bersama ini kami mengajukan permohonan perpanjangan Perjanjian Kerja Sama tersebut.",
                pks(t),
                a.opd,
                a.start.map_or(String::new(), |s| format!(" sejak {}", date_long(s))),
            )));
            b.push(Block::text(format!(
                "Pemanfaatan data kependudukan tetap untuk tujuan {}, melalui metode akses Web Portal, dengan elemen data sebagaimana tercantum dalam Perjanjian Kerja Sama. Kami mohon kiranya dapat diterbitkan draf adendum perpanjangan sebagaimana Petunjuk Teknis Bagian VI.G.",
                purposes(t)
            )));
            closing(&mut b, t, &[format!("Kepala {dukcapil};")]);
        }
        Letter::UserId => {
            head(
                &mut b,
                t,
                letter,
                &format!("Kepala {dukcapil}"),
                "1 (satu) berkas formulir permohonan perubahan User ID",
            );
            b.push(Block::text(format!(
                "Berdasarkan Perjanjian Kerja Sama {} dan Petunjuk Teknis Web Portal Bagian II.A.3, bersama ini kami mengajukan permohonan perubahan User ID akses data kependudukan {} dengan alasan {DOTS}.",
                pks(t),
                a.opd
            )));
            b.push(Block::text(format!(
                "Kepala {} tetap bertanggung jawab penuh atas penggunaan User ID tersebut (Petunjuk Teknis II.A.2). Data calon pemegang User ID kami sampaikan dalam formulir terlampir. Kami mohon Berita Acara Serah Terima perubahan User ID dan Password dapat disampaikan kepada kami.",
                a.opd
            )));
            closing(&mut b, t, &[]);
            b.push(Block::PageBreak);
            b.push(Block::heading(1, "FORMULIR PERMOHONAN PERUBAHAN USER ID"));
            b.push(table(
                &["No", "Data", "Isian"],
                USER_ID_FORM
                    .iter()
                    .enumerate()
                    .map(|(i, d)| vec![format!("{})", i + 1), (*d).to_owned(), DOTS.to_owned()])
                    .collect(),
            ));
            b.push(Block::text(
                "Catatan: isian ini memuat data pribadi calon pemegang User ID; simpan dan kirim hanya melalui jalur resmi. Perangkat juknis tidak menyimpannya.",
            ));
        }
        Letter::MetodeAkses => {
            head(
                &mut b,
                t,
                letter,
                &format!("{ditjen}\nmelalui Kepala {dukcapil}"),
                "1 (satu) berkas kajian teknis",
            );
            let elements: Vec<String> = a.elements.iter().map(|e| e.label().to_owned()).collect();
            b.push(Block::text(format!(
                "Berdasarkan Perjanjian Kerja Sama {} dan Petunjuk Teknis Web Portal Bagian II.C.3, bersama ini kami mengajukan permohonan perubahan metode akses dan/atau elemen data kependudukan.",
                pks(t)
            )));
            b.push(table(
                &["", "Saat ini", "Diusulkan"],
                vec![
                    vec!["Metode akses".into(), "Web Portal".into(), DOTS.into()],
                    vec![
                        "Elemen data".into(),
                        if elements.is_empty() {
                            "sesuai PKS".into()
                        } else {
                            elements.join(", ")
                        },
                        DOTS.into(),
                    ],
                    vec!["Tujuan pemanfaatan".into(), purposes(t), DOTS.into()],
                ],
            ));
            b.push(Block::text(
                "Kajian teknis terhadap perubahan metode akses maupun elemen data yang dibutuhkan kami lampirkan. Apabila permohonan ini disetujui, kami siap menindaklanjuti dengan Adendum Perjanjian Kerja Sama (Petunjuk Teknis II.C.3.c).",
            ));
            closing(&mut b, t, &[format!("Kepala {dukcapil};")]);
        }
        Letter::Pejabat => {
            head(
                &mut b,
                t,
                letter,
                &format!(
                    "{ditjen}\nJalan Raya Pasar Minggu Km. 19 Jakarta\nmelalui Kepala {dukcapil}"
                ),
                "1 (satu) berkas salinan keputusan pengangkatan",
            );
            b.push(Block::text(format!(
                "Berdasarkan Perjanjian Kerja Sama {} dan Petunjuk Teknis Web Portal Bagian VI.H, bersama ini kami memberitahukan pergantian pemangku jabatan dan/atau perubahan struktur organisasi {} sebagai berikut:",
                pks(t),
                a.opd
            )));
            b.push(table(
                &["Jabatan", "Pejabat lama", "Pejabat baru", "Berlaku sejak"],
                vec![
                    vec![
                        format!("Kepala {}", a.opd),
                        DOTS.into(),
                        DOTS.into(),
                        DOTS.into(),
                    ],
                    vec![
                        "Pejabat yang ditunjuk".into(),
                        DOTS.into(),
                        DOTS.into(),
                        DOTS.into(),
                    ],
                ],
            ));
            let ours: Vec<String> = a
                .contacts
                .iter()
                .filter(|c| c.party == Party::Opd)
                .map(|c| match &c.phone {
                    Some(p) => format!("{} ({p})", c.name),
                    None => c.name.clone(),
                })
                .collect();
            b.push(Block::text(format!(
                "Penanggung jawab User ID beralih kepada pejabat baru (Petunjuk Teknis II.A.2); Surat Pernyataan Tanggung Jawab Mutlak (SPTJM) pejabat baru akan kami sampaikan (VI.D). Kontak teknis kami: {}.",
                if ours.is_empty() {
                    DOTS.to_owned()
                } else {
                    ours.join(", ")
                }
            )));
            closing(&mut b, t, &[format!("Kepala {dukcapil};")]);
        }
        Letter::Sam => {
            let readers: Vec<String> = t
                .nodes
                .iter()
                .filter(|n| n.kind == NodeKind::CardReader)
                .map(|n| n.name.clone())
                .collect();
            if readers.is_empty() {
                return Err(Error::NoCardReader);
            }
            b.push(para(vec![Inline::Bold(format!(
                "[KOP SURAT {}]",
                a.opd.to_uppercase()
            ))]));
            b.push(Block::heading(1, letter.subject().to_uppercase()));
            b.push(Block::text(format!("Nomor: {DOTS}")));
            b.push(Block::text(format!(
                "Pada hari ini {DOTS} tanggal {DOTS}, yang bertanda tangan di bawah ini, Kepala {} (PIHAK PERTAMA), menyerahkan kepada {} (PIHAK KEDUA) kartu Secure Access Module (SAM) yang telah dilepas dari Perangkat Pembaca (Card Reader) KTP-el berikut, yang selanjutnya dinonaktifkan, karena Perjanjian Kerja Sama {} berakhir dan tidak diperpanjang (Petunjuk Teknis IV.H dan IV.I):",
                a.opd,
                a.dukcapil,
                pks(t)
            )));
            b.push(table(
                &[
                    "No",
                    "Perangkat Pembaca (Card Reader)",
                    "Nomor seri",
                    "Nomor kartu SAM",
                ],
                readers
                    .iter()
                    .enumerate()
                    .map(|(i, r)| vec![(i + 1).to_string(), r.clone(), DOTS.into(), DOTS.into()])
                    .collect(),
            ));
            b.push(Block::text(format!(
                "Kartu SAM beserta berita acara ini dikirimkan ke {} (Up. Subdit Keamanan Informasi, Dit FPD2K).",
                a.dukcapil
            )));
            b.push(Block::Signature {
                place_date: format!("{}, {DOTS}", place(t)),
                role: format!("PIHAK PERTAMA, Kepala {}", a.opd),
                name: "(Nama Lengkap)".into(),
                id: format!("NIP. {DOTS}"),
            });
            b.push(Block::Signature {
                place_date: String::new(),
                role: format!("PIHAK KEDUA, {}", a.dukcapil),
                name: "(Nama Lengkap)".into(),
                id: format!("NIP. {DOTS}"),
            });
        }
    }
    Ok(Document {
        title: format!("Draf {}", letter.subject()),
        subtitle: Some(a.opd.clone()),
        cover,
        blocks: b,
        footer: Some(format!(
            "Draf {} – Juknis Web Portal {} – {}",
            letter.subject(),
            letter.item(),
            zone_name(t, ZoneKind::Opd, &a.opd)
        )),
    })
}

fn purposes(t: &Topology) -> String {
    let a = &t.agreement;
    if a.purposes.is_empty() {
        return a.purpose.clone();
    }
    a.purposes
        .iter()
        .map(|p| p.text.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bandung() -> Topology {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::topology::load(&root.join("topology/bandung.yaml")).expect("bandung")
    }

    fn text(d: &Document) -> String {
        String::from_utf8(d.render(crate::doc::Format::Html).expect("html")).expect("utf-8")
    }

    #[test]
    fn every_letter_carries_the_agreement_and_names_its_juknis_item() {
        let t = bandung();
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        for l in Letter::ALL {
            let d = draft(&t, l, today).expect("drafted");
            let h = text(&d);
            assert!(h.contains("470/001/PKS/Disdukcapil/2025"), "{l:?}");
            assert!(h.contains("Dinas Sosial Kabupaten Bandung"), "{l:?}");
            assert!(h.contains(l.item()), "{l:?}");
            assert!(h.contains(l.subject()), "{l:?}");
        }
    }

    #[test]
    fn each_letter_holds_what_its_item_asks() {
        let t = bandung();
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        let h = |l| text(&draft(&t, l, today).expect("drafted"));
        // VI.F: two months before the end (2030-06-01).
        let renewal = h(Letter::Perpanjangan);
        assert!(renewal.contains("1 Juni 2030"), "{renewal}");
        assert!(renewal.contains("1 April 2030"), "the deadline: {renewal}");
        assert!(
            renewal.contains("Direktur Jenderal"),
            "to the Dirjen: {renewal}"
        );
        // II.A.3: the form's seven items.
        let user = h(Letter::UserId);
        for item in USER_ID_FORM {
            assert!(user.contains(&format!(">{item}</td>")), "{item}");
        }
        // II.C.3: today's method and elements beside the proposal, and the addendum.
        let method = h(Letter::MetodeAkses);
        assert!(
            method.contains("Web Portal") && method.contains("Nomor KK"),
            "{method}"
        );
        assert!(method.contains("Adendum"), "{method}");
        // VI.H: to the Ditjen's address.
        assert!(h(Letter::Pejabat).contains("Jalan Raya Pasar Minggu Km. 19 Jakarta"));
        // IV.I: the topology's card reader, sent to Subdit Keamanan Informasi.
        let sam = h(Letter::Sam);
        assert!(sam.contains("Card Reader KTP-el") && sam.contains("Subdit Keamanan Informasi"));
    }

    #[test]
    fn no_card_reader_no_sam_letter() {
        let mut t = bandung();
        t.nodes.retain(|n| n.kind != NodeKind::CardReader);
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        assert_eq!(
            draft(&t, Letter::Sam, today).err(),
            Some(Error::NoCardReader)
        );
    }
}
