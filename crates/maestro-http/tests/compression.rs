//! Bytes on the wire for a phone on a slow link (issue 27): the app's files are served in the
//! best precompressed coding the request accepts (brotli, then gzip) with `Vary:
//! Accept-Encoding`; API answers of 1 KB or more are gzipped when accepted; nothing is
//! compressed for a client that does not ask.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

async fn get(s: &TestServer, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = s.client().get(s.url(path));
    if let Some(a) = accept {
        req = req.header("accept-encoding", a);
    }
    req.send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_apps_files_come_precompressed_by_accept_encoding() {
    if !maestro_web::is_built() {
        maestro_testkit::services::missing(
            "the web app is not built (web/dist)",
            "Build it: npm ci --prefix web && npm run build --prefix web.",
        );
        return;
    }
    let s = TestServer::memory().await;
    let plain = get(&s, "/", None).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "content-encoding"), "");
    assert_eq!(header(&plain, "vary"), "Accept-Encoding");
    let html = plain.text().await.unwrap();
    // The entry script: the biggest file of the first load.
    let script = html
        .split("src=\"")
        .skip(1)
        .find_map(|rest| rest.split('"').next().filter(|p| p.ends_with(".js")))
        .expect("index.html loads a script")
        .to_string();
    let raw = get(&s, &script, None).await.bytes().await.unwrap();
    for (accept, coding) in [
        ("gzip, deflate, br", "br"),
        ("br;q=0, gzip", "gzip"),
        ("gzip", "gzip"),
    ] {
        let r = get(&s, &script, Some(accept)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-encoding"), coding, "{accept}");
        assert_eq!(header(&r, "vary"), "Accept-Encoding");
        assert!(header(&r, "content-type").starts_with("text/javascript"));
        assert!(header(&r, "cache-control").contains("immutable"));
        let body = r.bytes().await.unwrap();
        assert!(
            body.len() * 2 < raw.len(),
            "{coding}: {} of {}",
            body.len(),
            raw.len()
        );
    }
    let identity = get(&s, &script, Some("identity")).await;
    assert_eq!(header(&identity, "content-encoding"), "");
    assert_eq!(identity.bytes().await.unwrap(), raw);
    // A client-side route gets the HTML shell, compressed as well.
    let deep = get(&s, "/projects/p1/tasks", Some("br")).await;
    assert_eq!(header(&deep, "content-encoding"), "br");
}

#[tokio::test]
async fn api_answers_of_a_kilobyte_or_more_are_gzipped_when_accepted() {
    let s = TestServer::memory().await;
    let p = id(&s.project("Compressed").await);
    for i in 0..20 {
        s.post(
            "/api/tasks",
            json!({"projectId": p, "title": format!("A task with a title long enough {i}")}),
        )
        .await
        .ok(201);
    }
    let path = format!("/api/tasks?projectId={p}");
    let plain = get(&s, &path, None).await;
    assert_eq!(header(&plain, "content-encoding"), "");
    let raw = plain.bytes().await.unwrap();
    assert!(raw.len() > 1024);
    let gz = get(&s, &path, Some("gzip, br")).await;
    assert_eq!(gz.status(), 200);
    assert_eq!(header(&gz, "content-encoding"), "gzip");
    assert!(
        header(&gz, "vary")
            .to_ascii_lowercase()
            .contains("accept-encoding")
    );
    let body = gz.bytes().await.unwrap();
    assert!(
        body.len() < raw.len() / 2,
        "{} of {}",
        body.len(),
        raw.len()
    );
    // A small answer is not worth it.
    let small = get(&s, &format!("/api/projects/{p}"), Some("gzip")).await;
    assert_eq!(small.status(), 200);
    assert_eq!(header(&small, "content-encoding"), "");
}
