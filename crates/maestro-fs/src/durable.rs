//! Durable file operations: every write is temp file → fsync → rename → fsync directory, so a
//! crash leaves either the old or the new content, never a torn file.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::FsError;

/// Suffix of in-flight temp files (`.<name>.<pid>-<n>.tmp`); such files left by a crash are
/// removed at start-up. They never end in `.json`, so no reader mistakes them for data.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Serialises a record the way the original does: pretty-printed, 2-space indentation, no
/// trailing newline.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>, FsError> {
    serde_json::to_vec_pretty(value).map_err(|source| FsError::Serialize {
        what: what.to_string(),
        source,
    })
}

/// The record in the JSON file at `path`; `None` when there is no such file. `op` names the
/// parse in the error of a file that is not such a record.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    op: &'static str,
) -> Result<Option<T>, FsError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| FsError::Io {
                op,
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::io("read", path, e)),
    }
}

/// The records of every `*.json` file in `dir` (temp files skipped), unsorted; none when the
/// directory does not exist.
pub(crate) fn read_json_dir<T: serde::de::DeserializeOwned>(
    dir: &Path,
    op: &'static str,
) -> Result<Vec<T>, FsError> {
    let entries = match fs::read_dir(dir) {
        Ok(it) => it,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FsError::io("read directory", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FsError::io("read directory", dir, e))?;
        let path = entry.path();
        let is_json =
            path.extension().is_some_and(|x| x == "json") && !is_temp_name(&entry.file_name());
        if is_json && let Some(record) = read_json(&path, op)? {
            out.push(record);
        }
    }
    Ok(out)
}

fn parent_of(path: &Path) -> &Path {
    path.parent().unwrap_or_else(|| Path::new("."))
}

/// Whether `name` is one of our temp files.
pub(crate) fn is_temp_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name.ends_with(TMP_SUFFIX)
}

/// Fsyncs a directory so a rename or unlink inside it is durable.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FsError::io("fsync directory", dir, e))
}

/// Directories cannot be opened (or fsynced) as files on this platform; NTFS journals the
/// rename itself.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> Result<(), FsError> {
    Ok(())
}

/// Creates `dir` (and missing parents); when something was created, the parent is fsynced so
/// the new entry survives a crash.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), FsError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| FsError::io("create directory", dir, e))?;
    sync_dir(parent_of(dir))
}

/// Atomically replaces `path` with `bytes` (the parent directory must exist).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(
        ".{name}.{}-{}{TMP_SUFFIX}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(FsError::io("write temp file", tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(FsError::io("rename temp file onto", path, e));
    }
    sync_dir(dir)
}

/// Removes `path` durably. Returns whether it existed.
pub(crate) fn remove_durable(path: &Path) -> Result<bool, FsError> {
    match fs::remove_file(path) {
        Ok(()) => {
            sync_dir(parent_of(path))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FsError::io("remove", path, e)),
    }
}

/// Moves `from` to `to` (creating `to`'s directory) durably; `to` is never overwritten: an
/// existing target gets a numbered sibling name instead. Returns the final target.
pub(crate) fn move_aside(from: &Path, to: &Path) -> Result<PathBuf, FsError> {
    ensure_dir(parent_of(to))?;
    let target = free_name(to);
    fs::rename(from, &target).map_err(|e| FsError::io("move", from, e))?;
    sync_dir(parent_of(&target))?;
    sync_dir(parent_of(from))?;
    Ok(target)
}

/// Writes a copy of `bytes` next to nothing in particular: at `to`, or at a numbered sibling
/// if `to` exists with other content. Does nothing if an identical copy is already there.
pub(crate) fn copy_aside(bytes: &[u8], to: &Path) -> Result<PathBuf, FsError> {
    if fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(to.to_path_buf());
    }
    let target = free_name(to);
    write_atomic(&target, bytes)?;
    Ok(target)
}

fn free_name(to: &Path) -> PathBuf {
    if !to.exists() {
        return to.to_path_buf();
    }
    let mut n = 1u32;
    loop {
        let mut s = to.as_os_str().to_owned();
        s.push(format!(".{n}"));
        let candidate = PathBuf::from(s);
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"{}").unwrap();
        write_atomic(&p, b"{\n  \"a\": 1\n}").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{\n  \"a\": 1\n}");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn failed_write_keeps_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("a.json");
        assert!(write_atomic(&p, b"{}").is_err());
        assert!(!p.exists());
    }

    #[test]
    fn copies_aside_without_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.corrupt");
        assert_eq!(copy_aside(b"1", &p).unwrap(), p);
        assert_eq!(copy_aside(b"1", &p).unwrap(), p);
        let second = copy_aside(b"2", &p).unwrap();
        assert_eq!(second, dir.path().join("x.corrupt.1"));
        assert_eq!(fs::read(&p).unwrap(), b"1");
    }

    #[test]
    fn json_is_pretty_without_trailing_newline() {
        let v = serde_json::json!({"a": [1], "b": {}});
        let s = String::from_utf8(to_json(&v, "x").unwrap()).unwrap();
        assert_eq!(s, "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
    }
}
