//! Contract of [`Auth`] for an adapter configured to require a token: the factory returns the
//! adapter and a token it accepts.

use std::sync::Arc;

use maestro_domain::ports::{Auth, AuthRejection};

/// Every case.
pub const ALL_CASES: &[&str] = crate::__auth_cases!(names);

pub async fn valid_token_is_accepted(auth: Arc<dyn Auth>, token: String) {
    let principal = auth
        .authenticate(Some(&token))
        .await
        .expect("the valid token is accepted");
    // Accepting twice gives the same principal (no one-shot tokens).
    assert_eq!(auth.authenticate(Some(&token)).await, Ok(principal));
}

pub async fn garbage_token_is_invalid(auth: Arc<dyn Auth>, _token: String) {
    for garbage in ["garbage", "not.a.jwt", "Bearer x", "\u{0}\u{7f}é"] {
        match auth.authenticate(Some(garbage)).await {
            Err(AuthRejection::Invalid(_)) => {}
            other => panic!("token {garbage:?}: expected Invalid, got {other:?}"),
        }
    }
}

pub async fn near_miss_tokens_are_invalid(auth: Arc<dyn Auth>, token: String) {
    let mut flipped = token.clone().into_bytes();
    if let Some(last) = flipped.last_mut() {
        *last = if *last == b'A' { b'B' } else { b'A' };
    }
    let flipped = String::from_utf8_lossy(&flipped).into_owned();
    let chars: Vec<char> = token.chars().collect();
    let shortened: String = chars[..chars.len().saturating_sub(1)].iter().collect();
    let candidates = [
        format!("{token}x"),
        format!("x{token}"),
        shortened,
        flipped,
        token.to_uppercase(),
        token.to_lowercase(),
    ];
    for near in candidates {
        if near == token || near.trim().is_empty() {
            continue;
        }
        assert!(
            auth.authenticate(Some(&near)).await.is_err(),
            "a near miss of the valid token was accepted: {near:?}"
        );
    }
}

pub async fn missing_token_is_missing(auth: Arc<dyn Auth>, _token: String) {
    assert_eq!(auth.authenticate(None).await, Err(AuthRejection::Missing));
}
