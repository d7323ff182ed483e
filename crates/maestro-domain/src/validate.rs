//! Input rules shared by the services and the adapters.

use crate::error::{DomainError, Result};

/// Longest id accepted anywhere.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` is a safe id: `^[A-Za-z0-9_-]{1,128}$`. Every id that may become a path
/// component (file name, Redis key, Storage object) must pass this (DEFECTS S4).
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !is_reserved_device_name(id)
}

/// Whether `id` is a device name Windows reserves in every directory (`CON`, `NUL`, `COM1`…,
/// any case): such an id must never become a file name.
pub fn is_reserved_device_name(id: &str) -> bool {
    if !id.is_ascii() {
        return false;
    }
    let upper = id.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let (stem, digit) = upper.split_at(upper.len().saturating_sub(1));
            matches!(stem, "COM" | "LPT") && digit.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// [`is_safe_id`] as a validation error naming `field`.
pub fn safe_id(field: &str, id: &str) -> Result<()> {
    if is_safe_id(id) {
        Ok(())
    } else if is_reserved_device_name(id) {
        Err(DomainError::invalid_field(
            field,
            format!("{field} '{id}' is a reserved device name and cannot be used as an id"),
        ))
    } else {
        Err(DomainError::invalid_field(
            field,
            format!("{field} must match ^[A-Za-z0-9_-]{{1,{MAX_ID_LEN}}}$"),
        ))
    }
}

/// Whether `s` is a safe CLI argument value such as a model or skill name: `^[A-Za-z0-9._:-]+$`,
/// not starting with `-` (DEFECTS S8) and not `.` or `..` (skill names become path segments in
/// the CLI, DEFECTS S4).
pub fn is_safe_arg(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with('-')
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids() {
        assert!(is_safe_id("proj_1771322645123_k3j9x0a1b"));
        assert!(is_safe_id("evt-123"));
        for fine in ["CONSOLE", "COM", "COM10", "nullable", "auxiliary", "LPT"] {
            assert!(is_safe_id(fine), "{fine:?} is an ordinary id");
        }
        for text in ["é", "COMé", "x€", "€"] {
            assert!(!is_reserved_device_name(text));
            assert!(safe_id("id", text).is_err());
        }
        for bad in [
            "",
            "../etc",
            "a/b",
            "a\0b",
            "a b",
            "é",
            &"x".repeat(129),
            "CON",
            "nul",
            "Aux",
            "prn",
            "COM1",
            "lpt9",
            "com0",
        ] {
            assert!(!is_safe_id(bad), "{bad:?} must be refused");
        }
    }

    #[test]
    fn safe_args() {
        assert!(is_safe_arg("claude-sonnet-4.5"));
        assert!(!is_safe_arg("--output"));
        assert!(!is_safe_arg("a b"));
        assert!(!is_safe_arg(".."));
    }
}
