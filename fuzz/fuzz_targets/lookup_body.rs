//! The body of `POST /api/v1/lookup`: `gate::api::parse_request`, then the gate's local NIK
//! check that follows it before any quota or network is touched. Any bytes: a clear message or
//! the fields exactly as sent.
#![no_main]

use juknis::gate::api::parse_request;
use juknis::nik::Nik;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(b) => {
            // Only `nik`, `purpose` and the optional `end_user` of a JSON object are accepted.
            let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) else {
                panic!("accepted a body that is not a JSON object");
            };
            assert!(
                map.keys()
                    .all(|k| matches!(k.as_str(), "nik" | "purpose" | "end_user")),
                "only `nik`, `purpose` and `end_user`"
            );
            assert_eq!(map.get("nik").and_then(Value::as_str), Some(b.nik.as_str()));
            assert_eq!(
                map.get("purpose").and_then(Value::as_str),
                Some(b.purpose.as_str())
            );
            assert_eq!(
                map.get("end_user").and_then(Value::as_str),
                b.end_user.as_deref()
            );
            match Nik::parse(&b.nik) {
                Ok(n) => assert_eq!(n.expose(), b.nik.trim()),
                Err(e) => assert!(!juknis::gate::local_reason(&e).is_empty()),
            }
        }
        Err(message) => {
            assert!(!message.is_empty());
        }
    }
});
