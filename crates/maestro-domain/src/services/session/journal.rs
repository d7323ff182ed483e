//! What a session records as it works: its events, timeline entries and docs.

use serde_json::{Value, json};

use super::{
    DocInput, MAX_DOC_CONTENT, MAX_SESSION_EVENTS, MAX_TIMELINE_ENTRIES, MAX_TIMELINE_TYPE,
    SessionService, TimelineInput, push_capped,
};
use crate::error::{DomainError, Result};
use crate::events::{DomainEvent, ProgressNotice};
use crate::model::{DocEntry, NeedsInput, Session, SessionEvent, TimelineEvent};
use crate::services::Seen;

impl SessionService {
    /// `POST /api/sessions/:id/events`: appends one event, emits `session:updated`.
    pub async fn add_event(
        &self,
        id: &str,
        kind: Option<&str>,
        data: Option<Value>,
    ) -> Result<Session> {
        let kind = kind
            .filter(|k| !k.is_empty())
            .ok_or_else(|| DomainError::invalid_field("type", "type is required"))?;
        let now = self.ctx.now();
        let event = SessionEvent {
            id: self.ctx.new_id("evt"),
            timestamp: now,
            kind: kind.to_string(),
            data,
        };
        let session = self
            .mutate(id, &|s: &mut Session| {
                push_capped(&mut s.events, event.clone(), MAX_SESSION_EVENTS);
                s.last_activity = now;
                Ok(())
            })
            .await?;
        self.ctx
            .emit(DomainEvent::SessionUpdated(session.clone()))
            .await;
        Ok(session)
    }

    /// `POST /api/sessions/:id/timeline`: appends an entry (a `needs_input` entry also raises
    /// `needsInput`), emits `session:updated` then `notify:progress` or `notify:needs_input`.
    pub async fn add_timeline(&self, id: &str, input: TimelineInput) -> Result<Session> {
        let message = input
            .message
            .filter(|m| !m.is_empty())
            .ok_or_else(|| DomainError::invalid_field("message", "message is required"))?;
        let kind = input.kind.unwrap_or_else(|| "progress".into());
        if kind.is_empty() || kind.len() > MAX_TIMELINE_TYPE {
            return Err(DomainError::invalid_field(
                "type",
                format!("type must be 1-{MAX_TIMELINE_TYPE} characters"),
            ));
        }
        let now = self.ctx.now();
        let entry = TimelineEvent {
            id: self.ctx.new_id("evt"),
            kind: kind.clone(),
            timestamp: now,
            message: Some(message.clone()),
            task_id: input.task_id.clone(),
            metadata: input.metadata,
        };
        let seen = Seen::new();
        let session = self
            .mutate(id, &|s: &mut Session| {
                seen.keep(s);
                push_capped(&mut s.timeline, entry.clone(), MAX_TIMELINE_ENTRIES);
                if kind == "needs_input" {
                    s.needs_input = Some(NeedsInput {
                        options: None,
                        active: true,
                        message: Some(message.clone()),
                        since: Some(now),
                    });
                }
                s.last_activity = now;
                Ok(())
            })
            .await?;
        let before = seen.take().unwrap_or_else(|| session.clone());
        if kind == "progress" {
            self.ctx
                .emit(DomainEvent::SessionUpdated(session.clone()))
                .await;
            self.ctx
                .emit(DomainEvent::NotifyProgress(ProgressNotice {
                    session_id: session.id.clone(),
                    task_id: input.task_id,
                    message: Some(message),
                    project_id: session.project_id.clone(),
                }))
                .await;
        } else {
            self.emit_updated(&before, &session).await;
        }
        Ok(session)
    }

    /// `POST /api/sessions/:id/docs`: appends a doc and its `doc_added` entry, emits
    /// `session:updated`, returns the whole session (DEFECTS K4: kept).
    pub async fn add_doc(&self, id: &str, input: DocInput) -> Result<Session> {
        let title = input
            .title
            .filter(|t| !t.is_empty())
            .ok_or_else(|| DomainError::invalid_field("title", "title is required"))?;
        let file_path = input
            .file_path
            .filter(|f| !f.is_empty())
            .ok_or_else(|| DomainError::invalid_field("filePath", "filePath is required"))?;
        if input
            .content
            .as_ref()
            .is_some_and(|c| c.len() > MAX_DOC_CONTENT)
        {
            return Err(DomainError::invalid_field(
                "content",
                format!("content must be at most {MAX_DOC_CONTENT} bytes"),
            ));
        }
        let now = self.ctx.now();
        let doc = DocEntry {
            id: self.ctx.new_id("doc"),
            title: title.clone(),
            file_path: file_path.clone(),
            content: input.content,
            task_id: input.task_id.clone(),
            added_at: now,
            added_by: Some(id.to_string()),
        };
        let entry = TimelineEvent {
            id: self.ctx.new_id("evt"),
            kind: "doc_added".into(),
            timestamp: now,
            message: Some(format!("Doc added: {title}")),
            task_id: input.task_id,
            metadata: Some(json!({"docId": doc.id, "filePath": file_path, "title": title})),
        };
        let session = self
            .mutate(id, &|s: &mut Session| {
                s.docs.push(doc.clone());
                push_capped(&mut s.timeline, entry.clone(), MAX_TIMELINE_ENTRIES);
                s.last_activity = now;
                Ok(())
            })
            .await?;
        self.ctx
            .emit(DomainEvent::SessionUpdated(session.clone()))
            .await;
        Ok(session)
    }

    /// `GET /api/sessions/:id/docs`.
    pub async fn docs(&self, id: &str) -> Result<Vec<DocEntry>> {
        Ok(self.get(id).await?.docs)
    }
}
