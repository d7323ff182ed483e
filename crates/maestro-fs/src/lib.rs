//! # maestro-fs
//!
//! The FileSystem adapters: the embedded default persistence of Maestro Server, reading and
//! writing the data directory of the original TypeScript server byte-compatibly (the
//! `maestro` CLI reads these files directly).
//!
//! ## Layout (`<DATA_DIR>`, spec STORAGE.md §1)
//!
//! ```text
//! projects/<projectId>.json
//! tasks/<projectId>/<taskId>.json          tasks/<taskId>.json (legacy, migrated at start-up)
//! sessions/<sessionId>.json                (events, timeline and docs inside)
//! mail/<mailId>.json
//! ordering/task/<projectId>.json           ordering/session/<projectId>.json
//! team-members/<projectId>/<tmId>.json     custom members
//! team-members/<projectId>/tm_<projectId>_<type>.override.json   partial overrides
//! maestro-server.lock                      this crate: exclusive lock, holder pid
//! .backup/                                 this crate: files moved aside by migrations
//! ```
//!
//! One entity per file, UTF-8 JSON pretty-printed with 2-space indentation and no trailing
//! newline; keys this server does not know are kept (`extra` of the domain structs, or kept
//! beside orderings) and written back.
//!
//! ## Guarantees
//!
//! - **Durability**: each write goes to `.<name>.<pid>-<n>.tmp` in the same folder, is
//!   fsynced, renamed over the target, and the folder fsynced. A single-record change writes
//!   only that record's file. Temp files left by a crash are removed at start-up.
//! - **No divergence**: a mutation computes the new record on a clone, writes it, and swaps it
//!   into the cache only after the write succeeded (DEFECTS R3); reads return clones (R4).
//! - **Concurrency**: writers of one record are serialised by a sharded async mutex (per
//!   record for projects, tasks, sessions, mail; per project for orderings and team members),
//!   so `update` is an atomic read-modify-write (R2). A second store on the same directory —
//!   in this or another process — is refused by the lock file.
//! - **Safety**: every id that becomes a path component is checked with
//!   [`maestro_domain::validate::is_safe_id`] before any disk access; a bad id is a
//!   `DomainError::Validation` (S4). Filter ids of listings never reach the disk and are not
//!   checked.
//! - **Start-up** ([`FsStore::open`]): everything is loaded into memory in parallel; tasks,
//!   sessions and mail are indexed by project so per-project listings cost work proportional
//!   to the project. Load-time migrations (STORAGE.md §2, DEFECTS C23/C24): task defaults;
//!   legacy `sessionStatus` (file re-saved); legacy root-level task files (new file written,
//!   then the legacy file removed; a stale duplicate goes to `.backup/legacy-tasks/`);
//!   `taskType: "team-member"` tasks moved to `.backup/team-member-tasks/`; session defaults
//!   and `strategy` removal (file re-saved). A missing `taskSessionStatuses` is filled in
//!   memory only (it is written with the next change of the task).
//! - **Corrupt files** (unreadable, not JSON, wrong shape, unsafe or mismatched ids): reported
//!   with their path (tracing `warn` and [`LoadReport::corrupt`]), copied aside as
//!   `<file>.corrupt`, and skipped; or, with [`CorruptPolicy::Refuse`], start-up fails with
//!   [`FsError::Corrupt`] listing them and no record file is touched.
//!
//! I/O failures reach the ports as `DomainError::Unavailable` naming the path.

mod blob;
mod config;
mod dirlock;
mod durable;
mod error;
mod keylocks;
mod layout;
mod load;
mod repo;
mod store;

pub use blob::FsBlobStore;
pub use config::{CorruptPolicy, FsConfig};
pub use dirlock::{LockHolder, lock_holder};
pub use error::{CorruptFile, FsError};
pub use load::LoadReport;
pub use repo::{FsApiKeys, FsPushSubscriptions};
pub use store::FsStore;
