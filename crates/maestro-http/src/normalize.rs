//! Path tolerance of the original (Express): case-insensitive route words and an optional
//! trailing slash. Applied before routing; ids keep their case.

use axum::http::{Request, Uri};

/// Literal path words of the API; matched case-insensitively.
const WORDS: &[&str] = &[
    "api",
    "health",
    "ws-status",
    "projects",
    "tasks",
    "timeline",
    "docs",
    "children",
    "sessions",
    "events",
    "modal",
    "actions",
    "close",
    "spawn",
    "heartbeat",
    "presence",
    "mail",
    "inbox",
    "wait",
    "skills",
    "mode",
    "reload",
    "ordering",
    "team-members",
    "archive",
    "unarchive",
    "reset",
    "workflow-templates",
    "openapi.json",
    "auth",
    "config",
];

/// Rewrites the path of `req`: route words lower-cased, one trailing slash dropped.
pub fn normalize<B>(mut req: Request<B>) -> Request<B> {
    let path = req.uri().path();
    if path.starts_with("/socket.io") {
        return req;
    }
    let needs = path.len() > 1 && path.ends_with('/')
        || path
            .split('/')
            .any(|seg| seg.bytes().any(|b| b.is_ascii_uppercase()) && is_word(seg));
    if !needs {
        return req;
    }
    let mut new_path: String = path
        .split('/')
        .map(|seg| {
            if is_word(seg) {
                seg.to_ascii_lowercase()
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    while new_path.len() > 1 && new_path.ends_with('/') {
        new_path.pop();
    }
    let pq = match req.uri().query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(p) = pq.parse() {
        parts.path_and_query = Some(p);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn is_word(seg: &str) -> bool {
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(seg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> String {
        let req = Request::builder().uri(p).body(()).unwrap();
        normalize(req).uri().to_string()
    }

    #[test]
    fn words_lowercased_ids_kept_trailing_slash_dropped() {
        assert_eq!(norm("/API/Tasks/Task_ABC/"), "/api/tasks/Task_ABC");
        assert_eq!(norm("/api/projects/?x=1"), "/api/projects?x=1");
        assert_eq!(norm("/"), "/");
        assert_eq!(norm("/api/tasks"), "/api/tasks");
    }
}
