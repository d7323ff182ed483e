//! The routes the client calls, in the server's route-table syntax (`/api/tasks/{id}`).

/// An HTTP method of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    pub(crate) fn method(self) -> reqwest::Method {
        match self {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
            Verb::Put => reqwest::Method::PUT,
            Verb::Patch => reqwest::Method::PATCH,
            Verb::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One route: method, path template, and whether repeating it is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub verb: Verb,
    /// axum syntax, as in the server's route table: `/api/tasks/{id}`.
    pub path: &'static str,
    /// May be retried after a network error or a 5xx: GET, PUT and DELETE by their HTTP
    /// meaning, plus POSTs that are idempotent by design (heartbeat, archive, …).
    pub idempotent: bool,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb.as_str(), self.path)
    }
}

macro_rules! routes {
    ($($name:ident = $verb:ident $path:literal $(, $idem:ident)?;)+) => {
        $(
            pub(crate) const $name: Route = Route {
                verb: Verb::$verb,
                path: $path,
                idempotent: routes!(@idem $verb $($idem)?),
            };
        )+
        /// Every route the client has a method for.
        pub const ROUTES: &[Route] = &[$($name),+];
    };
    (@idem Get) => { true };
    (@idem Put) => { true };
    (@idem Delete) => { true };
    (@idem $verb:ident) => { false };
    (@idem $verb:ident idempotent) => { true };
}

routes! {
    HEALTH = Get "/health";
    HEALTH_LIVE = Get "/health/live";
    HEALTH_READY = Get "/health/ready";
    WS_STATUS = Get "/ws-status";
    AUTH_CONFIG = Get "/api/auth/config";
    OPENAPI = Get "/api/openapi.json";
    PROJECTS = Get "/api/projects";
    PROJECT_CREATE = Post "/api/projects";
    PROJECT = Get "/api/projects/{id}";
    PROJECT_UPDATE = Put "/api/projects/{id}";
    PROJECT_DELETE = Delete "/api/projects/{id}";
    MEMBERS = Get "/api/projects/{id}/members";
    MEMBER_ADD = Post "/api/projects/{id}/members";
    MEMBER_ROLE = Patch "/api/projects/{id}/members/{user_id}", idempotent;
    MEMBER_REMOVE = Delete "/api/projects/{id}/members/{user_id}";
    API_KEYS = Get "/api/projects/{id}/api-keys";
    API_KEY_CREATE = Post "/api/projects/{id}/api-keys";
    API_KEY_REVOKE = Delete "/api/projects/{id}/api-keys/{key_id}";
    SESSION_REPLY = Post "/api/sessions/{id}/reply";
    PUSH_SUBSCRIPTIONS = Get "/api/push/subscriptions";
    PUSH_SUBSCRIBE = Post "/api/push/subscriptions";
    PUSH_UNSUBSCRIBE = Delete "/api/push/subscriptions";
    INBOX = Get "/api/inbox";
    TASKS = Get "/api/tasks";
    TASK_CREATE = Post "/api/tasks";
    TASK = Get "/api/tasks/{id}";
    TASK_UPDATE = Patch "/api/tasks/{id}";
    TASK_DELETE = Delete "/api/tasks/{id}";
    TASK_TIMELINE = Post "/api/tasks/{id}/timeline";
    TASK_DOCS = Get "/api/tasks/{id}/docs";
    TASK_CHILDREN = Get "/api/tasks/{id}/children";
    TASK_CLAIM = Post "/api/tasks/{id}/claim";
    TASK_CLAIM_RELEASE = Delete "/api/tasks/{id}/claim";
    SESSION_CREATE = Post "/api/sessions";
    SESSIONS = Get "/api/sessions";
    SESSION = Get "/api/sessions/{id}";
    SESSION_UPDATE = Patch "/api/sessions/{id}";
    SESSION_DELETE = Delete "/api/sessions/{id}";
    SESSION_EVENT = Post "/api/sessions/{id}/events";
    SESSION_TIMELINE = Post "/api/sessions/{id}/timeline";
    SESSION_DOC_ADD = Post "/api/sessions/{id}/docs";
    SESSION_DOCS = Get "/api/sessions/{id}/docs";
    SESSION_LINK = Post "/api/sessions/{id}/tasks/{task_id}", idempotent;
    SESSION_UNLINK = Delete "/api/sessions/{id}/tasks/{task_id}";
    SESSION_MODAL = Post "/api/sessions/{id}/modal";
    SESSION_MODAL_ACTION = Post "/api/sessions/{id}/modal/{modal_id}/actions";
    SESSION_MODAL_CLOSE = Post "/api/sessions/{id}/modal/{modal_id}/close", idempotent;
    SESSION_SPAWN = Post "/api/sessions/spawn";
    SESSION_HEARTBEAT = Post "/api/sessions/{id}/heartbeat", idempotent;
    PRESENCE = Get "/api/presence";
    MAIL_SEND = Post "/api/mail";
    MAIL_INBOX = Get "/api/mail/inbox/{id}";
    MAIL_WAIT = Get "/api/mail/wait/{id}";
    MAIL = Get "/api/mail/{id}";
    MAIL_DELETE = Delete "/api/mail/{id}";
    SKILLS = Get "/api/skills";
    SKILL = Get "/api/skills/{id}";
    SKILLS_FOR_MODE = Get "/api/skills/mode/{mode}";
    SKILL_RELOAD = Post "/api/skills/{id}/reload", idempotent;
    ORDERING = Get "/api/ordering/{entity_type}/{project_id}";
    ORDERING_SAVE = Put "/api/ordering/{entity_type}/{project_id}";
    TEAM_MEMBERS = Get "/api/team-members";
    TEAM_MEMBER_CREATE = Post "/api/team-members";
    TEAM_MEMBER = Get "/api/team-members/{id}";
    TEAM_MEMBER_UPDATE = Patch "/api/team-members/{id}";
    TEAM_MEMBER_DELETE = Delete "/api/team-members/{id}";
    TEAM_MEMBER_ARCHIVE = Post "/api/team-members/{id}/archive", idempotent;
    TEAM_MEMBER_UNARCHIVE = Post "/api/team-members/{id}/unarchive", idempotent;
    TEAM_MEMBER_RESET = Post "/api/team-members/{id}/reset", idempotent;
    TEMPLATES = Get "/api/workflow-templates";
    TEMPLATE = Get "/api/workflow-templates/{id}";
}
