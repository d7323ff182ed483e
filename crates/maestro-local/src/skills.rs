//! Skills read from a directory (API.md §8): `<dir>/<skill>/SKILL.md` with YAML frontmatter.
//! Parsed skills are cached and re-read when the file's modification time changes (DEFECTS O7).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use maestro_domain::model::{JsonObject, Skill, SkillKind};
use maestro_domain::ports::SkillCatalog;
use maestro_domain::{DomainError, Result, validate};
use serde::Deserialize;
use serde_json::Value;

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

impl Frontmatter {
    fn into_skill(self, id: &str, body: &str, references: Option<usize>) -> Skill {
        let version = match &self.version {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => "1.0.0".into(),
        };
        let kind = if self.role.as_deref() == Some("orchestrator") {
            SkillKind::Mode
        } else {
            SkillKind::Custom
        };
        let mut attributes = JsonObject::new();
        let optional = [
            ("triggers", self.triggers),
            ("role", self.role.map(Value::String)),
            ("scope", self.scope),
            ("outputFormat", self.output_format),
            ("language", self.language),
            ("framework", self.framework),
            ("tags", self.tags),
            ("category", self.category),
            ("license", self.license),
        ];
        for (k, v) in optional {
            if let Some(v) = v.filter(|v| !v.is_null()) {
                attributes.insert(k.into(), v);
            }
        }
        Skill {
            id: id.to_string(),
            name: self.name.unwrap_or_else(|| id.to_string()),
            description: self.description.unwrap_or_default(),
            version,
            kind,
            attributes,
            instructions: body.to_string(),
            has_references: references.is_some(),
            reference_count: references.unwrap_or(0),
        }
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
    let references = std::fs::read_dir(dir.join("references"))
        .ok()
        .map(|entries| entries.filter_map(|e| e.ok()).count());
    Some(fm.into_skill(id, body, references))
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

/// The skills of one directory (`SKILLS_DIR`), cached by modification time.
#[derive(Debug, Clone)]
pub struct FsSkillCatalog {
    inner: Arc<Catalog>,
}

#[derive(Debug)]
struct Catalog {
    dir: PathBuf,
    cache: Mutex<HashMap<String, (SystemTime, Skill)>>,
}

impl FsSkillCatalog {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(Catalog {
                dir,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Runs a blocking directory read off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Catalog) -> T + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| DomainError::Internal(format!("skills read task failed: {e}")))
    }
}

impl Catalog {
    fn load(&self, id: &str) -> Result<Option<Skill>> {
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

    fn list(&self) -> Vec<Skill> {
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

    fn reload(&self, id: &str) -> Result<Option<Skill>> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        self.load(id)
    }
}

#[async_trait]
impl SkillCatalog for FsSkillCatalog {
    async fn list(&self) -> Result<Vec<Skill>> {
        self.blocking(Catalog::list).await
    }

    async fn get(&self, id: &str) -> Result<Option<Skill>> {
        let id = id.to_string();
        self.blocking(move |c| c.load(&id)).await?
    }

    async fn reload(&self, id: &str) -> Result<Option<Skill>> {
        let id = id.to_string();
        self.blocking(move |c| c.reload(&id)).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frontmatter_split() {
        let (y, b) = split_frontmatter("---\nname: x\n---\nbody\n").unwrap();
        assert_eq!(y, "name: x\n");
        assert_eq!(b, "body\n");
        assert!(split_frontmatter("name: x\n").is_none());
        assert!(split_frontmatter("---\nname: x\n").is_none());
    }

    fn write(dir: &Path, name: &str, fm: &str) {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(
            dir.join(name).join("SKILL.md"),
            format!("---\n{fm}\n---\n# Body of {name}\n"),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn skills_are_listed_sorted_and_typed() {
        let dir = tempfile::tempdir().unwrap();
        for (name, fm) in [
            ("b-worker", "name: Worker\nversion: 2\ntags: [a, b]"),
            ("a-orch", "name: Orch\nrole: orchestrator\ndescription: d"),
            ("bad", ""),
        ] {
            write(dir.path(), name, fm);
        }
        std::fs::create_dir_all(dir.path().join("b-worker/references")).unwrap();
        std::fs::write(dir.path().join("b-worker/references/r.md"), "r").unwrap();
        let catalog = FsSkillCatalog::new(dir.path().to_path_buf());
        let list = catalog.list().await.unwrap();
        let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a-orch", "b-worker"]);
        assert_eq!(list[0].kind, SkillKind::Mode);
        assert_eq!(list[0].attributes["role"], "orchestrator");
        let worker = &list[1];
        assert_eq!(worker.name, "Worker");
        assert_eq!(worker.version, "2");
        assert_eq!(worker.attributes["tags"], json!(["a", "b"]));
        assert_eq!(worker.instructions, "# Body of b-worker\n");
        assert!(worker.has_references);
        assert_eq!(worker.reference_count, 1);
        assert!(catalog.get("../etc").await.is_err());
        assert_eq!(catalog.get("bad").await.unwrap(), None);
        assert_eq!(catalog.get("missing").await.unwrap(), None);
    }

    #[tokio::test]
    async fn reload_reads_the_file_again() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "s", "name: One");
        let catalog = FsSkillCatalog::new(dir.path().to_path_buf());
        assert_eq!(catalog.get("s").await.unwrap().unwrap().name, "One");
        write(dir.path(), "s", "name: Two");
        assert_eq!(catalog.reload("s").await.unwrap().unwrap().name, "Two");
    }
}
