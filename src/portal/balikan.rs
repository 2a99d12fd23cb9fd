//! Data balikan (return data) on the wire: the batch posted and the verdicts read back.

use serde_json::{Value, json};

use super::status::normalize;
use crate::nik::Nik;

/// Key of the aid recipient id in a record's `param` list.
pub const KEY_RECIPIENT: &str = "ID_PENERIMA";
/// Key of the aid type in a record's `param` list.
pub const KEY_AID: &str = "JENIS_BANTUAN";

/// The aid a recipient gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AidType {
    /// Program Keluarga Harapan.
    Pkh,
    /// Penerima Bantuan Iuran (health insurance contribution).
    Pbi,
}

impl AidType {
    /// `PKH` or `PBI`, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AidType::Pkh => "PKH",
            AidType::Pbi => "PBI",
        }
    }

    /// Parse `PKH`/`PBI`, any case.
    pub fn parse(s: &str) -> Option<AidType> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PKH" => Some(AidType::Pkh),
            "PBI" => Some(AidType::Pbi),
            _ => None,
        }
    }
}

/// One return-data record: who received which aid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalikanRecord {
    /// The recipient's NIK.
    pub nik: Nik,
    /// The aid programme's recipient id.
    pub recipient_id: String,
    /// The aid type.
    pub aid: AidType,
}

/// One post to the data balikan service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalikanBatch {
    /// `id_lembaga`: the sending agency's id.
    pub id_lembaga: String,
    /// `nama_lembaga`: the sending agency's name.
    pub nama_lembaga: String,
    /// The records.
    pub records: Vec<BalikanRecord>,
}

impl BalikanBatch {
    /// The JSON of DUKCAPIL_WIRE.md: a list holding one agency object.
    pub fn to_wire(&self) -> Value {
        let data: Vec<Value> = self
            .records
            .iter()
            .map(|r| {
                json!({
                    "NIK": r.nik.expose(),
                    "param": [{ KEY_RECIPIENT: r.recipient_id }, { KEY_AID: r.aid.as_str() }],
                })
            })
            .collect();
        json!([{ "id_lembaga": self.id_lembaga, "nama_lembaga": self.nama_lembaga, "data": data }])
    }
}

/// The service's verdict on a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalikanOutcome {
    /// `200 {"message":"Success"}`.
    Delivered,
    /// `400 {"message":"Data sudah pernah dikirim"}`: already held, so delivered before.
    AlreadySent,
    /// Any other verdict, with the HTTP status and the message (or body start).
    Rejected {
        /// HTTP status.
        status: u16,
        /// `message` of the body, or the start of the body.
        text: String,
    },
}

/// The verdict of a (non-5xx) answer.
pub(crate) fn outcome(status: u16, body: &str) -> BalikanOutcome {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned));
    let text = message.unwrap_or_else(|| super::answer::shown(body));
    let n = normalize(&text);
    match status {
        200 if n == normalize("Success") => BalikanOutcome::Delivered,
        400 if n == normalize("Data sudah pernah dikirim") => BalikanOutcome::AlreadySent,
        _ => BalikanOutcome::Rejected { status, text },
    }
}
