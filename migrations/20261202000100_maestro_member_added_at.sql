-- Project sharing (issue 14): when a member was added, in epoch milliseconds like every other
-- timestamp of the API (the server sets it; `created_at` stays for humans). Idempotent.
alter table public.project_members
  add column if not exists added_at bigint not null
  default (floor(extract(epoch from now()) * 1000))::bigint;
