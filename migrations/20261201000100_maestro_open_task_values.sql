-- Task status and priority as the original server stored them (issue 11): the original never
-- validated them, so data it wrote can hold `priority: 'urgent'` or `status: 'done'`. The
-- server validates status on writes; priority is open on the wire. The columns accept any
-- non-empty label of at most 64 characters, so migrated legacy data is never refused.
-- Idempotent: the constraints are dropped and recreated.

alter table public.tasks drop constraint if exists tasks_status_check;
alter table public.tasks
  add constraint tasks_status_check check (char_length(status) between 1 and 64);

alter table public.tasks drop constraint if exists tasks_priority_check;
alter table public.tasks
  add constraint tasks_priority_check check (char_length(priority) between 1 and 64);
