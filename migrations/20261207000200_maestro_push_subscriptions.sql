-- Web Push subscriptions (issue 27): the person's devices that receive pushes, shared by every
-- server instance of a deployment. Each row is one browser PushSubscription (its endpoint,
-- whose SHA-256 is the id, and its keys) with its owner (who registered it: the server decides
-- at each push what that owner may still see), muted projects and quiet hours. Only the server
-- (service role) reads and writes them; users and anon have no privilege, and RLS without a
-- policy refuses everything else. Idempotent.
create table if not exists public.push_subscriptions (
  id             text collate "C" primary key,
  endpoint       text   not null,
  p256dh         text   not null,
  auth           text   not null,
  owner          jsonb  not null,
  muted_projects jsonb  not null default '[]'::jsonb,
  quiet_hours    jsonb,
  created_at     bigint not null,
  updated_at     bigint not null
);

create index if not exists push_subscriptions_created on public.push_subscriptions (created_at, id);

revoke all on public.push_subscriptions from anon, authenticated;
grant select, insert, update, delete on public.push_subscriptions to service_role;
alter table public.push_subscriptions enable row level security;

insert into public.maestro_schema_migrations (version, name)
values ('20261207000200', 'maestro_push_subscriptions')
on conflict (version) do nothing;
