-- =============================================================================================
-- SUPABASE SHIM FOR PLAIN POSTGRESQL — NEVER APPLY THIS ON SUPABASE.
--
-- A Supabase project already has everything below. This file recreates the minimum of it on a
-- plain PostgreSQL (15+) so that the migrations in ../ apply unchanged and RLS behaves as on
-- Supabase behind a PostgREST-compatible server (tests, local development):
--   roles anon / authenticated / service_role (BYPASSRLS) / authenticator (the login role a
--   PostgREST server connects as and switches from with SET LOCAL ROLE),
--   schema auth, table auth.users, functions auth.uid() / auth.role() / auth.email() /
--   auth.jwt() reading the `request.jwt.claims` GUC that PostgREST sets per request.
-- Sources: supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql and
-- supabase/auth migrations (auth functions). Idempotent: applying it again is harmless.
-- Roles are cluster-wide: concurrent appliers on one cluster may race; re-apply on failure.
-- =============================================================================================

do $shim$
begin
  begin
    create role anon nologin noinherit;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    create role authenticated nologin noinherit;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    create role service_role nologin noinherit bypassrls;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    -- Password-less: local servers here use trust (or peer) authentication.
    create role authenticator login noinherit;
  exception when duplicate_object or unique_violation then null;
  end;
end
$shim$;

grant anon, authenticated, service_role to authenticator;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- What Supabase grants on the API schema (its default privileges give every API role all
-- privileges; the Maestro migrations narrow that down for their own tables).
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

create schema if not exists auth;

create table if not exists auth.users (
  id uuid primary key,
  email varchar(255) unique,
  role varchar(255),
  aud varchar(255),
  encrypted_password varchar(255),
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on all functions in schema auth to anon, authenticated, service_role;
