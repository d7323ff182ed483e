use super::*;
use clap::Parser;

fn parse(args: &[&str]) -> Result<Config, ConfigError> {
    let mut v = vec!["maestro-server"];
    v.extend_from_slice(args);
    Config::from_args(Args::parse_from(v), Some(Path::new("/home/u")))
}

#[test]
fn defaults_are_embedded_and_loopback() {
    let c = parse(&[]).unwrap();
    assert_eq!(c.host, LOOPBACK);
    assert_eq!(c.port, 3000);
    assert_eq!(c.data_dir, PathBuf::from("/home/u/.maestro/data"));
    assert_eq!(c.server_url, "http://localhost:3000");
    assert_eq!(c.mail_backend, MailBackend::Fs);
    assert!(c.allowed_origins.contains(&"tauri://localhost".to_string()));
}

#[test]
fn bad_values_name_their_variable() {
    assert_eq!(parse(&["--port", "abc"]).unwrap_err().var, "PORT");
    assert_eq!(parse(&["--port", "0"]).unwrap_err().var, "PORT");
    assert_eq!(
        parse(&["--log-level", "loud"]).unwrap_err().var,
        "LOG_LEVEL"
    );
    assert_eq!(parse(&["--host", "nowhere"]).unwrap_err().var, "HOST");
    assert_eq!(
        parse(&["--mail-backend", "x"]).unwrap_err().var,
        "MAIL_BACKEND"
    );
    assert_eq!(
        parse(&["--log-format", "xml"]).unwrap_err().var,
        "LOG_FORMAT"
    );
    assert_eq!(
        parse(&["--event-log-max-len", "0"]).unwrap_err().var,
        "EVENT_LOG_MAX_LEN"
    );
    assert_eq!(
        parse(&["--event-log-max-age-secs", "forever"])
            .unwrap_err()
            .var,
        "EVENT_LOG_MAX_AGE_SECS"
    );
}

#[test]
fn log_formats_and_event_log_retention() {
    assert_eq!(parse(&[]).unwrap().log_format, LogFormat::Pretty);
    assert_eq!(
        parse(&["--log-format", "json"]).unwrap().log_format,
        LogFormat::Json
    );
    let c = parse(&[
        "--event-log-max-len",
        "50",
        "--event-log-max-age-secs",
        "60",
    ])
    .unwrap();
    assert_eq!(c.event_log.max_len, 50);
    assert_eq!(c.event_log.max_age, Duration::from_secs(60));
    assert_eq!(parse(&[]).unwrap().event_log.max_len, 10_000);
}

#[test]
fn redis_enabled_defaults_mail_to_redis_unless_overridden() {
    let c = parse(&["--redis-enabled", "true"]).unwrap();
    assert_eq!(c.mail_backend, MailBackend::Redis);
    assert_eq!(c.redis_key_prefix, "maestro:");
    let c = parse(&["--redis-enabled", "true", "--mail-backend", "fs"]).unwrap();
    assert_eq!(c.mail_backend, MailBackend::Fs);
}

#[test]
fn supabase_settings_are_required_and_named() {
    assert_eq!(
        parse(&["--supabase-enabled", "true"]).unwrap_err().var,
        "SUPABASE_URL"
    );
    let e = parse(&[
        "--supabase-enabled",
        "true",
        "--supabase-url",
        "https://x.supabase.co",
    ]);
    assert_eq!(e.unwrap_err().var, "SUPABASE_SERVICE_ROLE_KEY");
    let c = with_supabase(&[]).unwrap();
    assert_eq!(c.mail_backend, MailBackend::Supabase);
    assert!(c.supabase.is_some());
    assert_eq!(
        parse(&["migrate", "to-supabase"]).unwrap_err().var,
        "SUPABASE_URL"
    );
}

#[test]
fn network_exposure_requires_a_token() {
    assert_eq!(
        parse(&["--host", "0.0.0.0"]).unwrap_err().var,
        "MAESTRO_API_TOKEN"
    );
    assert_eq!(
        parse(&["--external-url", "https://m.example.com"])
            .unwrap_err()
            .var,
        "MAESTRO_API_TOKEN"
    );
    let c = parse(&["--host", "0.0.0.0", "--api-token", GOOD_TOKEN]).unwrap();
    assert!(c.api_token.is_some());
}

const GOOD_TOKEN: &str = "4f9c2e7a1b8d3f6e0a5c2b9d4e7f1a3c";

#[test]
fn weak_tokens_are_refused_with_a_recipe() {
    for weak in [
        " ".repeat(16),
        "a".repeat(16),
        "a".repeat(40),
        "0123456789abcdef".into(),
        "abababababababababababababababab".into(),
        "4f9c2e7a1b8d3f6e 0a5c2b9d4e7f1a3c".into(),
    ] {
        let e = parse(&["--api-token", &weak]).unwrap_err();
        assert_eq!(e.var, "MAESTRO_API_TOKEN", "{weak:?}");
        assert!(e.message.contains("openssl rand -hex 32"), "{}", e.message);
    }
    assert!(parse(&["--api-token", GOOD_TOKEN]).is_ok());
    assert!(
        token_weakness("9b1f6c0d2e8a4f7b3c5d9e1a0f2b4c6d8e0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c")
            .is_none()
    );
}

#[test]
fn cors_origins_extend_the_allow_list() {
    let c = parse(&[
        "--cors-origins",
        "https://a.example, *",
        "--api-token",
        GOOD_TOKEN,
    ])
    .unwrap();
    assert!(c.allowed_origins.contains(&"https://a.example".to_string()));
    assert!(c.allow_any_origin);
}

#[test]
fn cors_origins_must_be_origins() {
    for bad in [
        "https://a.example/app",
        "a.example",
        "https://",
        "https://a b",
    ] {
        let e = parse(&["--cors-origins", bad, "--api-token", GOOD_TOKEN]).unwrap_err();
        assert_eq!(e.var, "CORS_ORIGINS", "{bad}");
        assert!(e.message.contains("not an origin"), "{}", e.message);
    }
    let c = parse(&[
        "--cors-origins",
        "HTTPS://App.Example:8443/, tauri://custom",
        "--api-token",
        GOOD_TOKEN,
    ])
    .unwrap();
    assert!(
        c.allowed_origins
            .contains(&"https://app.example:8443".to_string())
    );
    assert!(c.allowed_origins.contains(&"tauri://custom".to_string()));
}

#[test]
fn any_origin_needs_authentication() {
    assert_eq!(
        parse(&["--cors-origins", "*"]).unwrap_err().var,
        "CORS_ORIGINS"
    );
}

#[test]
fn hosts_proxies_and_limits() {
    let c = parse(&[
        "--external-url",
        "https://Maestro.Example.com/x",
        "--api-token",
        GOOD_TOKEN,
        "--allowed-hosts",
        "box.lan, other:8080",
        "--trusted-proxies",
        "127.0.0.1, 10.0.0.0/8",
    ])
    .unwrap();
    for h in [
        "maestro.example.com",
        "localhost",
        "127.0.0.1",
        "box.lan",
        "other",
    ] {
        assert!(
            c.allowed_hosts.contains(&h.to_string()),
            "{h}: {:?}",
            c.allowed_hosts
        );
    }
    assert_eq!(c.trusted_proxies.len(), 2);
    assert_eq!(c.header_read_timeout, Duration::from_secs(10));
    assert_eq!(
        parse(&["--trusted-proxies", "nope"]).unwrap_err().var,
        "TRUSTED_PROXIES"
    );
    assert_eq!(
        parse(&["--max-connections", "1"]).unwrap_err().var,
        "MAX_CONNECTIONS"
    );
    assert_eq!(
        parse(&["--header-read-timeout-secs", "0"]).unwrap_err().var,
        "HEADER_READ_TIMEOUT_SECS"
    );
}

const SUPABASE: [&str; 8] = [
    "--supabase-enabled",
    "true",
    "--supabase-url",
    "https://x.supabase.co",
    "--supabase-service-role-key",
    "a.b.c",
    "--supabase-anon-key",
    "d.e.f",
];

fn with_supabase(extra: &[&'static str]) -> Result<Config, ConfigError> {
    let mut args = SUPABASE.to_vec();
    args.extend_from_slice(extra);
    parse(&args)
}

#[test]
fn auth_mode_defaults_follow_the_settings() {
    let c = parse(&[]).unwrap();
    assert_eq!((c.auth_mode, c.trust_loopback), (AuthMode::None, true));
    let c = parse(&["--api-token", GOOD_TOKEN]).unwrap();
    assert_eq!((c.auth_mode, c.trust_loopback), (AuthMode::Token, false));
    // Supabase: every request needs an access token, loopback included, unless opted out.
    let c = with_supabase(&[]).unwrap();
    assert_eq!((c.auth_mode, c.trust_loopback), (AuthMode::Supabase, false));
    let c = with_supabase(&["--auth-trust-loopback", "true"]).unwrap();
    assert_eq!((c.auth_mode, c.trust_loopback), (AuthMode::Supabase, true));
    // Supabase storage with the shared token as the only credential.
    let c = with_supabase(&["--auth-mode", "token", "--api-token", GOOD_TOKEN]).unwrap();
    assert_eq!(c.auth_mode, AuthMode::Token);
}

#[test]
fn auth_mode_conflicts_are_named() {
    let var = |r: Result<Config, ConfigError>| r.unwrap_err().var;
    assert_eq!(var(parse(&["--auth-mode", "open"])), "AUTH_MODE");
    assert_eq!(var(parse(&["--auth-mode", "token"])), "AUTH_MODE");
    assert_eq!(var(parse(&["--auth-mode", "supabase"])), "AUTH_MODE");
    assert_eq!(
        var(parse(&["--auth-mode", "none", "--api-token", GOOD_TOKEN])),
        "AUTH_MODE"
    );
    assert_eq!(
        var(parse(&[
            "--api-token",
            GOOD_TOKEN,
            "--auth-trust-loopback",
            "true"
        ])),
        "AUTH_TRUST_LOOPBACK"
    );
    assert_eq!(
        var(parse(&["--auth-trust-loopback", "maybe"])),
        "AUTH_TRUST_LOOPBACK"
    );
}

#[test]
fn supabase_mode_may_be_exposed_without_the_shared_token() {
    let c = with_supabase(&["--external-url", "https://m.example.com"]).unwrap();
    assert_eq!(c.auth_mode, AuthMode::Supabase);
    assert!(c.api_token.is_none());
    let c = with_supabase(&["--host", "0.0.0.0", "--cors-origins", "*"]).unwrap();
    assert!(c.allow_any_origin);
    // Mode none is never exposed.
    assert_eq!(
        parse(&["--auth-mode", "none", "--host", "0.0.0.0"])
            .unwrap_err()
            .var,
        "MAESTRO_API_TOKEN"
    );
}

#[test]
fn metrics_addr_is_loopback_and_its_own_port() {
    assert_eq!(parse(&[]).unwrap().metrics_addr, None);
    let c = parse(&["--metrics-addr", "127.0.0.1:9464"]).unwrap();
    assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
    let c = parse(&["--metrics-addr", "localhost:9464"]).unwrap();
    assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
    assert!(parse(&["--metrics-addr", "[::1]:9464"]).is_ok());
    for bad in [
        "0.0.0.0:9464",
        "192.168.1.2:9464",
        "9464",
        "127.0.0.1:3000",
        "127.0.0.1:0",
    ] {
        let e = parse(&["--metrics-addr", bad]).unwrap_err();
        assert_eq!(e.var, "METRICS_ADDR", "{bad}");
    }
}

#[test]
fn push_settings_are_validated() {
    let c = parse(&[]).unwrap();
    assert!(c.push.vapid_keys.is_none(), "generated on first start");
    assert_eq!(c.push.subject, "mailto:maestro@localhost");
    let key = maestro_webpush::VapidKeys::generate().unwrap();
    // `=`: a base64url key may start with `-`, which would read as a flag.
    let key_arg = format!("--vapid-private-key={}", key.private());
    let c = parse(&[
        &key_arg,
        "--vapid-subject",
        "https://ops.example.com",
        "--push-endpoint-allowlist",
        "http://127.0.0.1:9000, http://localhost:9001",
    ])
    .unwrap();
    assert_eq!(c.push.vapid_keys.unwrap().public(), key.public());
    assert!(c.push.policy.check("http://127.0.0.1:9000/p").is_ok());
    assert!(c.push.policy.check("http://127.0.0.1:9002/p").is_err());
    for (flag, bad, var) in [
        ("--vapid-private-key", "short", "VAPID_PRIVATE_KEY"),
        ("--vapid-subject", "ops@example.com", "VAPID_SUBJECT"),
        (
            "--push-endpoint-allowlist",
            "not an origin",
            "PUSH_ENDPOINT_ALLOWLIST",
        ),
    ] {
        assert_eq!(parse(&[flag, bad]).unwrap_err().var, var, "{bad}");
    }
}
