-- Maestro Server on Supabase (issue 7), 1/4: the entity tables of spec MODEL.md.
--
-- One table per entity. Every field a repository filters or sorts on is a typed column, nested
-- parts are jsonb, text[] holds id lists, and `extra` keeps the JSON keys the server does not
-- know (legacy files, MODEL.md §1 "Extra keys") so a read-modify-write never drops them. Epoch
-- milliseconds are bigint; team member timestamps stay ISO-8601 text (MODEL.md §1). Ids and
-- sort keys use collation "C" so `order by` matches the byte order of the other adapters.
-- `version` is bumped by a trigger on every update: the repositories update with
-- `version=eq.<read version>` and retry, so concurrent read-modify-writes lose nothing.
--
-- There are deliberately no foreign keys from tasks, sessions, mail, team members and orderings
-- to projects: referential rules are the services' (MODEL.md §11; e.g. a project with tasks
-- cannot be deleted), the repository ports accept records of any project, and legacy data
-- directories hold tasks of missing projects that must still migrate.
--
-- Idempotent: everything is `if not exists` / `create or replace` / drop-then-create.

create schema if not exists maestro_private;

-- Projects ------------------------------------------------------------------------------------
create table if not exists public.projects (
  id          text collate "C" primary key,
  name        text   not null,
  working_dir text   not null default '',
  description text   not null default '',
  created_at  bigint not null,
  updated_at  bigint not null,
  extra       jsonb  not null default '{}'::jsonb check (jsonb_typeof(extra) = 'object'),
  -- The signed-in user who created it (NULL when created with the service role).
  owner_id    uuid   default auth.uid() references auth.users (id) on delete set null,
  version     bigint not null default 0
);
create index if not exists projects_created_idx on public.projects (created_at, id);
create index if not exists projects_owner_idx on public.projects (owner_id);

-- Tasks ---------------------------------------------------------------------------------------
create table if not exists public.tasks (
  id                    text collate "C" primary key,
  project_id            text collate "C" not null,
  parent_id             text collate "C",
  title                 text   not null,
  description           text   not null default '',
  status                text   not null check (status in
                          ('todo', 'in_progress', 'in_review', 'completed', 'cancelled',
                           'blocked', 'archived')),
  task_session_statuses jsonb  not null default '{}'::jsonb
                          check (jsonb_typeof(task_session_statuses) = 'object'),
  priority              text   not null default 'medium'
                          check (priority in ('low', 'medium', 'high')),
  created_at            bigint not null,
  updated_at            bigint not null,
  started_at            bigint,
  completed_at          bigint,
  initial_prompt        text   not null default '',
  session_ids           text[] not null default '{}',
  skill_ids             text[] not null default '{}',
  agent_ids             text[] not null default '{}',
  dependencies          text[] not null default '{}',
  reference_task_ids    text[] not null default '{}',
  pinned                boolean,
  team_member_id        text,
  team_member_ids       text[],
  extra                 jsonb  not null default '{}'::jsonb check (jsonb_typeof(extra) = 'object'),
  version               bigint not null default 0
);
-- TaskFilter: project_id, status, parent_id (value or null), session_id (membership); listings
-- ordered by (created_at, id).
create index if not exists tasks_project_created_idx on public.tasks (project_id, created_at, id);
create index if not exists tasks_created_idx on public.tasks (created_at, id);
create index if not exists tasks_status_idx on public.tasks (status, created_at, id);
create index if not exists tasks_parent_idx on public.tasks (parent_id, created_at, id);
create index if not exists tasks_session_ids_idx on public.tasks using gin (session_ids);

-- Sessions ------------------------------------------------------------------------------------
create table if not exists public.sessions (
  id                    text collate "C" primary key,
  project_id            text collate "C" not null,
  task_ids              text[] not null default '{}',
  name                  text   not null,
  agent_id              text,
  env                   jsonb  not null default '{}'::jsonb check (jsonb_typeof(env) = 'object'),
  status                text   not null check (status in
                          ('spawning', 'idle', 'working', 'completed', 'failed', 'stopped')),
  started_at            bigint not null,
  last_activity         bigint not null,
  completed_at          bigint,
  hostname              text   not null default '',
  platform              text   not null default '',
  events                jsonb  not null default '[]'::jsonb check (jsonb_typeof(events) = 'array'),
  timeline              jsonb  not null default '[]'::jsonb check (jsonb_typeof(timeline) = 'array'),
  docs                  jsonb  not null default '[]'::jsonb check (jsonb_typeof(docs) = 'array'),
  metadata              jsonb,
  needs_input           jsonb,
  team_member_id        text,
  team_member_snapshot  jsonb,
  team_member_ids       text[],
  team_member_snapshots jsonb,
  extra                 jsonb  not null default '{}'::jsonb check (jsonb_typeof(extra) = 'object'),
  version               bigint not null default 0
);
-- SessionFilter: project_id, task_id (membership), statuses (any of); ordered by (started_at, id).
create index if not exists sessions_project_started_idx on public.sessions (project_id, started_at, id);
create index if not exists sessions_started_idx on public.sessions (started_at, id);
create index if not exists sessions_status_idx on public.sessions (status, started_at, id);
create index if not exists sessions_task_ids_idx on public.sessions using gin (task_ids);

-- Mail ----------------------------------------------------------------------------------------
create table if not exists public.mail_messages (
  id               text collate "C" primary key,
  project_id       text collate "C" not null,
  from_session_id  text collate "C" not null,
  to_session_id    text collate "C",             -- NULL = broadcast to the project
  reply_to_mail_id text,
  type             text   not null check (type in
                     ('assignment', 'status_update', 'query', 'response', 'directive',
                      'notification')),
  subject          text   not null,
  body             jsonb  default '{}'::jsonb,
  created_at       bigint not null
);
-- list(project), inbox(project, recipient-or-broadcast, type, since): ordered by (created_at, id).
create index if not exists mail_project_created_idx on public.mail_messages (project_id, created_at, id);
create index if not exists mail_created_idx on public.mail_messages (created_at, id);
create index if not exists mail_inbox_idx on public.mail_messages (project_id, to_session_id, created_at, id);
create index if not exists mail_type_idx on public.mail_messages (project_id, type, created_at);

-- Team members (custom) and overrides of the built-in ones -----------------------------------
create table if not exists public.team_members (
  project_id           text collate "C" not null,
  id                   text collate "C" not null,
  name                 text    not null,
  role                 text    not null,
  avatar               text    not null,
  identity             text    not null default '',
  model                text,
  agent_tool           text check (agent_tool in ('claude-code', 'codex', 'gemini')),
  mode                 text check (mode in ('execute', 'coordinate')),
  skill_ids            text[]  not null default '{}',
  is_default           boolean not null default false,
  status               text    not null check (status in ('active', 'archived')),
  capabilities         jsonb,
  command_permissions  jsonb,
  workflow_template_id text,
  custom_workflow      text,
  created_at           text collate "C" not null,   -- ISO-8601, listings sort by the string
  updated_at           text    not null,
  extra                jsonb   not null default '{}'::jsonb check (jsonb_typeof(extra) = 'object'),
  version              bigint  not null default 0,
  primary key (project_id, id)
);
create index if not exists team_members_project_created_idx
  on public.team_members (project_id, created_at, id);

create table if not exists public.team_member_overrides (
  project_id text collate "C" not null,
  id         text collate "C" not null,            -- tm_<projectId>_<type>
  data       jsonb  not null default '{}'::jsonb check (jsonb_typeof(data) = 'object'),
  version    bigint not null default 0,
  primary key (project_id, id)
);

-- Orderings -----------------------------------------------------------------------------------
create table if not exists public.orderings (
  project_id  text collate "C" not null,
  entity_type text   not null check (entity_type in ('task', 'session')),
  ordered_ids text[] not null default '{}',
  updated_at  bigint not null,
  primary key (project_id, entity_type)
);

-- Optimistic concurrency: every update bumps `version` -------------------------------------
create or replace function maestro_private.bump_version() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.version := old.version + 1;
  return new;
end
$$;

drop trigger if exists bump_version on public.projects;
create trigger bump_version before update on public.projects
  for each row execute function maestro_private.bump_version();
drop trigger if exists bump_version on public.tasks;
create trigger bump_version before update on public.tasks
  for each row execute function maestro_private.bump_version();
drop trigger if exists bump_version on public.sessions;
create trigger bump_version before update on public.sessions
  for each row execute function maestro_private.bump_version();
drop trigger if exists bump_version on public.team_members;
create trigger bump_version before update on public.team_members
  for each row execute function maestro_private.bump_version();
drop trigger if exists bump_version on public.team_member_overrides;
create trigger bump_version before update on public.team_member_overrides
  for each row execute function maestro_private.bump_version();
