//! The simulator's wire endpoints: look-ups (both path variants) and data balikan.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::population::{Person, State as PersonState};
use super::{AccountState, Shared};
use crate::portal::Status;

/// The variant a look-up came in by: only the central gateway sends `RESPONSE_CODE` and
/// `quotaLimiter`, as the newer gateway does; the regional node answers with `RESPON` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    Regional,
    Central,
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

fn spring_page(record: Value, quota_left: Option<u64>) -> Value {
    let mut page = json!({
        "content": [record], "lastPage": true, "numberOfElements": 1, "sort": null,
        "totalElements": 1, "firstPage": true, "number": 0, "size": 1,
    });
    if let (Some(q), Some(obj)) = (quota_left, page.as_object_mut()) {
        obj.insert("quotaLimiter".into(), json!(q));
    }
    page
}

/// The `RESPON` text for a status, in one of the spellings seen on real servers (chosen by `n`).
fn respon_text(status: &Status, n: u64) -> String {
    let variants: &[&str] = match status {
        Status::LoginFailed => &["Gagal Login", "Login Gagal", "GAGAL LOGIN"],
        Status::NotFound => &[
            "Data tidak ditemukan, NIK tidak terdapat di database kependudukan",
            "Data Tidak Ditemukan",
            "Data tidak  ditemukan, NIK tidak terdapat di database kependudukan",
        ],
        _ => &[],
    };
    if variants.is_empty() {
        let m = status.message();
        if n % 3 == 2 {
            m.to_uppercase()
        } else {
            m.to_owned()
        }
    } else {
        variants[(n % variants.len() as u64) as usize].to_owned()
    }
}

fn respon(status: &Status, variant: Variant, n: u64) -> Value {
    let mut rec = Map::new();
    rec.insert("RESPON".into(), json!(respon_text(status, n)));
    if variant == Variant::Central {
        rec.insert("RESPONSE_CODE".into(), json!(status.code().unwrap_or(0)));
    }
    Value::Object(rec)
}

fn found(p: &Person, variant: Variant) -> Value {
    let k = p.kecamatan;
    let num = |digits: &str, as_number: bool| -> Value {
        if as_number {
            digits
                .parse::<u64>()
                .map_or_else(|_| json!(digits), |n| json!(n))
        } else {
            json!(digits)
        }
    };
    let as_n = p.numbers_as_json_numbers;
    let mut rec = json!({
        "NO_KK": num(&p.no_kk, as_n),
        "NIK": num(&p.nik, as_n),
        "NAMA_LGKP": p.name,
        "JENIS_KLMIN": if p.female { "Perempuan" } else { "Laki-Laki" },
        "TMPT_LHR": p.birth_place,
        "TGL_LHR": p.birth_date,
        "STATUS_KAWIN": p.marital,
        "JENIS_PKRJN": p.occupation,
        "ALAMAT": p.street,
        "NO_RT": if as_n { json!(p.rt) } else { json!(format!("{:03}", p.rt)) },
        "NO_RW": if as_n { json!(p.rw) } else { json!(format!("{:03}", p.rw)) },
        "KEL_NAME": p.village,
        "KEC_NAME": k.name.to_uppercase(),
        "KAB_NAME": k.regency,
        "PROP_NAME": k.province,
        "NO_PROP": num(&k.code[..2], as_n),
        "NO_KAB": num(&k.code[2..4], as_n),
        "NO_KEC": num(&k.code[4..6], as_n),
        "NO_KEL": num(&p.village_code.to_string(), as_n),
        // Beyond the nine elements: the client must drop these.
        "AGAMA": "ISLAM",
        "GOL_DARAH": "TIDAK TAHU",
        "PDDK_AKH": "SLTA/SEDERAJAT",
    });
    if variant == Variant::Central
        && let Some(obj) = rec.as_object_mut()
    {
        obj.insert("RESPONSE_CODE".into(), json!(1));
    }
    rec
}

/// The body the simulator sends for a found NIK, as the central gateway words it (the longer
/// variant, with `RESPONSE_CODE` and `quotaLimiter`). The bandwidth study sizes a look-up's
/// answer with it.
pub fn found_answer_body(p: &Person) -> String {
    spring_page(found(p, Variant::Central), Some(super::DEFAULT_QUOTA)).to_string()
}

/// A body field by any key case; `names` in lower case, first present wins.
fn field<'a>(body: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .map(|(_, v)| v)
}

fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Decide the status of a look-up body, spending quota when the NIK is examined.
fn decide(shared: &Shared, body: &[u8]) -> (Status, Option<Person>) {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return (Status::IncompleteParameters, None);
    };
    let get = |names: &[&str]| field(&body, names).and_then(field_text);
    let (Some(user), Some(password), Some(ip), Some(nik)) = (
        get(&["user_id"]),
        get(&["password"]),
        get(&["ip_user", "ip_address"]),
        get(&["nik"]),
    ) else {
        return (Status::IncompleteParameters, None);
    };
    if user.is_empty() || password.is_empty() || ip.is_empty() {
        return (Status::CredentialsEmpty, None);
    }
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return (Status::InvalidIp, None);
    };
    let Some(account) = shared
        .accounts
        .iter()
        .find(|a| a.user_id == user && a.password == password)
    else {
        return (Status::LoginFailed, None);
    };
    match account.state {
        AccountState::AgencyInactive => return (Status::AgencyInactive, None),
        AccountState::UserInactive => return (Status::UserInactive, None),
        AccountState::OutsideHours => return (Status::OutsideHours, None),
        AccountState::Active => {}
    }
    if ip != account.ip {
        return (Status::WrongIp, None);
    }
    if !shared.spend_quota() {
        return (Status::QuotaExhausted, None);
    }
    if crate::nik::Nik::parse(&nik).is_err() {
        return (Status::InvalidFormat, None);
    }
    match shared.population.get(&nik) {
        None => (Status::NotFound, None),
        Some(p) => match p.state {
            PersonState::Active => (Status::Found, Some(p.clone())),
            PersonState::Deceased => (Status::Deceased, None),
            PersonState::Duplicate => (Status::Duplicate, None),
            PersonState::Inactive => (Status::Inactive, None),
            PersonState::FormatRefused => (Status::InvalidFormat, None),
            PersonState::Unprocessable => (Status::Unprocessable, None),
        },
    }
}

pub(crate) fn lookup(shared: &Shared, variant: Variant, body: &[u8]) -> Response {
    let (status, person) = decide(shared, body);
    let n = shared.count_answer(&status);
    let record = match &person {
        Some(p) => found(p, variant),
        None => respon(&status, variant, n),
    };
    let quota = (variant == Variant::Central).then(|| shared.quota_left());
    json_response(StatusCode::OK, &spring_page(record, quota))
}

pub(crate) async fn regional(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    lookup(&shared, Variant::Regional, &body)
}

pub(crate) async fn central(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    lookup(&shared, Variant::Central, &body)
}

fn message(status: StatusCode, text: &str) -> Response {
    json_response(status, &json!({ "message": text }))
}

/// One record of a balikan post, as held by the simulator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct HeldBalikan {
    /// `NIK`.
    pub nik: String,
    /// The recipient ID (`ID_PENERIMA` or the declared key).
    pub recipient_id: String,
    /// The aid type (`JENIS_BANTUAN` or the declared key), upper case.
    pub aid: String,
    /// `id_lembaga` of the batch that brought it.
    pub id_lembaga: String,
}

/// The records of a post, read with the declared `param` keys; `Err` with the service's words
/// when the body is not what it takes (a key missing, an aid type it does not know).
fn parse_balikan(
    body: &[u8],
    fields: &crate::topology::BalikanFields,
) -> Result<Vec<HeldBalikan>, &'static str> {
    const FORMAT: &str = "Format data tidak valid";
    let records = read_balikan(body, fields).ok_or(FORMAT)?;
    if records.iter().any(|r| fields.aid(&r.aid).is_none()) {
        return Err("Jenis bantuan tidak dikenal");
    }
    Ok(records)
}

fn read_balikan(body: &[u8], fields: &crate::topology::BalikanFields) -> Option<Vec<HeldBalikan>> {
    let Ok(Value::Array(batches)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let mut out = Vec::new();
    for b in &batches {
        let id_lembaga = b.get("id_lembaga").and_then(field_text)?;
        for d in b.get("data")?.as_array()? {
            let nik = d.get("NIK").and_then(field_text)?;
            crate::nik::Nik::parse(&nik).ok()?;
            let params = d.get("param")?.as_array()?;
            let param = |key: &str| {
                params
                    .iter()
                    .find_map(|p| p.get(key).and_then(field_text))
                    .filter(|s| !s.is_empty())
            };
            out.push(HeldBalikan {
                nik,
                recipient_id: param(&fields.recipient_key)?,
                aid: param(&fields.aid_key)?.to_ascii_uppercase(),
                id_lembaga: id_lembaga.clone(),
            });
        }
    }
    Some(out)
}

pub(crate) async fn balikan(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!("Bearer {}", shared.balikan_token);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorized {
        return message(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let records = match parse_balikan(&body, &shared.balikan_fields) {
        Ok(r) => r,
        Err(words) => return message(StatusCode::UNPROCESSABLE_ENTITY, words),
    };
    if records.is_empty() {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "Data kosong");
    }
    // New records are kept even when others of the batch were held already, so a sender that
    // treats "already sent" as delivered loses nothing.
    if shared.hold_balikan(records) {
        message(StatusCode::OK, "Success")
    } else {
        message(StatusCode::BAD_REQUEST, "Data sudah pernah dikirim")
    }
}
