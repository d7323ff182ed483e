-- Project API keys (issue 14): long-lived, revocable credentials of one project for agents
-- started outside spawn. Only a SHA-256 of each key is stored. The server (service role)
-- creates, checks and revokes them after checking the caller is an owner. Users may read the
-- key list of projects they own, never the hashes (column privileges), and write nothing. A
-- project's keys go with it. Idempotent.
create table if not exists public.api_keys (
  project_id     text collate "C" not null references public.projects (id) on delete cascade,
  id             text collate "C" not null,
  name           text   not null,
  team_member_id text,
  hint           text   not null,
  created_by     text,
  created_at     bigint not null,
  secret_hash    text   not null,
  primary key (project_id, id)
);

revoke all on public.api_keys from anon, authenticated;
grant select (project_id, id, name, team_member_id, hint, created_by, created_at)
  on public.api_keys to authenticated;
grant select, insert, update, delete on public.api_keys to service_role;

alter table public.api_keys enable row level security;
drop policy if exists api_keys_select on public.api_keys;
create policy api_keys_select on public.api_keys for select to authenticated
  using (maestro_private.is_owner(project_id));
