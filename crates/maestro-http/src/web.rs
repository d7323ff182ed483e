//! The phone web app at `/` (files from [`maestro_web`]) and its public configuration route.
//!
//! - `GET /api/auth/config` (public): which sign-in the app must offer.
//! - Any other `GET`/`HEAD` outside `/api` and `/socket.io`: the file, else `index.html` (SPA
//!   fallback for client-side routes such as `/projects/<id>`). Hashed files under `/assets/`
//!   are cacheable for a year; everything else is `no-cache`. Every answer carries a strict
//!   Content-Security-Policy and the usual hardening headers.
//! - `GET /modal-frame` (public): the page the app frames an agent's modal in ([`modal_frame`]).

use axum::extract::State;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::answers::{ClientConfig, SpawnAvailability, SupabaseSignIn};
use crate::state::AppState;

/// Path of the public client configuration.
pub const CLIENT_CONFIG_PATH: &str = "/api/auth/config";

/// `GET /api/auth/config`: `{authMode, supabase: {url, anonKey} | null}`. Public values only.
pub async fn client_config(State(state): State<AppState>) -> axum::Json<ClientConfig> {
    let sec = &state.config().security;
    axum::Json(ClientConfig {
        auth_mode: sec.auth_mode.as_str().to_string(),
        supabase: sec.supabase.as_ref().map(|s| SupabaseSignIn {
            url: s.url.clone(),
            anon_key: s.anon_key.clone(),
        }),
        web_app: maestro_web::is_built(),
        spawn: {
            let reason = state.spawn_service().unavailable();
            SpawnAvailability {
                available: reason.is_none(),
                reason,
            }
        },
        push: state.push().map(|p| crate::answers::PushConfig {
            public_key: p.public_key(),
        }),
    })
}

/// Path of the interactive API reference.
pub const API_DOCS_PATH: &str = "/api/docs";

/// `GET /api/docs` (public): the API reference page (`web/api-docs.html`), which loads
/// `/api/openapi.json` with the caller's credential and renders it with the pinned Redoc
/// bundle the web build copies to `/api-docs/`. Its CSP also allows inline styles and blob
/// workers, which Redoc needs.
pub async fn api_docs(State(state): State<AppState>) -> Response {
    let Some(page) = maestro_web::get("api-docs.html") else {
        return not_built(&state);
    };
    let mut res = (StatusCode::OK, page.body.into_owned()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    harden(&state, h);
    let csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
               img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; \
               worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; \
               object-src 'none'; form-action 'self'";
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    res
}

/// Path of the page the app shows an agent's modal HTML in.
pub const MODAL_FRAME_PATH: &str = "/modal-frame";

/// The frame page: once loaded it says `maestro:frame_ready` to its parent, then writes the
/// HTML of the first `maestro:modal_html` message its parent sends. Until the agent's HTML
/// replaces it, `window.maestro` posts `maestro:modal_action` / `maestro:modal_close` to the
/// parent, as the CLI's bridge script does; the app answers those through the authenticated
/// modal routes.
const MODAL_FRAME: &str = r#"<!doctype html><html><head><meta charset="utf-8"><script>
(function () {
  var modalId = "";
  function post(m) { parent.postMessage(m, "*"); }
  window.maestro = {
    get modalId() { return modalId; },
    sendAction: function (action, data) {
      post({ type: "maestro:modal_action", modalId: modalId, action: action, data: data || {} });
    },
    close: function () { post({ type: "maestro:modal_close", modalId: modalId }); }
  };
  addEventListener("message", function once(e) {
    if (e.source !== parent || !e.data || e.data.type !== "maestro:modal_html") return;
    removeEventListener("message", once);
    modalId = String(e.data.modalId || "");
    document.open();
    document.write(String(e.data.html || ""));
    document.close();
  });
  // Once this page is parsed: a document.open() while its parser still runs would lose the
  // scripts of what is written.
  addEventListener("load", function () { post({ type: "maestro:frame_ready" }); });
})();
</script></head><body></body></html>"#;

/// `GET /modal-frame` (public, static): the page the app frames an agent's modal HTML in.
/// Agent HTML is untrusted, so the page is its own sandbox whatever the embedding says: the
/// CSP `sandbox allow-scripts` gives it an opaque origin (no access to the app's storage,
/// cookies or DOM), it may load nothing and connect nowhere (`default-src 'none'`: the CLI
/// bridge's direct `fetch` to the API is refused, so the app's authenticated call is the only
/// path), only inline scripts, styles and `data:` images run, and only the app may frame it.
pub async fn modal_frame() -> Response {
    let mut res = (StatusCode::OK, MODAL_FRAME).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox allow-scripts allow-forms; default-src 'none'; \
             script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; \
             font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'",
        ),
    );
    no_sniff_no_referrer(h);
    res
}

/// The Content-Security-Policy of the app's pages.
fn csp(state: &AppState) -> String {
    let mut connect = "'self' ws: wss:".to_string();
    if let Some(s) = &state.config().security.supabase {
        connect.push(' ');
        connect.push_str(s.url.trim_end_matches('/'));
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         connect-src {connect}; font-src 'self'; manifest-src 'self'; worker-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
    )
}

fn harden(state: &AppState, headers: &mut HeaderMap) {
    if let Ok(v) = HeaderValue::from_str(&csp(state)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    no_sniff_no_referrer(headers);
}

/// What every page the server writes carries, framable or not.
fn no_sniff_no_referrer(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Serves `path` of the app (SPA fallback to `index.html`), precompressed when the build has
/// the file in a coding `accept_encoding` allows (`Content-Encoding`, `Vary: Accept-Encoding`).
pub fn serve(state: &AppState, path: &str, accept_encoding: &str) -> Response {
    let rel = path.trim_start_matches('/');
    let found = if rel.is_empty() {
        None
    } else {
        maestro_web::get_encoded(rel, accept_encoding)
    };
    let (asset, coding) = match found {
        Some(found) => found,
        // A missing hashed asset is a stale client: 404, not the HTML shell.
        None if rel.starts_with("assets/") => {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        None => match maestro_web::get_encoded("index.html", accept_encoding) {
            Some(found) => found,
            None => return not_built(state),
        },
    };
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut res = (StatusCode::OK, asset.body.into_owned()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(coding) = coding {
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(coding.as_str()),
        );
    }
    harden(state, h);
    res
}

/// The answer when the binary was built without the app (`MAESTRO_SKIP_WEB_BUILD`).
fn not_built(state: &AppState) -> Response {
    let body = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Maestro Server</title>\
        <h1>Maestro Server is running</h1><p>The web app was not built into this binary \
        (MAESTRO_SKIP_WEB_BUILD was set, or web/ has no build). Rebuild with Node.js and npm \
        installed: <code>cargo build --release -p maestro-server</code>.</p><p>The API is at \
        <code>/api</code>; health at <code>/health</code>.</p></html>";
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    harden(state, h);
    res
}
