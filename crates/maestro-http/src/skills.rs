//! Skills read from `SKILLS_DIR` (API.md §8): `<dir>/<skill>/SKILL.md` with YAML frontmatter.
//! Parsed skills are cached and re-read when the file's modification time changes (O7).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use maestro_domain::{DomainError, Result, validate};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Frontmatter keys of a skill.
#[derive(Debug, Clone, Default, Deserialize)]
struct Frontmatter {
    name: Option<String>,
    description: Option<String>,
    version: Option<Value>,
    triggers: Option<Value>,
    role: Option<String>,
    scope: Option<Value>,
    #[serde(rename = "output-format")]
    output_format: Option<Value>,
    language: Option<Value>,
    framework: Option<Value>,
    tags: Option<Value>,
    category: Option<Value>,
    license: Option<Value>,
}

/// One parsed skill.
#[derive(Debug, Clone)]
pub struct Skill {
    pub id: String,
    fm: Frontmatter,
    pub body: String,
    references: usize,
    has_references: bool,
}

impl Skill {
    pub fn name(&self) -> String {
        self.fm.name.clone().unwrap_or_else(|| self.id.clone())
    }

    fn version(&self) -> Value {
        match &self.fm.version {
            Some(Value::String(s)) => Value::String(s.clone()),
            Some(Value::Number(n)) => Value::String(n.to_string()),
            _ => Value::String("1.0.0".into()),
        }
    }

    /// `mode` for orchestrator skills, else `custom`.
    pub fn kind(&self) -> &'static str {
        if self.fm.role.as_deref() == Some("orchestrator") {
            "mode"
        } else {
            "custom"
        }
    }

    /// Item of `GET /api/skills`.
    pub fn list_item(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(self.id));
        o.insert("name".into(), json!(self.name()));
        o.insert(
            "description".into(),
            json!(self.fm.description.clone().unwrap_or_default()),
        );
        o.insert("version".into(), self.version());
        let optional = [
            ("triggers", self.fm.triggers.clone()),
            ("role", self.fm.role.clone().map(Value::String)),
            ("scope", self.fm.scope.clone()),
            ("outputFormat", self.fm.output_format.clone()),
            ("language", self.fm.language.clone()),
            ("framework", self.fm.framework.clone()),
            ("tags", self.fm.tags.clone()),
            ("category", self.fm.category.clone()),
            ("license", self.fm.license.clone()),
        ];
        for (k, v) in optional {
            if let Some(v) = v.filter(|v| !v.is_null()) {
                o.insert(k.into(), v);
            }
        }
        o.insert("content".into(), json!(self.body));
        o.insert("hasReferences".into(), json!(self.has_references));
        o.insert("referenceCount".into(), json!(self.references));
        Value::Object(o)
    }

    /// Body of `GET /api/skills/:id`.
    pub fn detail(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name(),
            "description": self.fm.description.clone().unwrap_or_default(),
            "type": self.kind(),
            "version": self.version(),
            "instructions": self.body,
        })
    }

    /// Item of `GET /api/skills/mode/:mode` (its `id` is the frontmatter name).
    pub fn mode_item(&self) -> Value {
        json!({
            "id": self.name(),
            "name": self.name(),
            "description": self.fm.description.clone().unwrap_or_default(),
            "type": self.kind(),
            "version": self.version(),
        })
    }
}

/// Splits `---\n<yaml>\n---\n<body>`; `None` without a valid frontmatter block.
fn split_frontmatter(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("---")?;
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let yaml = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Some((yaml, body));
        }
        offset += line.len();
    }
    None
}

fn parse_skill(id: &str, dir: &Path, text: &str) -> Option<Skill> {
    let (yaml, body) = split_frontmatter(text)?;
    if yaml.trim().is_empty() {
        return None;
    }
    let fm: Frontmatter = serde_yaml_ng::from_str(yaml).ok()?;
    let refs = dir.join("references");
    let (has_references, references) = match std::fs::read_dir(&refs) {
        Ok(entries) => (true, entries.filter_map(|e| e.ok()).count()),
        Err(_) => (false, 0),
    };
    Some(Skill {
        id: id.to_string(),
        fm,
        body: body.to_string(),
        references,
        has_references,
    })
}

/// Reads and caches skills.
#[derive(Debug)]
pub struct SkillStore {
    dir: PathBuf,
    cache: Mutex<HashMap<String, (SystemTime, Skill)>>,
}

impl SkillStore {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// One skill (cached unless its file changed); `Ok(None)` when absent or invalid.
    pub fn load(&self, id: &str) -> Result<Option<Skill>> {
        if !validate::is_safe_id(id) && !is_safe_dir_name(id) {
            return Err(DomainError::invalid_field(
                "id",
                "skill id must be a single safe path segment",
            ));
        }
        let dir = self.dir.join(id);
        let file = dir.join("SKILL.md");
        let Ok(meta) = std::fs::metadata(&file) else {
            return Ok(None);
        };
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, skill)) = cache.get(id)
            && *t == mtime
        {
            return Ok(Some(skill.clone()));
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            return Ok(None);
        };
        match parse_skill(id, &dir, &text) {
            Some(skill) => {
                cache.insert(id.to_string(), (mtime, skill.clone()));
                Ok(Some(skill))
            }
            None => {
                tracing::warn!(path = %file.display(), "skipping skill with invalid frontmatter");
                Ok(None)
            }
        }
    }

    /// Every valid skill, sorted by directory name.
    pub fn list(&self) -> Vec<Skill> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.') && is_safe_dir_name(n))
            .collect();
        names.sort();
        names
            .iter()
            .filter_map(|n| self.load(n).ok().flatten())
            .collect()
    }

    /// Drops the cache entry and reads the skill again.
    pub fn reload(&self, id: &str) -> Result<Option<Skill>> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        self.load(id)
    }
}

/// A directory name that cannot escape the skills dir (letters, digits, `._-`, no `..`).
fn is_safe_dir_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontmatter_split() {
        let (y, b) = split_frontmatter("---\nname: x\n---\nbody\n").unwrap();
        assert_eq!(y, "name: x\n");
        assert_eq!(b, "body\n");
        assert!(split_frontmatter("name: x\n").is_none());
        assert!(split_frontmatter("---\nname: x\n").is_none());
    }

    #[test]
    fn skills_are_listed_sorted_and_typed() {
        let dir = tempfile::tempdir().unwrap();
        for (name, fm) in [
            ("b-worker", "name: Worker\nversion: 2\ntags: [a, b]"),
            ("a-orch", "name: Orch\nrole: orchestrator\ndescription: d"),
            ("bad", ""),
        ] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
            std::fs::write(
                dir.path().join(name).join("SKILL.md"),
                format!("---\n{fm}\n---\n# Body of {name}\n"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("b-worker/references")).unwrap();
        std::fs::write(dir.path().join("b-worker/references/r.md"), "r").unwrap();
        let store = SkillStore::new(dir.path().to_path_buf());
        let list = store.list();
        let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a-orch", "b-worker"]);
        assert_eq!(list[0].kind(), "mode");
        let item = list[1].list_item();
        assert_eq!(item["version"], "2");
        assert_eq!(item["tags"], json!(["a", "b"]));
        assert_eq!(item["referenceCount"], 1);
        assert!(store.load("../etc").is_err());
    }
}
