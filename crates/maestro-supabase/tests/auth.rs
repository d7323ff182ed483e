//! `SupabaseAuth` against real tokens: HS256 (legacy secret) checked by postrust too, and
//! ES256 through a JWKS served by a local fake of `/auth/v1/.well-known/jwks.json`; project
//! access answered by row-level security.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maestro_domain::ports::{Auth, AuthRejection, Principal};
use maestro_supabase::SupabaseAuth;
use p256::pkcs8::EncodePrivateKey;
use serde_json::json;

const API_TOKEN: &str = "api-token-0123456789abcdef";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn hs256_auth() -> SupabaseAuth {
    SupabaseAuth::new(
        "http://127.0.0.1:9",
        Some(API_TOKEN.into()),
        Some(support::JWT_SECRET.into()),
    )
    .without_issuer_check()
}

#[tokio::test]
async fn hs256_tokens_map_to_principals_and_the_creator_owns_the_project() {
    let Some(env) = support::env() else {
        return;
    };
    let auth = hs256_auth();
    assert_eq!(auth.authenticate(None).await, Err(AuthRejection::Missing));
    assert_eq!(
        auth.authenticate(Some(API_TOKEN)).await,
        Ok(Principal::Service)
    );
    assert_eq!(
        auth.authenticate(Some(&env.service_jwt)).await,
        Ok(Principal::Service)
    );
    assert!(matches!(
        auth.authenticate(Some(&env.anon_jwt)).await,
        Err(AuthRejection::Invalid(_))
    ));
    assert!(matches!(
        auth.authenticate(Some("not-a-jwt")).await,
        Err(AuthRejection::Invalid(_))
    ));
    // Tampered signature.
    let alice = env.user("alice");
    let mut forged = alice.jwt.clone();
    forged.pop();
    forged.push(if alice.jwt.ends_with('A') { 'B' } else { 'A' });
    assert!(matches!(
        auth.authenticate(Some(&forged)).await,
        Err(AuthRejection::Invalid(_))
    ));
    // Expired.
    let expired =
        support::mint(&json!({"sub": alice.id, "role": "authenticated", "aud": "authenticated"}));
    let mut parts: Vec<String> = expired.split('.').map(str::to_string).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(now() - 3600);
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let resigned = resign_hs256(&parts[0], &parts[1]);
    assert_eq!(
        auth.authenticate(Some(&resigned)).await,
        Err(AuthRejection::Expired)
    );

    let p = auth.authenticate(Some(&alice.jwt)).await.unwrap();
    let Principal::User { id, .. } = &p else {
        panic!("expected a user, got {p:?}")
    };
    assert_eq!(*id, alice.id);

    // Alice's project is hers; Bob sees nothing of it.
    let project =
        maestro_testkit::fixtures::project(&maestro_testkit::fixtures::unique_id("proj"), 1);
    env.user_repos(&alice)
        .projects()
        .create(project.clone())
        .await
        .unwrap();
    // The domain's access rule, on the Supabase member store: the creator is its owner.
    use maestro_domain::access::{Access, Grantee};
    let members = maestro_supabase::SupabaseRepos::new(env.service_client()).members();
    let grantee = |p: &Principal| Grantee::of(p).expect("a user is restricted");
    let alice_access = Access::new(grantee(&p), members.clone());
    assert_eq!(
        alice_access.role(&project.id).await.unwrap(),
        Some(maestro_domain::model::ProjectRole::Owner)
    );
    let bob = env.user("bob");
    let bob_p = auth.authenticate(Some(&bob.jwt)).await.unwrap();
    let bob_access = Access::new(grantee(&bob_p), members);
    assert!(!bob_access.can_read(&project.id).await.unwrap());
    assert_eq!(
        Grantee::of(&Principal::Service),
        None,
        "server credentials are unrestricted"
    );
}

fn resign_hs256(header: &str, payload: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let input = format!("{header}.{payload}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(support::JWT_SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn es256_tokens_are_verified_against_the_jwks() {
    let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "key-1",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    }]});
    let app = axum::Router::new().route(
        "/auth/v1/.well-known/jwks.json",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let auth = SupabaseAuth::new(&base, None, None);
    let der = secret.to_pkcs8_der().unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes());
    let sign = |kid: &str, claims: serde_json::Value| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let user = "9b0b2d1e-3a8f-4c55-9a77-1f2e3d4c5b6a";
    let good = sign(
        "key-1",
        json!({"sub": user, "role": "authenticated", "aud": ["authenticated"], "exp": now() + 600, "iss": format!("{base}/auth/v1"), "email": "e@x.test"}),
    );
    let p = auth.authenticate(Some(&good)).await.unwrap();
    assert!(matches!(&p, Principal::User { id, email: Some(_), .. } if id == user));
    let wrong_iss = sign(
        "key-1",
        json!({"sub": user, "role": "authenticated", "aud": "authenticated", "exp": now() + 600, "iss": "https://evil.example/auth/v1"}),
    );
    assert!(matches!(
        auth.authenticate(Some(&wrong_iss)).await,
        Err(AuthRejection::Invalid(_))
    ));
    let unknown_kid = sign(
        "key-2",
        json!({"sub": user, "role": "authenticated", "aud": "authenticated", "exp": now() + 600, "iss": format!("{base}/auth/v1")}),
    );
    assert!(matches!(
        auth.authenticate(Some(&unknown_kid)).await,
        Err(AuthRejection::Invalid(_))
    ));
    let wrong_aud = sign(
        "key-1",
        json!({"sub": user, "role": "authenticated", "aud": "somebody", "exp": now() + 600, "iss": format!("{base}/auth/v1")}),
    );
    assert!(matches!(
        auth.authenticate(Some(&wrong_aud)).await,
        Err(AuthRejection::Invalid(_))
    ));
    // HS256 without a configured secret is refused.
    let hs = support::mint(&json!({"sub": user, "role": "authenticated", "aud": "authenticated"}));
    assert!(matches!(
        auth.authenticate(Some(&hs)).await,
        Err(AuthRejection::Invalid(_))
    ));
}

/// An ES256 key pair: its JWK (public) and a signer of claims with a `kid`.
struct EcKey {
    jwk: serde_json::Value,
    encoding: jsonwebtoken::EncodingKey,
}

impl EcKey {
    fn new(seed: u8, kid: &str) -> Self {
        let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let der = secret.to_pkcs8_der().unwrap();
        Self {
            jwk: json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            }),
            encoding: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
        }
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = self.jwk["kid"].as_str().map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// Key rotation, the unknown-`kid` refetch limit and the tokens an attacker would try:
/// expired, `alg: none`, HS256 against an ES256 key, garbage.
#[tokio::test]
async fn rotation_refetch_limit_and_forged_tokens() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let (old_key, new_key) = (EcKey::new(7, "key-1"), EcKey::new(9, "key-2"));
    let served = Arc::new(Mutex::new(json!({"keys": [old_key.jwk.clone()]})));
    let fetches = Arc::new(AtomicUsize::new(0));
    let app = {
        let (served, fetches) = (served.clone(), fetches.clone());
        axum::Router::new().route(
            "/auth/v1/.well-known/jwks.json",
            axum::routing::get(move || {
                fetches.fetch_add(1, Ordering::SeqCst);
                let set = served.lock().unwrap().clone();
                async move { axum::Json(set) }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // Long enough that the five refused tokens below all come within it on a stalled machine.
    let interval = std::time::Duration::from_secs(3);
    let auth = SupabaseAuth::new(&base, None, None).with_jwks_refetch_interval(interval);
    let user = "5d1c7e0a-2b3f-4a6e-8c9d-0e1f2a3b4c5d";
    let claims = |exp: u64| {
        json!({"sub": user, "role": "authenticated", "aud": "authenticated", "exp": exp,
               "iss": format!("{base}/auth/v1")})
    };
    let invalid = |r: Result<Principal, AuthRejection>| matches!(r, Err(AuthRejection::Invalid(_)));

    assert!(
        auth.authenticate(Some(&old_key.sign(&claims(now() + 600))))
            .await
            .is_ok()
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // Tokens naming a key the set does not have: refused, and no new fetch within the interval.
    let rotated = new_key.sign(&claims(now() + 600));
    for _ in 0..5 {
        assert!(invalid(auth.authenticate(Some(&rotated)).await));
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "unknown kids must not hammer the JWKS"
    );
    // The project rotates its key; after the interval the new kid is fetched once and accepted.
    *served.lock().unwrap() = json!({"keys": [old_key.jwk.clone(), new_key.jwk.clone()]});
    tokio::time::sleep(interval + std::time::Duration::from_millis(100)).await;
    assert!(auth.authenticate(Some(&rotated)).await.is_ok());
    assert!(auth.authenticate(Some(&rotated)).await.is_ok());
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // Expired beyond the leeway.
    assert!(matches!(
        auth.authenticate(Some(&old_key.sign(&claims(now() - 120))))
            .await,
        Err(AuthRejection::Expired)
    ));
    // `alg: none`, unsigned.
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"key-1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(now() + 600).to_string());
    assert!(invalid(
        auth.authenticate(Some(&format!("{none_header}.{payload}.")))
            .await
    ));
    // HS256 naming the ES256 key, signed with the public key's bytes as the HMAC secret (the
    // classic algorithm confusion).
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some("key-1".into());
    let public_bytes = serde_json::to_vec(&old_key.jwk).unwrap();
    let confused = jsonwebtoken::encode(
        &hs_header,
        &claims(now() + 600),
        &jsonwebtoken::EncodingKey::from_secret(&public_bytes),
    )
    .unwrap();
    assert!(invalid(auth.authenticate(Some(&confused)).await));
    // Garbage.
    for junk in ["abc", "a.b.c", "....", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"] {
        assert!(invalid(auth.authenticate(Some(junk)).await), "{junk}");
    }
    assert!(matches!(
        auth.authenticate(None).await,
        Err(AuthRejection::Missing)
    ));
}

/// The `Auth` contract every adapter passes, on `SupabaseAuth` with the legacy HS256 secret
/// (no network: the token is verified locally) and a user's access token.
mod contract {
    use std::sync::Arc;

    use maestro_domain::ports::Auth;
    use serde_json::json;

    maestro_testkit::auth_contract!(|| async {
        let token = crate::support::mint(&json!({
            "sub": crate::support::uuid(), "role": "authenticated", "aud": "authenticated",
            "email": "contract@example.test",
        }));
        (Arc::new(crate::hs256_auth()) as Arc<dyn Auth>, token)
    });
}
