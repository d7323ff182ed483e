//! `maestro-server doctor`: the configuration as the server would load it, and every backend it
//! names, checked one by one; a table (or `--json`) with a fix for each failure.
//!
//! Each group of settings is validated on its own (`config::Sections`), so one invalid variable does
//! not hide the state of the backends. A check is `ok`, `warn` (works, with a caveat),
//! `fail` (the server would not start, or a feature would not work) or `skip` (not configured,
//! or it depends on a check that failed). The exit status is 1 when any check fails.
//!
//! Nothing is changed anywhere: the data directory gets a probe file that is removed, Redis
//! gets `CONFIG SET notify-keyspace-events` to the value it already has, PostgREST gets reads.

mod local;
mod report;
mod settings;
mod supabase;

use std::path::Path;
use std::time::Duration;

pub use report::{Check, Report, Status};

use crate::config::{Args, Sections, expand_home};

/// How long any one backend may take to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs every check of the configuration in `args` (`home` expands `~`).
pub async fn run(args: &Args, home: Option<&Path>) -> Report {
    let sections = Sections::validate(args);
    let mut checks = vec![settings::config(&sections)];
    checks.extend(settings::access(&sections));
    checks.push(local::data_dir(args, home, &sections));
    checks.extend(local::redis(&sections).await);
    checks.extend(supabase::supabase(args, &sections).await);
    checks.push(local::spawn_cli(&expand_home(&args.cli_path, home)));
    Report { checks }
}
