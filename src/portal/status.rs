//! Statuses of a Dukcapil answer and their Indonesian messages (DESIGN.md's table).

use serde::Serialize;

/// What a Dukcapil answer means. The first ten variants and their messages are DESIGN.md's table;
/// the rest are the other codes of the wire table. An answer that matches nothing known is
/// [`Status::Unknown`], carried with its text, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 01: data found.
    Found,
    /// 11: the person is deceased.
    Deceased,
    /// 12: duplicate record.
    Duplicate,
    /// 13: NIK not in the population database.
    NotFound,
    /// 14: status non-active.
    Inactive,
    /// 15: NIK not in Dukcapil format.
    InvalidFormat,
    /// 03: login failed.
    LoginFailed,
    /// 05: daily quota reached.
    QuotaExhausted,
    /// 16: agency inactive.
    AgencyInactive,
    /// 17: user ID inactive.
    UserInactive,
    /// 04: the calling IP is not the one registered for the user.
    WrongIp,
    /// 06: outside the permitted access hours.
    OutsideHours,
    /// 07: incomplete parameters.
    IncompleteParameters,
    /// 08: the NIK could not be processed.
    Unprocessable,
    /// 09: user, password or IP empty.
    CredentialsEmpty,
    /// 10: invalid IP.
    InvalidIp,
    /// Anything else, reported as received.
    Unknown {
        /// `RESPONSE_CODE` as received, if any.
        code: Option<String>,
        /// `RESPON` as received (empty when absent).
        text: String,
    },
}

/// Every known status with its wire code, snake_case name and message, in wire-code order.
const TABLE: &[(Status, u8, &str, &str)] = &[
    (Status::Found, 1, "found", "Data Ditemukan"),
    (Status::LoginFailed, 3, "login_failed", "Gagal Login"),
    (
        Status::WrongIp,
        4,
        "wrong_ip",
        "IP tidak sesuai dengan yang terdaftar untuk User ID ini",
    ),
    (
        Status::QuotaExhausted,
        5,
        "quota_exhausted",
        "Kuota akses hari ini telah habis",
    ),
    (
        Status::OutsideHours,
        6,
        "outside_hours",
        "Di luar jam akses yang diizinkan",
    ),
    (
        Status::IncompleteParameters,
        7,
        "incomplete_parameters",
        "Parameter tidak lengkap",
    ),
    (
        Status::Unprocessable,
        8,
        "unprocessable",
        "NIK tidak dapat diproses, silahkan hubungi Dinas Dukcapil",
    ),
    (
        Status::CredentialsEmpty,
        9,
        "credentials_empty",
        "User ID, password atau IP tidak boleh kosong",
    ),
    (Status::InvalidIp, 10, "invalid_ip", "IP tidak valid"),
    (
        Status::Deceased,
        11,
        "deceased",
        "Data Ditemukan, Meninggal Dunia",
    ),
    (
        Status::Duplicate,
        12,
        "duplicate",
        "Data Ditemukan, Data Ganda",
    ),
    (
        Status::NotFound,
        13,
        "not_found",
        "Data tidak ditemukan, NIK tidak terdapat di database kependudukan",
    ),
    (
        Status::Inactive,
        14,
        "inactive",
        "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil",
    ),
    (
        Status::InvalidFormat,
        15,
        "invalid_format",
        "Data tidak ditemukan, NIK tidak sesuai format Dukcapil",
    ),
    (
        Status::AgencyInactive,
        16,
        "agency_inactive",
        "Instansi tidak aktif",
    ),
    (
        Status::UserInactive,
        17,
        "user_inactive",
        "User ID non aktif, silahkan menghubungi Admin",
    ),
];

/// Other `RESPON` texts seen for the same statuses, besides each status' own message.
const ALIASES: &[(&str, Status)] = &[
    ("Login Gagal", Status::LoginFailed),
    ("Data Tidak Ditemukan", Status::NotFound),
    ("Data Ditemukan, Status Non Aktif", Status::Inactive),
    ("Kuota akses telah habis", Status::QuotaExhausted),
    ("User ID non aktif", Status::UserInactive),
    ("NIK tidak sesuai format Dukcapil", Status::InvalidFormat),
];

/// Lower case with every white space removed: how `RESPON` texts are compared.
pub(crate) fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Status {
    /// Every known status (not `Unknown`), in wire-code order.
    pub fn known() -> impl Iterator<Item = Status> {
        TABLE.iter().map(|(s, ..)| s.clone())
    }

    fn entry(&self) -> Option<&'static (Status, u8, &'static str, &'static str)> {
        TABLE.iter().find(|(s, ..)| s == self)
    }

    /// Stable snake_case name (`found`, `not_found`, ..., `unknown`).
    pub fn as_str(&self) -> &'static str {
        self.entry().map_or("unknown", |e| e.2)
    }

    /// The message shown to the operator; for `Unknown`, the text as received.
    pub fn message(&self) -> &str {
        match self {
            Status::Unknown { text, .. } => text,
            known => known.entry().map_or("", |e| e.3),
        }
    }

    /// The wire `RESPONSE_CODE` (1 for found, 13 for not found, ...), `None` for `Unknown`.
    pub fn code(&self) -> Option<u8> {
        self.entry().map(|e| e.1)
    }

    /// The status of a `RESPONSE_CODE`; `text` is kept when the code is not known.
    pub fn from_code(code: u64, text: &str) -> Status {
        TABLE
            .iter()
            .find(|(_, c, ..)| u64::from(*c) == code)
            .map_or_else(
                || Status::Unknown {
                    code: Some(format!("{code:02}")),
                    text: text.to_owned(),
                },
                |e| e.0.clone(),
            )
    }

    /// The status of a `RESPON` text, compared without regard to case and white space.
    pub fn from_text(text: &str) -> Status {
        let n = normalize(text);
        TABLE
            .iter()
            .map(|(s, _, _, msg)| (*msg, s))
            .chain(ALIASES.iter().map(|(msg, s)| (*msg, s)))
            .find(|(msg, _)| normalize(msg) == n)
            .map_or_else(
                || Status::Unknown {
                    code: None,
                    text: text.to_owned(),
                },
                |(_, s)| s.clone(),
            )
    }

    /// Whether the answer counts as the person being known to Dukcapil with data returned.
    pub fn is_found(&self) -> bool {
        matches!(self, Status::Found)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}
