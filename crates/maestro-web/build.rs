//! Builds the web app (`web/`, Vite) into `web/dist` so that `cargo build` alone yields a
//! server with the app at `/`. Needs Node.js and npm; `MAESTRO_SKIP_WEB_BUILD=1` opts out
//! (the server then serves whatever `web/dist` holds, or a page saying the app is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

const INPUTS: [&str; 8] = [
    "src",
    "public",
    "build",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    println!("cargo:rerun-if-env-changed=MAESTRO_SKIP_WEB_BUILD");
    println!("cargo:rerun-if-env-changed=NPM");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = manifest_dir.join("../../web");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    let skip = std::env::var("MAESTRO_SKIP_WEB_BUILD")
        .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
    if skip {
        println!("cargo:warning=MAESTRO_SKIP_WEB_BUILD is set: the web app was not rebuilt");
        return;
    }
    if !web.join("package.json").is_file() {
        return;
    }
    let npm = std::env::var("NPM").unwrap_or_else(|_| "npm".into());
    if Command::new(&npm).arg("--version").output().is_err() {
        panic!(
            "\n\nThe web app in web/ is built with Node.js and npm, and `{npm}` was not found.\n\
             Install Node.js 20+ (with npm), or set MAESTRO_SKIP_WEB_BUILD=1 to build the server \
             without rebuilding the app.\n\n"
        );
    }
    if needs_install(&web) {
        run(&npm, &["ci", "--no-audit", "--no-fund"], &web);
    }
    run(&npm, &["run", "build"], &web);
}

/// `node_modules` is missing or older than the lock file.
fn needs_install(web: &Path) -> bool {
    let stamp = web.join("node_modules/.package-lock.json");
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    match (modified(&stamp), modified(&web.join("package-lock.json"))) {
        (Some(installed), Some(lock)) => lock > installed,
        _ => true,
    }
}

fn run(npm: &str, args: &[&str], dir: &Path) {
    let out = Command::new(npm).args(args).current_dir(dir).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "\n\n`{npm} {}` failed in web/ ({}):\n{}\n{}\n\
             Fix the web build, or set MAESTRO_SKIP_WEB_BUILD=1 to build the server without it.\n",
            args.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("\n\ncannot run `{npm} {}` in web/: {e}\n", args.join(" ")),
    }
}
