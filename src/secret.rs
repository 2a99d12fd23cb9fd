//! [`Secret`]: a string that never prints. Owns nothing else; depends on nothing in the crate,
//! so the portal client and the gate can both hold their credentials in it.
//!
//! `Debug` and `Display` both write `[rahasia]`, so a secret that ends up in a `tracing` field,
//! an error message or a `{:?}` of the struct around it shows the placeholder, never the value.
//! The only way to the value is [`Secret::expose`], which a reviewer can grep for.

use std::fmt;

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "[rahasia]";

/// A password, bearer token or key. Compares by value (for tests and config reloads).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it (a request body, an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_tracing_fields_show_the_placeholder() {
        let s = Secret::from("KANARI-rahasia-123");
        #[derive(Debug)]
        #[expect(dead_code, reason = "read through Debug only")]
        struct Holder {
            password: Secret,
        }
        let all = format!(
            "{s} {s:?} {s:#?} {:?} {:#?}",
            Holder {
                password: s.clone()
            },
            Some(&s)
        );
        assert!(!all.contains("KANARI"), "{all}");
        assert_eq!(all.matches(REDACTED).count(), 5, "{all}");
        assert_eq!(s.expose(), "KANARI-rahasia-123");
    }
}
