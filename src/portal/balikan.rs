//! Data balikan (return data) on the wire: the batch posted and the verdicts read back.

use serde_json::{Value, json};

use super::status::normalize;
use crate::nik::Nik;
use crate::topology::BalikanFields;

/// An aid type as the agreement names it (`PKH`, `PBI`, or what `data_balikan.aid_types`
/// declares): upper case, `A-Z 0-9 _ -`, at most [`BalikanFields::MAX_AID_LEN`] characters.
/// Whether it is one the agreement covers is the topology's to say ([`BalikanFields::aid`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct AidType(String);

impl AidType {
    /// The code, upper-cased, when it is a well-formed aid type code.
    pub fn new(s: &str) -> Option<AidType> {
        let s = s.trim().to_ascii_uppercase();
        BalikanFields::valid_aid(&s).then_some(AidType(s))
    }

    /// The code as on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AidType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
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
    /// The `param` keys the service reads (the topology's `data_balikan`).
    pub fields: BalikanFields,
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
                    "param": [
                        { self.fields.recipient_key.as_str(): r.recipient_id },
                        { self.fields.aid_key.as_str(): r.aid.as_str() },
                    ],
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
