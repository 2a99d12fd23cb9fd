//! The body of `POST /api/v1/lookup`: `gate::api::parse_body`, then the gate's local NIK check
//! that follows it before any quota or network is touched. Any bytes: a clear message or the
//! two fields exactly as sent.
#![no_main]

use juknis::gate::api::parse_body;
use juknis::nik::Nik;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    match parse_body(data) {
        Ok((nik, purpose)) => {
            // Exactly the two fields of the JSON object, nothing else accepted.
            let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) else {
                panic!("accepted a body that is not a JSON object");
            };
            assert_eq!(map.len(), 2, "only `nik` and `purpose`");
            assert_eq!(map.get("nik").and_then(Value::as_str), Some(nik.as_str()));
            assert_eq!(map.get("purpose").and_then(Value::as_str), Some(purpose.as_str()));
            match Nik::parse(&nik) {
                Ok(n) => assert_eq!(n.expose(), nik.trim()),
                Err(e) => assert!(!juknis::gate::local_reason(&e).is_empty()),
            }
        }
        Err(message) => {
            assert!(!message.is_empty());
        }
    }
});
