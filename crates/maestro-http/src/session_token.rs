//! Session tokens: the credential an agent gets from the server when its session is spawned
//! (`MAESTRO_SESSION_TOKEN`), so it never needs its user's secret.
//!
//! A token is `mst1.<sessionId>.<projectId>.<mac>`, where `mac` is HMAC-SHA256 (hex) of the
//! part before it under the server's key (`MAESTRO_SESSION_KEY`, shared by every instance).
//! It is never stored or broadcast: it is computed again when a trusted local client is sent a
//! `session:spawn` and checked on every request, where it also stops working once its session
//! has ended or been deleted ([`crate::security::resolve`]).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "mst1.";

/// The name of the environment variable a spawned agent finds its token in.
pub const ENV_VAR: &str = "MAESTRO_SESSION_TOKEN";

/// Mints and verifies session tokens with one key.
#[derive(Clone)]
pub struct SessionTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionTokens(<key redacted>)")
    }
}

impl SessionTokens {
    /// Tokens signed with `key` (at least 32 bytes; the configuration checks that).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    /// Tokens signed with a fresh random key: they stop working when this process exits and
    /// are not accepted by other instances.
    pub fn ephemeral() -> Self {
        let mut key = vec![0u8; 32];
        if getrandom::fill(&mut key).is_err() {
            // No OS randomness: a time-and-address seeded key is still unpredictable enough
            // to outsiders for one process lifetime, and is logged as weak.
            tracing::warn!("no OS randomness for the session-token key; using a weaker one");
            let seed = format!("{:?}{:p}", std::time::SystemTime::now(), &key);
            key = seed.into_bytes();
        }
        Self { key }
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(body.as_bytes());
        mac
    }

    /// The token of `session_id` in `project_id`; `None` for ids a token cannot carry.
    pub fn mint(&self, session_id: &str, project_id: &str) -> Option<String> {
        if !maestro_domain::validate::is_safe_id(session_id)
            || !maestro_domain::validate::is_safe_id(project_id)
        {
            return None;
        }
        let body = format!("{PREFIX}{session_id}.{project_id}");
        let tag = self.mac(&body).finalize().into_bytes();
        Some(format!("{body}.{}", maestro_domain::secret::hex(&tag)))
    }

    /// Whether `token` has the session-token shape (then no other verifier is asked).
    pub fn is_session_token(token: &str) -> bool {
        token.starts_with(PREFIX)
    }

    /// `(sessionId, projectId)` of a token signed with this key.
    pub fn verify(&self, token: &str) -> Option<(String, String)> {
        let rest = token.strip_prefix(PREFIX)?;
        let mut parts = rest.split('.');
        let (session, project, tag, end) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next());
        if end.is_some() {
            return None;
        }
        let tag = unhex(tag)?;
        let body = &token[..PREFIX.len() + session.len() + 1 + project.len()];
        self.mac(body).verify_slice(&tag).ok()?;
        Some((session.to_string(), project.to_string()))
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_and_names_its_session() {
        let t = SessionTokens::new(b"k".repeat(32));
        let token = t.mint("sess_1_a", "proj_1_b").unwrap();
        assert!(SessionTokens::is_session_token(&token));
        assert_eq!(
            t.verify(&token),
            Some(("sess_1_a".to_string(), "proj_1_b".to_string()))
        );
    }

    #[test]
    fn tampered_foreign_and_malformed_tokens_fail() {
        let t = SessionTokens::new(b"k".repeat(32));
        let token = t.mint("sess_1", "proj_1").unwrap();
        let other = SessionTokens::new(b"j".repeat(32));
        assert_eq!(other.verify(&token), None, "another key");
        let swapped = token.replace("proj_1", "proj_2");
        assert_eq!(t.verify(&swapped), None, "another project");
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert_eq!(t.verify(&flipped), None, "a changed mac");
        for bad in [
            "",
            "mst1.",
            "mst1.a.b",
            "mst1.a.b.zz",
            "mst1.a.b.c.d",
            "mst1.a.b.abc",
        ] {
            assert_eq!(t.verify(bad), None, "{bad:?}");
        }
        assert_eq!(t.mint("bad.id", "proj"), None);
    }
}
