//! Checks of the settings themselves: `config`, `auth`, `exposure`.

use maestro_http::AuthMode;

use super::Check;
use crate::config::{Access, ConfigError, Network, Sections, url_host};

/// Variables that belong to the `auth` check.
const AUTH_VARS: &[&str] = &[
    "MAESTRO_API_TOKEN",
    "MAESTRO_SESSION_KEY",
    "AUTH_MODE",
    "AUTH_TRUST_LOOPBACK",
];

fn config_error_lines(errors: &[&ConfigError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.var, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every variable outside the access settings.
pub(super) fn config(s: &Sections) -> Check {
    let errors: Vec<&ConfigError> = [
        s.network.as_ref().err(),
        s.general.as_ref().err(),
        s.supabase_enabled.as_ref().err(),
        s.limits.as_ref().err(),
        s.backends.as_ref().err(),
        s.metrics_addr.as_ref().err(),
        s.push.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if errors.is_empty() {
        Check::ok("config", "every variable is valid")
    } else {
        Check::fail(
            "config",
            config_error_lines(&errors),
            "correct the variables named (maestro-server --help describes each)",
        )
    }
}

/// `auth` (mode, token, session key) and `exposure` (EXTERNAL_URL, CORS, Host).
pub(super) fn access(s: &Sections) -> [Check; 2] {
    let (net, access) = match (&s.network, &s.access) {
        (Err(_), _) | (_, None) => {
            let why = "depends on PORT, HOST, SERVER_URL and EXTERNAL_URL (see config)";
            return [Check::skip("auth", why), Check::skip("exposure", why)];
        }
        (_, Some(Err(e))) if AUTH_VARS.contains(&e.var) => {
            return [
                Check::fail("auth", format!("{}: {}", e.var, e.message), auth_fix(e)),
                Check::skip("exposure", "depends on the auth settings"),
            ];
        }
        (_, Some(Err(e))) => {
            return [
                Check::skip("auth", "depends on the exposure settings"),
                Check::fail(
                    "exposure",
                    format!("{}: {}", e.var, e.message),
                    "correct it (docs/SECURITY.md, docs/CONFIGURATION.md)",
                ),
            ];
        }
        (Ok(net), Some(Ok(a))) => (net, a),
    };
    let redis_enabled = s.backends.as_ref().is_ok_and(|b| b.redis_enabled);
    let token = match &access.api_token {
        Some(t) => format!(
            "MAESTRO_API_TOKEN set ({} characters, strong)",
            t.chars().count()
        ),
        None => "no MAESTRO_API_TOKEN".into(),
    };
    let mode = match access.auth_mode {
        AuthMode::None => "AUTH_MODE=none: only direct callers on this machine are served".into(),
        AuthMode::Token => "AUTH_MODE=token: every caller sends the token".to_string(),
        AuthMode::Supabase => format!(
            "AUTH_MODE=supabase: people sign in with Supabase Auth{}",
            if access.trust_loopback {
                "; direct loopback callers act as the local user (AUTH_TRUST_LOOPBACK)"
            } else {
                ""
            }
        ),
    };
    let auth = if access.session_key.is_none() && redis_enabled {
        Check::warn(
            "auth",
            format!(
                "{mode}; {token}\nMAESTRO_SESSION_KEY is unset: each instance signs agents' \
                 session tokens with a random key of its own, so a token fails on another \
                 instance and after a restart"
            ),
            "set the same MAESTRO_SESSION_KEY (openssl rand -hex 32) on every instance",
        )
    } else {
        Check::ok("auth", format!("{mode}; {token}"))
    };
    [auth, exposure(net, access)]
}

fn auth_fix(e: &ConfigError) -> String {
    match e.var {
        "MAESTRO_API_TOKEN" | "MAESTRO_SESSION_KEY" => format!(
            "set {} to a random secret: openssl rand -hex 32 (docs/SECURITY.md)",
            e.var
        ),
        _ => "see AUTH_MODE in docs/CONFIGURATION.md and docs/SECURITY.md".into(),
    }
}

/// Whether a host name (as `url_host` or `host_name` give it) is this machine.
fn is_local_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let (_, port) = authority.rsplit_once(':')?;
    port.parse().ok()
}

fn default_port(url: &str) -> u16 {
    url_port(url).unwrap_or(if url.starts_with("https://") { 443 } else { 80 })
}

/// EXTERNAL_URL, SERVER_URL, CORS and `Host` settings agree with each other and with where
/// the server listens.
fn exposure(net: &Network, access: &Access) -> Check {
    let mut warnings: Vec<(String, &str)> = Vec::new();
    if let Some(ext) = &net.external_url
        && ext.starts_with("http://")
        && !url_host(ext).is_some_and(|h| is_local_host(&h))
    {
        warnings.push((
            format!(
                "EXTERNAL_URL {ext} is plain http: the token and everything else cross the \
                 network in clear, and phones will not install the app"
            ),
            "serve it over https (a Cloudflare Tunnel does; docs/DEPLOYMENT.md)",
        ));
    }
    if url_host(&net.server_url).is_some_and(|h| is_local_host(&h))
        && default_port(&net.server_url) != net.port
    {
        warnings.push((
            format!(
                "SERVER_URL {} is this machine on port {}, but the server listens on PORT {}: \
                 agents it spawns would not reach it",
                net.server_url,
                default_port(&net.server_url),
                net.port
            ),
            "make SERVER_URL's port PORT, or leave SERVER_URL unset",
        ));
    }
    if access.allow_any_origin {
        warnings.push((
            "CORS_ORIGINS=* lets any web page call the API with a token it holds".into(),
            "list the allowed origins instead of *",
        ));
    }
    if net.external_url.is_some() && !net.host.is_loopback() {
        warnings.push((
            format!(
                "HOST={} listens on the network as well as behind EXTERNAL_URL (a tunnel needs \
                 only loopback)",
                net.host
            ),
            "bind HOST=127.0.0.1 when a tunnel is the way in",
        ));
    }
    let extra_hosts: Vec<&str> = access
        .allowed_hosts
        .iter()
        .map(String::as_str)
        .filter(|h| !is_local_host(h))
        .collect();
    let summary = format!(
        "listens on {}:{}; SERVER_URL {}; EXTERNAL_URL {}; Host accepted: localhost, loopback \
         addresses{}",
        net.host,
        net.port,
        net.server_url,
        net.external_url.as_deref().unwrap_or("(none)"),
        extra_hosts
            .iter()
            .map(|h| format!(", {h}"))
            .collect::<String>()
    );
    if warnings.is_empty() {
        return Check::ok("exposure", summary);
    }
    let detail = std::iter::once(summary)
        .chain(warnings.iter().map(|(w, _)| w.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    let fix = warnings
        .iter()
        .map(|(_, f)| *f)
        .collect::<Vec<_>>()
        .join("; ");
    Check::warn("exposure", detail, fix)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::Args;
    use crate::doctor::Status;
    use clap::Parser;

    const GOOD_TOKEN: &str = "9f1c2e8b7d60534a1b2c3d4e5f60718293a4b5c6d7e8f9012";

    fn sections(extra: &[&str]) -> (Args, Sections) {
        let mut v = vec!["maestro-server"];
        v.extend_from_slice(extra);
        let a = Args::parse_from(v);
        let s = Sections::validate(&a);
        (a, s)
    }

    fn status_of(checks: &[Check], name: &str) -> Status {
        checks.iter().find(|c| c.name == name).unwrap().status
    }

    #[test]
    fn every_broken_section_is_reported_at_once() {
        let (_, s) = sections(&["--log-level", "loud", "--max-connections", "3"]);
        let c = config(&s);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("LOG_LEVEL") && c.detail.contains("MAX_CONNECTIONS"));
    }

    #[test]
    fn a_weak_token_fails_auth_alone() {
        let (_, s) = sections(&["--api-token", "short"]);
        assert_eq!(config(&s).status, Status::Ok);
        let checks = access(&s);
        assert_eq!(status_of(&checks, "auth"), Status::Fail);
        assert!(
            checks[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("openssl rand -hex 32")
        );
        assert_eq!(status_of(&checks, "exposure"), Status::Skip);
    }

    #[test]
    fn exposure_warns_on_what_does_not_fit_together() {
        let (_, s) = sections(&[
            "--api-token",
            GOOD_TOKEN,
            "--external-url",
            "http://maestro.example.com",
            "--server-url",
            "http://localhost:4000",
            "--cors-origins",
            "*",
        ]);
        let checks = access(&s);
        let e = &checks[1];
        assert_eq!(e.status, Status::Warn, "{e:?}");
        assert!(e.detail.contains("plain http"), "{}", e.detail);
        assert!(e.detail.contains("PORT 3000"), "{}", e.detail);
        assert!(e.detail.contains("CORS_ORIGINS=*"), "{}", e.detail);
        let (_, s) = sections(&[
            "--api-token",
            GOOD_TOKEN,
            "--external-url",
            "https://maestro.example.com",
        ]);
        assert_eq!(access(&s)[1].status, Status::Ok);
    }

    #[test]
    fn session_key_matters_with_several_instances() {
        let (_, s) = sections(&["--redis-enabled", "true"]);
        assert_eq!(access(&s)[0].status, Status::Warn);
        let (_, s) = sections(&["--redis-enabled", "true", "--session-key", GOOD_TOKEN]);
        assert_eq!(access(&s)[0].status, Status::Ok);
    }
}
