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
    let path = checked(path)?;
    Dist::get(path).map(|f| asset(path, f.data))
}

/// `path` without its leading `/`, unless it could leave the build's directory.
fn checked(path: &str) -> Option<&str> {
    let path = path.trim_start_matches('/');
    (!path.split('/').any(|seg| seg == ".." || seg.is_empty())).then_some(path)
}

/// `body` as the file at `path`: its type and caching follow from the path.
fn asset(path: &str, body: Cow<'static, [u8]>) -> Asset {
    Asset {
        body,
        content_type: content_type(path),
        immutable: path.starts_with("assets/"),
    }
}

/// A content coding the build precompressed files with (`<file>.br`, `<file>.gz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    /// The `Content-Encoding` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
        }
    }
}

/// The codings an `Accept-Encoding` header allows, best first (brotli, then gzip): a coding
/// counts when it is named, or covered by `*`, with a `q` above zero.
pub fn accepted(accept_encoding: &str) -> Vec<Encoding> {
    let mut named: Vec<(String, f32)> = Vec::new();
    for part in accept_encoding.split(',') {
        let mut fields = part.split(';');
        let name = fields
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        named.push((name, q));
    }
    let q_of = |coding: &str| {
        named
            .iter()
            .find(|(n, _)| n == coding)
            .or_else(|| named.iter().find(|(n, _)| n == "*"))
            .map_or(0.0, |(_, q)| *q)
    };
    [(Encoding::Brotli, "br"), (Encoding::Gzip, "gzip")]
        .into_iter()
        .filter(|(_, name)| q_of(name) > 0.0)
        .map(|(e, _)| e)
        .collect()
}

/// The file at `path` in the best precompressed form `accept_encoding` allows, with its
/// coding, else as it is (`None`). The asset's type and caching are those of the file itself.
pub fn get_encoded(path: &str, accept_encoding: &str) -> Option<(Asset, Option<Encoding>)> {
    let path = checked(path)?;
    // A compressed copy exists only next to its file (the build writes both), so the plain
    // file is read only when no accepted copy is there.
    for coding in accepted(accept_encoding) {
        if let Some(f) = Dist::get(&format!("{path}{}", coding.suffix())) {
            return Some((asset(path, f.data), Some(coding)));
        }
    }
    get(path).map(|plain| (plain, None))
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
    fn accept_encoding_is_read_with_q_values() {
        use Encoding::{Brotli, Gzip};
        assert_eq!(accepted("gzip, deflate, br, zstd"), [Brotli, Gzip]);
        assert_eq!(accepted("gzip"), [Gzip]);
        assert_eq!(accepted("br;q=0, gzip;q=0.5"), [Gzip]);
        assert_eq!(accepted("*"), [Brotli, Gzip]);
        assert_eq!(accepted("*;q=0, br"), [Brotli]);
        assert_eq!(accepted("identity"), []);
        assert_eq!(accepted(""), []);
        assert_eq!(accepted("BR ; Q=1"), [Brotli]);
    }

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
