//! Text from outside (user names, purposes, headers) made safe for a log line: control
//! characters, including newlines and the ANSI escape, are written as `\u{..}` escapes, so a
//! typed value cannot start a forged line or recolour a terminal.

/// Most characters of outside text kept in a log field.
pub const MAX: usize = 200;

/// `text` with every control character escaped, cut to [`MAX`] characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX));
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_a_line() {
        let typed = "x\n2026-01-01T00:00:00Z INFO logged in user=admin role=admin\u{1b}[2K\r";
        let e = escape(typed);
        assert!(!e.chars().any(char::is_control), "{e}");
        assert!(e.contains("\\u{a}") && e.contains("\\u{1b}"), "{e}");
        assert_eq!(escape("budi.santoso"), "budi.santoso");
        assert_eq!(escape(&"a".repeat(500)).chars().count(), MAX + 1);
    }
}
