//! # maestro-web
//!
//! The phone web app (`web/`, a Vite build) as static assets: embedded in release builds,
//! read from `web/dist` on disk in debug builds (so `npm run build` is picked up without
//! recompiling). `build.rs` runs the npm build during `cargo build`.

use std::borrow::Cow;

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Dist;

/// One file of the app.
#[derive(Debug, Clone)]
pub struct Asset {
    pub body: Cow<'static, [u8]>,
    pub content_type: &'static str,
    /// Content-hashed file under `assets/`: cacheable forever.
    pub immutable: bool,
}

/// The file at `path` (relative, without a leading `/`), if the build has it.
pub fn get(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    if path.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return None;
    }
    Dist::get(path).map(|f| Asset {
        body: f.data,
        content_type: content_type(path),
        immutable: path.starts_with("assets/"),
    })
}

/// `index.html`, the SPA's entry for every client-side route.
pub fn index() -> Option<Asset> {
    get("index.html")
}

/// Whether the app was built (`web/dist/index.html` exists).
pub fn is_built() -> bool {
    index().is_some()
}

/// The MIME type of a file by its extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/app-1a2b.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("x"), "application/octet-stream");
    }

    #[test]
    fn traversal_is_never_looked_up() {
        assert!(get("../Cargo.toml").is_none());
        assert!(get("assets/../../x").is_none());
        assert!(get("a//b").is_none());
    }
}
