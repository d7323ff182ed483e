-- Maestro Server on Supabase (issue 7), 2/4: who may see and change a project.
--
-- A project belongs to its `owner_id` (set from the caller's JWT at insert) and is shared
-- through `project_members` with a role:
--   owner  — everything, including managing members and deleting the project;
--   editor — read and write the project and everything in it;
--   viewer — read only.
-- `profiles` mirrors auth.users (filled by a trigger) so members can be shown by name.
-- The helpers live in the unexposed schema `maestro_private` and are SECURITY DEFINER, so
-- policies can consult projects/project_members without recursing into their own RLS.
-- Idempotent.

create schema if not exists maestro_private;

-- Profiles ------------------------------------------------------------------------------------
create table if not exists public.profiles (
  id           uuid primary key references auth.users (id) on delete cascade,
  email        text,
  display_name text,
  avatar_url   text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

create or replace function maestro_private.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email, display_name, avatar_url)
  values (
    new.id,
    new.email,
    coalesce(new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'name', new.email),
    new.raw_user_meta_data ->> 'avatar_url'
  )
  on conflict (id) do nothing;
  return new;
end
$$;

drop trigger if exists maestro_on_auth_user_created on auth.users;
create trigger maestro_on_auth_user_created after insert on auth.users
  for each row execute function maestro_private.handle_new_user();

-- Members -------------------------------------------------------------------------------------
create table if not exists public.project_members (
  project_id text collate "C" not null references public.projects (id) on delete cascade,
  user_id    uuid not null references auth.users (id) on delete cascade,
  role       text not null default 'viewer' check (role in ('owner', 'editor', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (project_id, user_id)
);
create index if not exists project_members_user_idx on public.project_members (user_id);

-- Role helpers (SECURITY DEFINER: they read past RLS, and only ever about auth.uid()) -----------
create or replace function maestro_private.project_role(p_project_id text) returns text
language sql
stable
security definer
set search_path = ''
as $$
  select case
    when auth.uid() is null then null
    when exists (select 1 from public.projects p
                 where p.id = p_project_id and p.owner_id = auth.uid()) then 'owner'
    else (select m.role from public.project_members m
          where m.project_id = p_project_id and m.user_id = auth.uid())
  end
$$;

create or replace function maestro_private.can_read(p_project_id text) returns boolean
language sql stable security definer set search_path = ''
as $$ select maestro_private.project_role(p_project_id) is not null $$;

create or replace function maestro_private.can_write(p_project_id text) returns boolean
language sql stable security definer set search_path = ''
as $$ select coalesce(maestro_private.project_role(p_project_id) in ('owner', 'editor'), false) $$;

create or replace function maestro_private.is_owner(p_project_id text) returns boolean
language sql stable security definer set search_path = ''
as $$ select coalesce(maestro_private.project_role(p_project_id) = 'owner', false) $$;

create or replace function maestro_private.shares_project(p_user_id uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1
    from (select p.id from public.projects p where p.owner_id = p_user_id
          union select m.project_id from public.project_members m where m.user_id = p_user_id) theirs
    where maestro_private.project_role(theirs.id) is not null
  )
$$;

-- Only the owner (or the service role) may hand a project to somebody else.
create or replace function maestro_private.guard_project_owner() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.owner_id is distinct from old.owner_id
     and coalesce(auth.role(), '') <> 'service_role'
     and current_user not in ('postgres', 'service_role', 'supabase_admin')
     and old.owner_id is distinct from auth.uid() then
    raise exception 'only the owner may change the owner of project %', old.id
      using errcode = '42501';
  end if;
  return new;
end
$$;

drop trigger if exists guard_project_owner on public.projects;
create trigger guard_project_owner before update on public.projects
  for each row execute function maestro_private.guard_project_owner();

grant usage on schema maestro_private to anon, authenticated, service_role;
revoke all on all functions in schema maestro_private from public, anon;
grant execute on all functions in schema maestro_private to authenticated, service_role;
