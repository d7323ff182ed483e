-- Maestro Server on Supabase (issue 7), 3/4: grants and row-level security.
--
-- RLS is enabled on every table. `service_role` (the server's own key) has BYPASSRLS and sees
-- everything; `authenticated` users see a project's rows when they own it or are a member
-- (maestro_private.can_read) and change them as owner or editor (can_write); `anon` gets no
-- privilege at all. Idempotent (policies are dropped and re-created).

-- Privileges ----------------------------------------------------------------------------------
revoke all on public.projects, public.tasks, public.sessions, public.mail_messages,
              public.team_members, public.team_member_overrides, public.orderings,
              public.project_members, public.profiles
  from anon;
grant select, insert, update, delete
  on public.projects, public.tasks, public.sessions, public.mail_messages,
     public.team_members, public.team_member_overrides, public.orderings,
     public.project_members
  to authenticated, service_role;
grant select, update on public.profiles to authenticated;
grant select, insert, update, delete on public.profiles to service_role;

-- Enable RLS ----------------------------------------------------------------------------------
alter table public.projects              enable row level security;
alter table public.tasks                 enable row level security;
alter table public.sessions              enable row level security;
alter table public.mail_messages         enable row level security;
alter table public.team_members          enable row level security;
alter table public.team_member_overrides enable row level security;
alter table public.orderings             enable row level security;
alter table public.project_members       enable row level security;
alter table public.profiles              enable row level security;

-- Projects ------------------------------------------------------------------------------------
drop policy if exists projects_select on public.projects;
create policy projects_select on public.projects for select to authenticated
  using (owner_id = auth.uid() or maestro_private.can_read(id));
drop policy if exists projects_insert on public.projects;
create policy projects_insert on public.projects for insert to authenticated
  with check (owner_id = auth.uid());
drop policy if exists projects_update on public.projects;
create policy projects_update on public.projects for update to authenticated
  using (maestro_private.can_write(id))
  with check (maestro_private.can_write(id));
drop policy if exists projects_delete on public.projects;
create policy projects_delete on public.projects for delete to authenticated
  using (maestro_private.is_owner(id));

-- Everything that belongs to a project (same four policies each) ------------------------------
do $policies$
declare
  t text;
begin
  foreach t in array array['tasks', 'sessions', 'mail_messages', 'team_members',
                           'team_member_overrides', 'orderings']
  loop
    execute format('drop policy if exists %I on public.%I', t || '_select', t);
    execute format('create policy %I on public.%I for select to authenticated '
                   'using (maestro_private.can_read(project_id))', t || '_select', t);
    execute format('drop policy if exists %I on public.%I', t || '_insert', t);
    execute format('create policy %I on public.%I for insert to authenticated '
                   'with check (maestro_private.can_write(project_id))', t || '_insert', t);
    execute format('drop policy if exists %I on public.%I', t || '_update', t);
    execute format('create policy %I on public.%I for update to authenticated '
                   'using (maestro_private.can_write(project_id)) '
                   'with check (maestro_private.can_write(project_id))', t || '_update', t);
    execute format('drop policy if exists %I on public.%I', t || '_delete', t);
    execute format('create policy %I on public.%I for delete to authenticated '
                   'using (maestro_private.can_write(project_id))', t || '_delete', t);
  end loop;
end
$policies$;

-- Members: everyone on the project sees the list; only owners change it -----------------------
drop policy if exists project_members_select on public.project_members;
create policy project_members_select on public.project_members for select to authenticated
  using (user_id = auth.uid() or maestro_private.can_read(project_id));
drop policy if exists project_members_insert on public.project_members;
create policy project_members_insert on public.project_members for insert to authenticated
  with check (maestro_private.is_owner(project_id));
drop policy if exists project_members_update on public.project_members;
create policy project_members_update on public.project_members for update to authenticated
  using (maestro_private.is_owner(project_id))
  with check (maestro_private.is_owner(project_id));
drop policy if exists project_members_delete on public.project_members;
create policy project_members_delete on public.project_members for delete to authenticated
  using (maestro_private.is_owner(project_id) or user_id = auth.uid());

-- Profiles: your own, and those of people you share a project with ---------------------------
drop policy if exists profiles_select on public.profiles;
create policy profiles_select on public.profiles for select to authenticated
  using (id = auth.uid() or maestro_private.shares_project(id));
drop policy if exists profiles_update on public.profiles;
create policy profiles_update on public.profiles for update to authenticated
  using (id = auth.uid())
  with check (id = auth.uid());
