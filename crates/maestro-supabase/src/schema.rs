//! The schema this build expects, and what a database says it has.
//!
//! Every file of the workspace's `migrations/` is listed in [`MIGRATIONS`] (a test keeps the
//! two equal). From `20261207000100_maestro_schema_version.sql` on, each migration records
//! its version in `maestro_schema_migrations`, and `maestro_schema_status()` (service role
//! only) answers those versions plus whether row-level security is on for every table of the
//! API schema; [`schema_status`] calls it and [`SchemaStatus`] compares.

use serde::Deserialize;
use serde_json::json;

use crate::client::PostgrestClient;
use crate::error::PostgrestError;

/// One migration file: `<version>_<name>.sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: &'static str,
    pub name: &'static str,
}

impl Migration {
    /// Its file name in `migrations/`.
    pub fn file_name(&self) -> String {
        format!("{}_{}.sql", self.version, self.name)
    }
}

/// Every migration, in the order they are applied.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "20261121000100",
        name: "maestro_tables",
    },
    Migration {
        version: "20261121000200",
        name: "maestro_access",
    },
    Migration {
        version: "20261121000300",
        name: "maestro_rls",
    },
    Migration {
        version: "20261121000400",
        name: "maestro_rpc",
    },
    Migration {
        version: "20261201000100",
        name: "maestro_open_task_values",
    },
    Migration {
        version: "20261202000100",
        name: "maestro_member_added_at",
    },
    Migration {
        version: "20261203000100",
        name: "maestro_api_keys",
    },
    Migration {
        version: "20261207000100",
        name: "maestro_schema_version",
    },
    Migration {
        version: "20261207000200",
        name: "maestro_push_subscriptions",
    },
];

/// The first migration that records itself (the status function comes with it).
pub const SCHEMA_VERSION_MIGRATION: &str = "20261207000100";

/// The tables the migrations create, every one of which must have row-level security.
pub const TABLES: &[&str] = &[
    "api_keys",
    "mail_messages",
    "maestro_schema_migrations",
    "orderings",
    "profiles",
    "project_members",
    "projects",
    "push_subscriptions",
    "sessions",
    "tasks",
    "team_member_overrides",
    "team_members",
];

/// A table of the API schema and whether RLS is enabled on it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TableSecurity {
    pub table: String,
    pub rls: bool,
}

/// What `maestro_schema_status()` answered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SchemaStatus {
    /// Recorded migration versions, ascending.
    pub versions: Vec<String>,
    /// Every table of `public`.
    pub tables: Vec<TableSecurity>,
}

impl SchemaStatus {
    /// The migrations of this build the database has not recorded, in order.
    pub fn missing(&self) -> Vec<Migration> {
        MIGRATIONS
            .iter()
            .filter(|m| !self.versions.iter().any(|v| v == m.version))
            .copied()
            .collect()
    }

    /// Recorded versions this build does not know (a newer server migrated the database).
    pub fn unknown(&self) -> Vec<&str> {
        self.versions
            .iter()
            .filter(|v| !MIGRATIONS.iter().any(|m| m.version == v.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// Maestro's tables that are missing or have row-level security off.
    pub fn unprotected(&self) -> Vec<&'static str> {
        TABLES
            .iter()
            .filter(|t| !self.tables.iter().any(|s| s.table == **t && s.rls))
            .copied()
            .collect()
    }

    /// Other tables of the API schema without row-level security (exposed through PostgREST
    /// to whatever the project's grants allow).
    pub fn others_without_rls(&self) -> Vec<&str> {
        self.tables
            .iter()
            .filter(|s| !s.rls && !TABLES.contains(&s.table.as_str()))
            .map(|s| s.table.as_str())
            .collect()
    }
}

/// Calls `maestro_schema_status()` with `client` (the service role's). A database without the
/// schema-version migration answers `PGRST202` (function not found).
pub async fn schema_status(client: &PostgrestClient) -> Result<SchemaStatus, PostgrestError> {
    let value = client.rpc("maestro_schema_status", &json!({})).await?;
    serde_json::from_value(value).map_err(|e| {
        PostgrestError::protocol(format!(
            "maestro_schema_status() answered unexpectedly: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn migrations_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
    }

    #[test]
    fn migrations_lists_every_file_in_order() {
        let mut files: Vec<String> = std::fs::read_dir(migrations_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(Migration::file_name).collect();
        assert_eq!(listed, files, "MIGRATIONS and migrations/*.sql differ");
    }

    #[test]
    fn every_migration_from_the_schema_version_on_records_itself() {
        let version_file = MIGRATIONS
            .iter()
            .find(|m| m.version == SCHEMA_VERSION_MIGRATION)
            .unwrap();
        let sql = std::fs::read_to_string(migrations_dir().join(version_file.file_name())).unwrap();
        // The schema-version migration records every earlier one too.
        for m in MIGRATIONS
            .iter()
            .filter(|m| m.version <= SCHEMA_VERSION_MIGRATION)
        {
            assert!(
                sql.contains(&format!("('{}', '{}')", m.version, m.name)),
                "{} is not recorded by {}",
                m.version,
                version_file.file_name()
            );
        }
        for m in MIGRATIONS
            .iter()
            .filter(|m| m.version > SCHEMA_VERSION_MIGRATION)
        {
            let sql = std::fs::read_to_string(migrations_dir().join(m.file_name())).unwrap();
            assert!(
                sql.contains("insert into public.maestro_schema_migrations")
                    && sql.contains(&format!("('{}', '{}')", m.version, m.name)),
                "{} does not record its version",
                m.file_name()
            );
        }
    }

    #[test]
    fn status_comparisons() {
        let status = SchemaStatus {
            versions: vec!["20261121000100".into(), "20991231000100".into()],
            tables: vec![
                TableSecurity {
                    table: "projects".into(),
                    rls: true,
                },
                TableSecurity {
                    table: "tasks".into(),
                    rls: false,
                },
                TableSecurity {
                    table: "notes".into(),
                    rls: false,
                },
            ],
        };
        assert_eq!(status.missing().len(), MIGRATIONS.len() - 1);
        assert_eq!(status.unknown(), vec!["20991231000100"]);
        let unprotected = status.unprotected();
        assert!(unprotected.contains(&"tasks") && unprotected.contains(&"api_keys"));
        assert!(!unprotected.contains(&"projects"));
        assert_eq!(status.others_without_rls(), vec!["notes"]);
    }
}
