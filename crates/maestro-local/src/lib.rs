//! # maestro-local
//!
//! Adapters for what lives on the machine the server runs on, beside the agents it spawns:
//!
//! | Port ([`maestro_domain::ports`]) | Adapter | Where |
//! |---|---|---|
//! | `ManifestGenerator` | [`CliManifestGenerator`] | runs `maestro manifest generate` into `SESSION_DIR/<sessionId>/` |
//! | `ModalPages` | [`FsModalPages`] | `DATA_DIR/modals/<modalId>.html` plus a `.session` owner file |
//! | `SkillCatalog` | [`FsSkillCatalog`] | `SKILLS_DIR/<skill>/SKILL.md` |
//!
//! These stay local whichever storage backend holds the data: the CLI and the agents read
//! the same directories.

mod manifest;
mod modal;
mod skills;

pub use manifest::{CHILD_ENV_ALLOW, CliManifestGenerator, child_env, find_program};
pub use modal::FsModalPages;
pub use skills::FsSkillCatalog;
