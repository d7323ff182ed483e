-- Schema version (issue 17): which of these migrations a database has, so that
-- `maestro-server doctor` can tell what is missing, and whether row-level security is on.
--
-- From this migration on, every migration records itself here (last statement of the file:
-- `insert into public.maestro_schema_migrations … on conflict do nothing`). Only the service
-- role reads the table and calls maestro_schema_status(); users and anon get nothing.
-- Idempotent.
create table if not exists public.maestro_schema_migrations (
  version    text primary key,
  name       text not null,
  applied_at timestamptz not null default now()
);

revoke all on public.maestro_schema_migrations from anon, authenticated;
grant select, insert on public.maestro_schema_migrations to service_role;
alter table public.maestro_schema_migrations enable row level security;

-- What the database has: the recorded versions, and every table of the API schema with
-- whether row-level security is enabled on it.
create or replace function public.maestro_schema_status()
returns jsonb
language sql
stable
security definer
set search_path = pg_catalog, public
as $$
  select jsonb_build_object(
    'versions', coalesce(
      (select jsonb_agg(m.version order by m.version) from public.maestro_schema_migrations m),
      '[]'::jsonb),
    'tables', coalesce(
      (select jsonb_agg(jsonb_build_object('table', c.relname, 'rls', c.relrowsecurity)
                        order by c.relname)
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p')),
      '[]'::jsonb)
  );
$$;

revoke all on function public.maestro_schema_status() from public, anon, authenticated;
grant execute on function public.maestro_schema_status() to service_role;

-- The migrations before this one are applied in order, so a database that gets here has
-- them all.
insert into public.maestro_schema_migrations (version, name) values
  ('20261121000100', 'maestro_tables'),
  ('20261121000200', 'maestro_access'),
  ('20261121000300', 'maestro_rls'),
  ('20261121000400', 'maestro_rpc'),
  ('20261201000100', 'maestro_open_task_values'),
  ('20261202000100', 'maestro_member_added_at'),
  ('20261203000100', 'maestro_api_keys'),
  ('20261207000100', 'maestro_schema_version')
on conflict (version) do nothing;
