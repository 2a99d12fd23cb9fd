//! The service flow of Lampiran II as data: the questions the NIK gateway asks of every
//! look-up, in the order it asks them. The gate takes its decisions in this order and the
//! chart draws them from this list, so the two cannot drift apart (tests/gate_rules.rs ties
//! the gate's behaviour to it). Pure core: no IO, no other juknis module.

/// One of the gate's decisions, in the order it takes them (Lampiran II draws the same list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// A short id (also the node id in Lampiran II's chart).
    pub id: &'static str,
    /// The question, in Bahasa Indonesia, as the flowchart asks it.
    pub question: &'static str,
}

/// The gate's decisions before a look-up is forwarded, in order. `gate::Gate::ask` takes them
/// in exactly this order (tests/gate_rules.rs checks each neighbouring pair).
pub const DECISIONS: [Decision; 8] = [
    Decision {
        id: "auth",
        question: "Identitas sah? (akun operator ber-NDA / token aplikasi terdaftar)",
    },
    Decision {
        id: "nik",
        question: "Format NIK sah? (16 digit, kode wilayah, tanggal lahir)",
    },
    Decision {
        id: "purpose",
        question: "Tujuan pemanfaatan tercantum dalam PKS? Pengguna akhir disebut (bila diwajibkan PKS)?",
    },
    Decision {
        id: "agreement",
        question: "PKS masih berlaku?",
    },
    Decision {
        id: "poc",
        question: "Aplikasi telah lulus PoC (atau masih dalam kuota PoC)?",
    },
    Decision {
        id: "pattern",
        question: "Tidak berurutan, tidak berpola, tidak berdekatan? (per pemohon dan seluruh User ID)",
    },
    Decision {
        id: "health",
        question: "Jalur ke Web Portal sehat?",
    },
    Decision {
        id: "quota",
        question: "Kuota harian tersedia?",
    },
];
