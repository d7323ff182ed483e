-- Maestro Server on Supabase (issue 7), 4/4: atomic operations as SQL functions (PostgREST RPC,
-- `POST /rest/v1/rpc/<name>`).
--
-- Each one changes one or two rows in a single statement or transaction, so concurrent callers
-- never lose each other's writes (no read-modify-write through the client). They run with the
-- caller's rights (SECURITY INVOKER), so RLS applies: a user may only touch the projects they
-- can write. A missing row raises SQLSTATE P0002 (no_data_found). Idempotent.

-- Set one `taskSessionStatuses` entry (shallow merge, MODEL.md §5) ---------------------------
create or replace function public.maestro_task_set_session_status(
  p_task_id text, p_session_id text, p_status text, p_updated_at bigint
) returns setof public.tasks
language plpgsql
set search_path = ''
as $$
begin
  if p_status is null or p_status not in ('working', 'blocked', 'completed', 'failed', 'skipped') then
    raise exception 'invalid task session status %', coalesce(p_status, 'null')
      using errcode = '22023';
  end if;
  return query
    update public.tasks t
       set task_session_statuses = t.task_session_statuses
                                   || jsonb_build_object(p_session_id, p_status),
           updated_at = greatest(t.updated_at, p_updated_at)
     where t.id = p_task_id
    returning t.*;
  if not found then
    raise exception 'Task with id ''%'' not found', p_task_id using errcode = 'P0002';
  end if;
end
$$;

-- Append one entry to a session's `timeline`, `events` or `docs` -----------------------------
create or replace function public.maestro_session_append(
  p_session_id text, p_list text, p_entry jsonb, p_last_activity bigint
) returns setof public.sessions
language plpgsql
set search_path = ''
as $$
begin
  if p_list is null or p_list not in ('timeline', 'events', 'docs') then
    raise exception 'unknown session list %', coalesce(p_list, 'null') using errcode = '22023';
  end if;
  if p_entry is null or jsonb_typeof(p_entry) <> 'object' or not (p_entry ? 'id') then
    raise exception 'a session % entry must be an object with an id', p_list
      using errcode = '22023';
  end if;
  return query
    update public.sessions s
       set timeline = case when p_list = 'timeline' then s.timeline || jsonb_build_array(p_entry)
                           else s.timeline end,
           events   = case when p_list = 'events' then s.events || jsonb_build_array(p_entry)
                           else s.events end,
           docs     = case when p_list = 'docs' then s.docs || jsonb_build_array(p_entry)
                           else s.docs end,
           last_activity = greatest(s.last_activity, p_last_activity)
     where s.id = p_session_id
    returning s.*;
  if not found then
    raise exception 'Session with id ''%'' not found', p_session_id using errcode = 'P0002';
  end if;
end
$$;

-- Link / unlink a task and a session on both sides (task.sessionIds <-> session.taskIds) ------
create or replace function public.maestro_link_task_session(
  p_task_id text, p_session_id text, p_now bigint
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  t public.tasks;
  s public.sessions;
begin
  select * into t from public.tasks where id = p_task_id for update;
  if not found then
    raise exception 'Task with id ''%'' not found', p_task_id using errcode = 'P0002';
  end if;
  select * into s from public.sessions where id = p_session_id for update;
  if not found then
    raise exception 'Session with id ''%'' not found', p_session_id using errcode = 'P0002';
  end if;
  if not (p_session_id = any (t.session_ids)) then
    update public.tasks
       set session_ids = array_append(session_ids, p_session_id),
           updated_at = greatest(updated_at, p_now)
     where id = p_task_id
    returning * into t;
  end if;
  if not (p_task_id = any (s.task_ids)) then
    update public.sessions
       set task_ids = array_append(task_ids, p_task_id),
           last_activity = greatest(last_activity, p_now)
     where id = p_session_id
    returning * into s;
  end if;
  return jsonb_build_object('task', to_jsonb(t), 'session', to_jsonb(s));
end
$$;

create or replace function public.maestro_unlink_task_session(
  p_task_id text, p_session_id text, p_now bigint
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  t public.tasks;
  s public.sessions;
begin
  select * into t from public.tasks where id = p_task_id for update;
  if not found then
    raise exception 'Task with id ''%'' not found', p_task_id using errcode = 'P0002';
  end if;
  select * into s from public.sessions where id = p_session_id for update;
  if not found then
    raise exception 'Session with id ''%'' not found', p_session_id using errcode = 'P0002';
  end if;
  if p_session_id = any (t.session_ids) then
    update public.tasks
       set session_ids = array_remove(session_ids, p_session_id),
           updated_at = greatest(updated_at, p_now)
     where id = p_task_id
    returning * into t;
  end if;
  if p_task_id = any (s.task_ids) then
    update public.sessions
       set task_ids = array_remove(task_ids, p_task_id),
           last_activity = greatest(last_activity, p_now)
     where id = p_session_id
    returning * into s;
  end if;
  return jsonb_build_object('task', to_jsonb(t), 'session', to_jsonb(s));
end
$$;

revoke all on function public.maestro_task_set_session_status(text, text, text, bigint) from public, anon;
revoke all on function public.maestro_session_append(text, text, jsonb, bigint) from public, anon;
revoke all on function public.maestro_link_task_session(text, text, bigint) from public, anon;
revoke all on function public.maestro_unlink_task_session(text, text, bigint) from public, anon;
grant execute on function public.maestro_task_set_session_status(text, text, text, bigint) to authenticated, service_role;
grant execute on function public.maestro_session_append(text, text, jsonb, bigint) to authenticated, service_role;
grant execute on function public.maestro_link_task_session(text, text, bigint) to authenticated, service_role;
grant execute on function public.maestro_unlink_task_session(text, text, bigint) to authenticated, service_role;
