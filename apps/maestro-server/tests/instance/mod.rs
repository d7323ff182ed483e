//! The real `maestro-server` binary on Supabase storage (PostgreSQL behind postrust), as the
//! multi-instance and outage drills start it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// `maestro-server` on `port` with Supabase storage at `rest_url` (the test database's JWTs),
/// token auth with `token`, files under `dir`; the caller adds Redis settings.
pub fn on_supabase(
    env: &super::support::Env,
    rest_url: &str,
    token: &str,
    port: u16,
    dir: &Path,
) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_maestro-server"));
    c.env("PORT", port.to_string())
        .env("DATA_DIR", dir.join(format!("data-{port}")))
        .env("SESSION_DIR", dir.join(format!("sessions-{port}")))
        .env("SUPABASE_ENABLED", "true")
        .env("SUPABASE_URL", "http://127.0.0.1")
        .env("SUPABASE_REST_URL", rest_url)
        .env("SUPABASE_SERVICE_ROLE_KEY", &env.service_jwt)
        .env("SUPABASE_ANON_KEY", &env.anon_jwt)
        .env("SUPABASE_JWT_SECRET", super::support::JWT_SECRET)
        .env("MAESTRO_API_TOKEN", token)
        .env("LOG_LEVEL", "error")
        .env_remove("AUTH_MODE")
        .env_remove("AUTH_TRUST_LOOPBACK")
        .env_remove("MAIL_BACKEND")
        .stdout(Stdio::null());
    c
}
