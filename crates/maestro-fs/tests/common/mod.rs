//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The committed fixture data directory (`tests/fixtures/data-dir` of the workspace).
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/data-dir")
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every regular file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), out);
            } else {
                out.push(entry.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Reads a JSON file with plain serde_json and checks the original's formatting: 2-space
/// pretty printing, no trailing newline.
pub fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        text,
        serde_json::to_string_pretty(&value).unwrap(),
        "{} is not 2-space pretty JSON without trailing newline",
        path.display()
    );
    value
}

/// Asserts every key of `expected` is in `actual` with the same value.
pub fn assert_contains(actual: &Value, expected: &Value, what: &str) {
    let (Value::Object(a), Value::Object(e)) = (actual, expected) else {
        panic!("{what}: not objects");
    };
    for (k, v) in e {
        assert_eq!(a.get(k), Some(v), "{what}: key {k:?} differs");
    }
}
