//! Checks of Supabase: `supabase_api`, `supabase_anon_key`, `supabase_jwt`,
//! `supabase_migrations`, `supabase_rls`.

use maestro_http::AuthMode;
use maestro_supabase::schema::{self, SchemaStatus};
use maestro_supabase::{PostgrestClient, PostgrestError, SigningCheck, SupabaseAuth};

use super::{Check, Status, TIMEOUT};
use crate::config::{Args, Backends, Sections};

/// Whether a PostgREST error means the credential was refused (bad, expired or foreign JWT).
fn key_refused(e: &PostgrestError) -> bool {
    e.code().is_some_and(|c| c.starts_with("PGRST30"))
        || (e.status == 401 && e.code() != Some("42501"))
}

/// Whether it means the schema (table or function) is not there: PostgREST's codes, or a
/// bare 404 (what PostgREST-compatible servers such as postrust answer).
fn schema_missing(e: &PostgrestError) -> bool {
    matches!(e.code(), Some("PGRST202" | "PGRST205" | "42P01" | "42883"))
        || (e.status == 404 && e.code().is_none())
}

async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, PostgrestError>>,
) -> Result<T, PostgrestError> {
    tokio::time::timeout(TIMEOUT, f).await.unwrap_or_else(|_| {
        Err(PostgrestError::protocol(format!(
            "no answer within {}s",
            TIMEOUT.as_secs()
        )))
    })
}

/// `supabase_api`, `supabase_anon_key`, `supabase_jwt`, `supabase_migrations`, `supabase_rls`.
pub(super) async fn supabase(args: &Args, s: &Sections) -> Vec<Check> {
    const NAMES: [&str; 5] = [
        "supabase_api",
        "supabase_anon_key",
        "supabase_jwt",
        "supabase_migrations",
        "supabase_rls",
    ];
    let skip_all = |why: &str| NAMES.iter().map(|n| Check::skip(n, why)).collect();
    let (b, sb) = match (&s.supabase_enabled, &s.backends) {
        (Ok(false), _) => return skip_all("SUPABASE_ENABLED=false: FileSystem storage"),
        (
            Ok(true),
            Ok(
                b @ Backends {
                    supabase: Some(sb), ..
                },
            ),
        ) => (b, sb),
        _ => return skip_all("the Supabase settings are invalid (see config)"),
    };
    let rest = b.supabase_rest_url.clone().unwrap_or_else(|| sb.rest_url());
    let service = PostgrestClient::service(&rest, &sb.service_role_key);
    let mut checks = Vec::new();

    // The service-role key (a missing schema means the key got through: see the migrations).
    let api = match timed(service.ping("projects")).await {
        Err(e) if e.status == 0 => Check::fail(
            "supabase_api",
            format!("cannot reach PostgREST at {rest}: {e}"),
            "check SUPABASE_URL (or SUPABASE_REST_URL) and the network to it",
        ),
        Err(e) if key_refused(&e) => Check::fail(
            "supabase_api",
            format!("PostgREST at {rest} refuses SUPABASE_SERVICE_ROLE_KEY: {e}"),
            "copy the service_role key from the project's API settings",
        ),
        Err(e) if e.code() == Some("42501") => Check::fail(
            "supabase_api",
            format!(
                "SUPABASE_SERVICE_ROLE_KEY is accepted but may not read projects ({e}): it is \
                 not the service_role key"
            ),
            "copy the service_role key (not the anon key) from the project's API settings",
        ),
        Err(e) if !schema_missing(&e) => Check::fail(
            "supabase_api",
            format!("PostgREST at {rest} answered: {e}"),
            "check SUPABASE_URL and the project's status",
        ),
        _ => Check::ok(
            "supabase_api",
            format!("PostgREST at {rest} accepts SUPABASE_SERVICE_ROLE_KEY"),
        ),
    };
    let reached = api.status == Status::Ok;
    checks.push(api);
    if !reached {
        checks.extend(
            NAMES[1..]
                .iter()
                .map(|n| Check::skip(n, "needs PostgREST and the service key (supabase_api)")),
        );
        return checks;
    }

    // The anon key: a refused JWT is an error; a permission error means PostgREST verified it.
    let anon = PostgrestClient::for_user(&rest, &sb.anon_key, &sb.anon_key);
    checks.push(match timed(anon.ping("projects")).await {
        Err(e) if key_refused(&e) => Check::fail(
            "supabase_anon_key",
            format!("PostgREST refuses SUPABASE_ANON_KEY: {e}"),
            "copy the anon (public) key of the same project from its API settings",
        ),
        Err(e) if e.status == 0 => Check::fail(
            "supabase_anon_key",
            format!("PostgREST did not answer: {e}"),
            "check the network to PostgREST",
        ),
        _ => Check::ok("supabase_anon_key", "PostgREST accepts SUPABASE_ANON_KEY"),
    });

    // How users' tokens are verified.
    let auth_mode = s
        .access
        .as_ref()
        .and_then(|a| a.as_ref().ok())
        .map(|a| a.auth_mode);
    checks.push(if auth_mode == Some(AuthMode::Supabase) {
        let secret = args.supabase_jwt_secret.clone().filter(|x| !x.is_empty());
        let auth = SupabaseAuth::new(&sb.url, None, secret);
        match tokio::time::timeout(TIMEOUT, auth.check_signing(&sb.anon_key)).await {
            Ok(SigningCheck::Ready(how)) => Check::ok("supabase_jwt", how),
            Ok(SigningCheck::Broken(why)) => Check::fail(
                "supabase_jwt",
                format!("signed-in users' tokens cannot be verified: {why}"),
                "set SUPABASE_JWT_SECRET to the project's JWT secret (HS256 projects), or make \
                 SUPABASE_URL reachable for its signing keys",
            ),
            Err(_) => Check::fail(
                "supabase_jwt",
                "the project's signing keys did not arrive in time",
                "check SUPABASE_URL and the network to it",
            ),
        }
    } else {
        Check::skip(
            "supabase_jwt",
            "AUTH_MODE is not supabase: no user tokens to verify",
        )
    });

    // Migrations and row-level security.
    match timed(schema::schema_status(&service)).await {
        Ok(status) => {
            checks.push(migrations_check(&status));
            checks.push(rls_check(&status));
        }
        Err(e) if schema_missing(&e) => {
            let earlier = timed(service.ping("projects")).await.is_ok();
            let first_missing = schema::MIGRATIONS
                .iter()
                .position(|m| m.version == schema::SCHEMA_VERSION_MIGRATION)
                .unwrap_or(0);
            let from = if earlier { first_missing } else { 0 };
            let files: Vec<String> = schema::MIGRATIONS[from..]
                .iter()
                .map(|m| format!("migrations/{}", m.file_name()))
                .collect();
            checks.push(Check::fail(
                "supabase_migrations",
                if earlier {
                    format!(
                        "the database predates the schema version (no maestro_schema_status()); \
                         {} migration(s) are missing",
                        files.len()
                    )
                } else {
                    "no Maestro migration is applied (no projects table)".to_string()
                },
                format!(
                    "apply, in order: {} (supabase db push, or psql -f each)",
                    files.join(", ")
                ),
            ));
            checks.push(Check::skip(
                "supabase_rls",
                "needs the schema-version migration (see supabase_migrations)",
            ));
        }
        Err(e) => {
            checks.push(Check::fail(
                "supabase_migrations",
                format!("maestro_schema_status() failed: {e}"),
                "check the service key and the database",
            ));
            checks.push(Check::skip("supabase_rls", "needs maestro_schema_status()"));
        }
    }
    checks
}

fn migrations_check(status: &SchemaStatus) -> Check {
    let missing = status.missing();
    let unknown = status.unknown();
    if !missing.is_empty() {
        let files: Vec<String> = missing
            .iter()
            .map(|m| format!("migrations/{}", m.file_name()))
            .collect();
        return Check::fail(
            "supabase_migrations",
            format!("{} migration(s) missing: {}", files.len(), files.join(", ")),
            "apply them in order (supabase db push, or psql -f each)",
        );
    }
    let latest = schema::MIGRATIONS.last().map_or("", |m| m.version);
    if !unknown.is_empty() {
        return Check::warn(
            "supabase_migrations",
            format!(
                "every migration of this server is applied, and {} it does not know ({}): a \
                 newer server migrated this database",
                unknown.len(),
                unknown.join(", ")
            ),
            "run the newer server, or make sure those migrations are backward compatible",
        );
    }
    Check::ok(
        "supabase_migrations",
        format!(
            "all {} migrations applied (latest {latest})",
            schema::MIGRATIONS.len()
        ),
    )
}

fn rls_check(status: &SchemaStatus) -> Check {
    let unprotected = status.unprotected();
    if !unprotected.is_empty() {
        return Check::fail(
            "supabase_rls",
            format!(
                "row-level security is off on (or the table is missing): {}; users could read \
                 other people's projects",
                unprotected.join(", ")
            ),
            "apply migrations/20261121000300_maestro_rls.sql and the later migrations again",
        );
    }
    let others = status.others_without_rls();
    if !others.is_empty() {
        return Check::warn(
            "supabase_rls",
            format!(
                "row-level security on all {} Maestro tables; other tables of public have it \
                 off: {}",
                schema::TABLES.len(),
                others.join(", ")
            ),
            "enable row-level security on them, or move them out of the API schema",
        );
    }
    Check::ok(
        "supabase_rls",
        format!(
            "row-level security on all {} Maestro tables",
            schema::TABLES.len()
        ),
    )
}
