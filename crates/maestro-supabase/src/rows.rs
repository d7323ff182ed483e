//! Row mapping: a domain struct's camelCase JSON ⇄ a table row of typed snake_case columns plus
//! `extra` (the keys the server does not know).
//!
//! A [`Spec`] lists the columns of one table. Writing: each known key moves to its column
//! (absent → NULL); with `extra`, every remaining key goes into the `extra` jsonb column.
//! Reading: each column goes back to its key — an `optional` column that is NULL is left out
//! (the `skip_serializing_if` fields), any other NULL becomes JSON `null` — and the `extra`
//! keys are laid beside them. The result deserialises into the same struct that was written.

use maestro_domain::{DomainError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One column: the domain JSON key, the column name, and whether NULL means "key absent".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    pub key: &'static str,
    pub column: &'static str,
    pub optional: bool,
}

const fn req(key: &'static str, column: &'static str) -> Col {
    Col {
        key,
        column,
        optional: false,
    }
}

const fn opt(key: &'static str, column: &'static str) -> Col {
    Col {
        key,
        column,
        optional: true,
    }
}

/// A table and the mapping of its rows.
#[derive(Debug)]
pub(crate) struct Spec {
    pub table: &'static str,
    /// Resource name in NotFound / Conflict messages.
    pub resource: &'static str,
    pub cols: &'static [Col],
    /// Whether the table has an `extra` jsonb column for unknown keys.
    pub extra: bool,
    /// Whether the table has a `version` column (optimistic concurrency).
    pub versioned: bool,
    /// The listing order (`order=` value).
    pub order: &'static str,
}

impl Spec {
    /// The `select=` list: every mapped column, `extra`, and `version` when asked.
    pub fn select(&self, with_version: bool) -> String {
        let mut cols: Vec<&str> = self.cols.iter().map(|c| c.column).collect();
        if self.extra {
            cols.push("extra");
        }
        if with_version && self.versioned {
            cols.push("version");
        }
        cols.join(",")
    }

    /// The row of `value`.
    pub fn to_row<T: Serialize>(&self, value: &T) -> Result<Value> {
        let Value::Object(mut obj) = serde_json::to_value(value).map_err(|e| {
            DomainError::Internal(format!("cannot serialise a {}: {e}", self.resource))
        })?
        else {
            return Err(DomainError::Internal(format!(
                "a {} did not serialise to an object",
                self.resource
            )));
        };
        let mut row = Map::new();
        for c in self.cols {
            row.insert(
                c.column.to_owned(),
                obj.remove(c.key).unwrap_or(Value::Null),
            );
        }
        if self.extra {
            row.insert("extra".to_owned(), Value::Object(obj));
        } else if let Some(k) = obj.keys().next() {
            return Err(DomainError::Internal(format!(
                "a {} has key '{k}', which table {} has no column for",
                self.resource, self.table
            )));
        }
        Ok(Value::Object(row))
    }

    /// The domain JSON object of `row` (unknown columns such as `version` are ignored).
    pub fn to_object(&self, row: Value) -> Result<Map<String, Value>> {
        let Value::Object(mut row) = row else {
            return Err(DomainError::Internal(format!(
                "table {} answered a non-object row",
                self.table
            )));
        };
        let mut out = Map::new();
        for c in self.cols {
            match row.remove(c.column) {
                None => {}
                Some(Value::Null) if c.optional => {}
                Some(v) => {
                    out.insert(c.key.to_owned(), v);
                }
            }
        }
        if self.extra
            && let Some(Value::Object(extra)) = row.remove("extra")
        {
            for (k, v) in extra {
                out.entry(k).or_insert(v);
            }
        }
        Ok(out)
    }

    /// The domain struct of `row`.
    pub fn decode<T: DeserializeOwned>(&self, row: Value) -> Result<T> {
        let obj = self.to_object(row)?;
        serde_json::from_value(Value::Object(obj)).map_err(|e| {
            DomainError::Internal(format!(
                "a row of table {} is not a valid {}: {e}",
                self.table, self.resource
            ))
        })
    }
}

/// The `version` of a row read with [`Spec::select`]`(true)`.
pub(crate) fn version_of(row: &Value) -> Result<i64> {
    row.get("version").and_then(Value::as_i64).ok_or_else(|| {
        DomainError::Internal("a row came back without its version column".to_owned())
    })
}

pub(crate) static PROJECTS: Spec = Spec {
    table: "projects",
    resource: "Project",
    cols: &[
        req("id", "id"),
        req("name", "name"),
        req("workingDir", "working_dir"),
        req("description", "description"),
        req("createdAt", "created_at"),
        req("updatedAt", "updated_at"),
    ],
    extra: true,
    versioned: true,
    order: "created_at.asc,id.asc",
};

pub(crate) static TASKS: Spec = Spec {
    table: "tasks",
    resource: "Task",
    cols: &[
        req("id", "id"),
        req("projectId", "project_id"),
        req("parentId", "parent_id"),
        req("title", "title"),
        req("description", "description"),
        req("status", "status"),
        req("taskSessionStatuses", "task_session_statuses"),
        req("priority", "priority"),
        req("createdAt", "created_at"),
        req("updatedAt", "updated_at"),
        req("startedAt", "started_at"),
        req("completedAt", "completed_at"),
        req("initialPrompt", "initial_prompt"),
        req("sessionIds", "session_ids"),
        req("skillIds", "skill_ids"),
        req("agentIds", "agent_ids"),
        req("dependencies", "dependencies"),
        req("referenceTaskIds", "reference_task_ids"),
        opt("pinned", "pinned"),
        opt("teamMemberId", "team_member_id"),
        opt("teamMemberIds", "team_member_ids"),
    ],
    extra: true,
    versioned: true,
    order: "created_at.asc,id.asc",
};

pub(crate) static SESSIONS: Spec = Spec {
    table: "sessions",
    resource: "Session",
    cols: &[
        req("id", "id"),
        req("projectId", "project_id"),
        req("taskIds", "task_ids"),
        req("name", "name"),
        opt("agentId", "agent_id"),
        req("env", "env"),
        req("status", "status"),
        req("startedAt", "started_at"),
        req("lastActivity", "last_activity"),
        req("completedAt", "completed_at"),
        req("hostname", "hostname"),
        req("platform", "platform"),
        req("events", "events"),
        req("timeline", "timeline"),
        req("docs", "docs"),
        opt("metadata", "metadata"),
        opt("needsInput", "needs_input"),
        opt("teamMemberId", "team_member_id"),
        opt("teamMemberSnapshot", "team_member_snapshot"),
        opt("teamMemberIds", "team_member_ids"),
        opt("teamMemberSnapshots", "team_member_snapshots"),
    ],
    extra: true,
    versioned: true,
    order: "started_at.asc,id.asc",
};

pub(crate) static MAIL: Spec = Spec {
    table: "mail_messages",
    resource: "Mail message",
    cols: &[
        req("id", "id"),
        req("projectId", "project_id"),
        req("fromSessionId", "from_session_id"),
        req("toSessionId", "to_session_id"),
        req("replyToMailId", "reply_to_mail_id"),
        req("type", "type"),
        req("subject", "subject"),
        req("body", "body"),
        req("createdAt", "created_at"),
    ],
    extra: false,
    versioned: false,
    order: "created_at.asc,id.asc",
};

pub(crate) static TEAM_MEMBERS: Spec = Spec {
    table: "team_members",
    resource: "Team member",
    cols: &[
        req("id", "id"),
        req("projectId", "project_id"),
        req("name", "name"),
        req("role", "role"),
        req("avatar", "avatar"),
        req("identity", "identity"),
        opt("model", "model"),
        opt("agentTool", "agent_tool"),
        opt("mode", "mode"),
        req("skillIds", "skill_ids"),
        req("isDefault", "is_default"),
        req("status", "status"),
        opt("capabilities", "capabilities"),
        opt("commandPermissions", "command_permissions"),
        opt("workflowTemplateId", "workflow_template_id"),
        opt("customWorkflow", "custom_workflow"),
        req("createdAt", "created_at"),
        req("updatedAt", "updated_at"),
    ],
    extra: true,
    versioned: true,
    order: "created_at.asc,id.asc",
};

pub(crate) static ORDERINGS: Spec = Spec {
    table: "orderings",
    resource: "Ordering",
    cols: &[
        req("projectId", "project_id"),
        req("entityType", "entity_type"),
        req("orderedIds", "ordered_ids"),
        req("updatedAt", "updated_at"),
    ],
    extra: false,
    versioned: false,
    order: "project_id.asc,entity_type.asc",
};

/// Table of the built-in members' override objects (`data` jsonb).
pub(crate) const OVERRIDES_TABLE: &str = "team_member_overrides";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use maestro_domain::model::{Session, Task};
    use serde_json::json;

    #[test]
    fn task_round_trips_through_a_row() {
        let raw = json!({
            "id": "task_1", "projectId": "p", "parentId": null, "title": "T",
            "description": "", "status": "todo", "priority": "medium", "createdAt": 1,
            "updatedAt": 2, "startedAt": null, "completedAt": 3, "initialPrompt": "",
            "sessionIds": ["s"], "skillIds": [], "agentIds": [], "dependencies": [],
            "referenceTaskIds": [], "pinned": false, "acceptanceCriteria": ["works"]
        });
        let task: Task = serde_json::from_value(raw).unwrap();
        let row = TASKS.to_row(&task).unwrap();
        assert_eq!(row["extra"], json!({"acceptanceCriteria": ["works"]}));
        assert_eq!(row["team_member_ids"], Value::Null);
        assert_eq!(row["pinned"], json!(false));
        let mut back = row.clone();
        back["version"] = json!(4);
        let again: Task = TASKS.decode(back).unwrap();
        assert_eq!(again, task);
    }

    #[test]
    fn session_optional_fields_stay_absent() {
        let raw = json!({
            "id": "s", "projectId": "p", "name": "n", "status": "idle", "startedAt": 1,
            "lastActivity": 1, "mystery": {"a": 1}
        });
        let s: Session = serde_json::from_value(raw).unwrap();
        let row = SESSIONS.to_row(&s).unwrap();
        let obj = SESSIONS.to_object(row).unwrap();
        assert!(!obj.contains_key("needsInput"));
        assert_eq!(obj["completedAt"], Value::Null);
        assert_eq!(obj["mystery"], json!({"a": 1}));
        let back: Session = SESSIONS.decode(SESSIONS.to_row(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
