//! `auth login|logout|whoami`.

use std::io::{BufRead, IsTerminal};

use base64::Engine;
use serde_json::{Value, json};

use crate::cli::{AuthCommand, LoginArgs};
use crate::context::{Ctx, TokenSource};
use crate::credentials::{Credential, CredentialKind};
use crate::error::{CtlError, Result};
use crate::output::fields;
use crate::supabase;

pub async fn run(ctx: &Ctx, cmd: AuthCommand) -> Result<()> {
    match cmd {
        AuthCommand::Login(a) => login(ctx, a).await,
        AuthCommand::Logout => logout(ctx),
        AuthCommand::Whoami => whoami(ctx).await,
    }
}

async fn login(ctx: &Ctx, a: LoginArgs) -> Result<()> {
    let cred = if let Some(email) = a.email {
        supabase_login(ctx, &email, a.password_stdin).await?
    } else {
        let token = if a.with_token {
            read_line("token")?
        } else if ctx.token_source == TokenSource::Flag {
            ctx.client.token().unwrap_or_default().to_string()
        } else {
            return Err(CtlError::Usage(
                "pass --email (Supabase sign-in), --with-token (read a token from standard \
                 input) or --token TOKEN"
                    .into(),
            ));
        };
        if token.is_empty() {
            return Err(CtlError::Usage("the token is empty".into()));
        }
        // Checked before it is stored: an authenticated route refuses a bad token.
        ctx.client
            .with_token(Some(token.clone()))
            .list_projects()
            .await?;
        Credential {
            server: ctx.server.clone(),
            kind: CredentialKind::Token { token },
        }
    };
    ctx.store.save(&cred)?;
    let summary = json!({
        "server": cred.server,
        "kind": kind_name(&cred.kind),
        "email": email_of(&cred.kind),
        "path": ctx.store.path().display().to_string(),
    });
    ctx.out.show(&summary, || {
        format!(
            "Signed in to {} ({}); credential saved in {}",
            cred.server,
            kind_name(&cred.kind),
            ctx.store.path().display()
        )
    })
}

async fn supabase_login(ctx: &Ctx, email: &str, password_stdin: bool) -> Result<Credential> {
    let config = ctx.client.auth_config().await?;
    let Some(sb) = config.supabase else {
        return Err(CtlError::Usage(format!(
            "{} runs AUTH_MODE={}, not supabase: sign in with --with-token instead",
            ctx.server, config.auth_mode
        )));
    };
    let password = if password_stdin {
        read_line("password")?
    } else {
        prompt_password()?
    };
    let http = reqwest::Client::new();
    let s = supabase::password_grant(&http, &sb.url, &sb.anon_key, email, &password).await?;
    Ok(Credential {
        server: ctx.server.clone(),
        kind: CredentialKind::Supabase {
            supabase_url: sb.url,
            anon_key: sb.anon_key,
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_at: s.expires_at,
            user_id: s.user_id,
            email: s.email.or_else(|| Some(email.to_string())),
        },
    })
}

fn logout(ctx: &Ctx) -> Result<()> {
    let removed = ctx.store.remove()?;
    ctx.out.show(&json!({"loggedOut": removed}), || {
        if removed {
            format!("Signed out; removed {}", ctx.store.path().display())
        } else {
            "Not signed in".to_string()
        }
    })
}

async fn whoami(ctx: &Ctx) -> Result<()> {
    let stored = ctx.store.load()?;
    let token = ctx.client.token().map(str::to_string);
    let (kind, email, user, expires) = match (&ctx.token_source, &stored) {
        (TokenSource::Stored, Some(c)) => match &c.kind {
            CredentialKind::Supabase {
                email,
                user_id,
                expires_at,
                ..
            } => (
                "supabase",
                email.clone(),
                user_id.clone(),
                Some(*expires_at),
            ),
            CredentialKind::Token { .. } => ("token", None, None, None),
        },
        (TokenSource::Flag, _) => (flag_kind(token.as_deref()), None, None, None),
        _ => ("none", None, None, None),
    };
    let claims = token.as_deref().and_then(jwt_claims);
    let user = user.or_else(|| claim(&claims, "sub"));
    let email = email.or_else(|| claim(&claims, "email"));
    let session = token.as_deref().and_then(session_of_token);
    // Whether the server takes the credential: an authenticated route answers.
    let check = ctx.client.list_projects().await;
    let (accepted, problem) = match &check {
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.to_string())),
    };
    let report = json!({
        "server": ctx.server,
        "kind": kind,
        "source": match ctx.token_source {
            TokenSource::Flag => "flag",
            TokenSource::Stored => "stored",
            TokenSource::None => "none",
        },
        "userId": user,
        "email": email,
        "sessionId": session.as_ref().map(|s| s.0.clone()),
        "projectId": session.as_ref().map(|s| s.1.clone()),
        "expiresAt": expires,
        "accepted": accepted,
        "error": problem,
    });
    ctx.out.show(&report, || {
        fields(&[
            ("server", ctx.server.clone()),
            ("credential", kind.to_string()),
            ("user", user.clone().unwrap_or_default()),
            ("email", email.clone().unwrap_or_default()),
            (
                "session",
                session.as_ref().map(|s| s.0.clone()).unwrap_or_default(),
            ),
            (
                "project",
                session.as_ref().map(|s| s.1.clone()).unwrap_or_default(),
            ),
            (
                "expires",
                expires
                    .map(|e| format!("in {}s", e - supabase::now_secs()))
                    .unwrap_or_default(),
            ),
            (
                "server says",
                if accepted {
                    "accepted".to_string()
                } else {
                    format!("refused: {}", problem.clone().unwrap_or_default())
                },
            ),
        ])
    })?;
    match check {
        Ok(_) => Ok(()),
        Err(e) if kind == "none" => Err(CtlError::Usage(format!(
            "not signed in ({e}); run `maestroctl auth login`"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn kind_name(k: &CredentialKind) -> &'static str {
    match k {
        CredentialKind::Token { .. } => "token",
        CredentialKind::Supabase { .. } => "supabase",
    }
}

fn email_of(k: &CredentialKind) -> Option<String> {
    match k {
        CredentialKind::Supabase { email, .. } => email.clone(),
        CredentialKind::Token { .. } => None,
    }
}

/// What a token given on the command line is, by its shape.
fn flag_kind(token: Option<&str>) -> &'static str {
    match token {
        Some(t) if t.starts_with("mst1.") => "session-token",
        Some(t) if t.starts_with("mak1.") => "api-key",
        Some(t) if jwt_claims(t).is_some() => "supabase",
        Some(_) => "token",
        None => "none",
    }
}

/// `(sessionId, projectId)` of a session token `mst1.<sessionId>.<projectId>.<mac>`.
fn session_of_token(t: &str) -> Option<(String, String)> {
    let mut parts = t.strip_prefix("mst1.")?.split('.');
    Some((parts.next()?.to_string(), parts.next()?.to_string()))
}

/// The (unverified) claims of a JWT, for display only.
fn jwt_claims(t: &str) -> Option<Value> {
    let mut parts = t.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

fn claim(claims: &Option<Value>, key: &str) -> Option<String> {
    claims.as_ref()?.get(key)?.as_str().map(str::to_string)
}

fn read_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        CtlError::Failed(format!("cannot read the {what} from standard input: {e}"))
    })?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn prompt_password() -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(CtlError::Usage(
            "standard input is not a terminal: pass --password-stdin".into(),
        ));
    }
    rpassword::prompt_password("Password: ")
        .map_err(|e| CtlError::Failed(format!("cannot read the password: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes() {
        assert_eq!(flag_kind(Some("mst1.s1.p1.mac")), "session-token");
        assert_eq!(flag_kind(Some("mak1.p.k.s")), "api-key");
        assert_eq!(flag_kind(Some("plain")), "token");
        assert_eq!(
            session_of_token("mst1.sess_1.proj_2.mac"),
            Some(("sess_1".into(), "proj_2".into()))
        );
        // {"sub":"u1","email":"a@b"}
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSIsImVtYWlsIjoiYUBiIn0.sig";
        assert_eq!(flag_kind(Some(jwt)), "supabase");
        assert_eq!(claim(&jwt_claims(jwt), "email").as_deref(), Some("a@b"));
        assert_eq!(jwt_claims("a.!!.c"), None);
    }
}
