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

fn hs256_auth(env: &support::Env) -> SupabaseAuth {
    SupabaseAuth::new(
        "http://127.0.0.1:9",
        env.service_client(),
        &env.anon_jwt,
        Some(API_TOKEN.into()),
        Some(support::JWT_SECRET.into()),
    )
    .without_issuer_check()
}

#[tokio::test]
async fn hs256_tokens_map_to_principals_and_access_follows_rls() {
    let env = support::env();
    let auth = hs256_auth(env);
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
    assert!(auth.can_access_project(&p, &project.id).await.unwrap());
    let bob = env.user("bob");
    let bob_p = auth.authenticate(Some(&bob.jwt)).await.unwrap();
    assert!(!auth.can_access_project(&bob_p, &project.id).await.unwrap());
    assert!(
        auth.can_access_project(&Principal::Service, &project.id)
            .await
            .unwrap()
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
    let env = support::env();
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

    let auth = SupabaseAuth::new(&base, env.service_client(), &env.anon_jwt, None, None);
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
