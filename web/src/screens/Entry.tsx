// Screens outside a project: sign-in and the project picker.

import { useEffect, useId, useState, type FormEvent } from "react";
import { Link, useLocation } from "wouter";
import { useApp } from "../store/app";
import { api, rememberProject, signInWithPassword, signInWithToken } from "../services";
import { tokenProblem } from "../auth/storage";
import { paths } from "../routes";
import { EmptyState, ErrorText, Time } from "../components/common";
import type { Project } from "../types";

export function SignIn() {
  const auth = useApp((s) => s.auth);
  const [token, setToken] = useState("");
  const [show, setShow] = useState(false);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { token: useId(), email: useId(), pw: useId(), show: useId() };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (auth.mode === "token") {
      const p = tokenProblem(token);
      if (p) return setError(p);
    }
    setBusy(true);
    try {
      if (auth.mode === "supabase") await signInWithPassword(email.trim(), password);
      else await signInWithToken(token);
    } catch (err) {
      const m = (err as Error).message;
      setError(auth.mode === "token" && /401|token|unauthor/i.test(m) ? "The server did not accept this token." : m);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="signin" data-screen="signin">
      <div className="signin-box card">
        <img src="/icons/icon.svg" alt="" width="64" height="64" />
        <h1>Sign in to Maestro</h1>
        <p className="muted">
          {auth.mode === "supabase"
            ? "Use the email and password of your account."
            : "This server is protected by an API token (MAESTRO_API_TOKEN). Paste it here; it is kept in this browser only."}
        </p>
        {auth.error && !error && (
          <p className="notice" role="status">
            {auth.error}
          </p>
        )}
        <form onSubmit={submit} className="stack" aria-label="Sign in">
          {auth.mode === "supabase" ? (
            <>
              <div className="field">
                <label htmlFor={ids.email}>Email</label>
                <input id={ids.email} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
              </div>
              <div className="field">
                <label htmlFor={ids.pw}>Password</label>
                <input id={ids.pw} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
              </div>
            </>
          ) : (
            <div className="field">
              <label htmlFor={ids.token}>API token</label>
              <input
                id={ids.token}
                name="token"
                type={show ? "text" : "password"}
                autoComplete="current-password"
                spellCheck={false}
                autoCapitalize="off"
                value={token}
                onChange={(e) => setToken(e.target.value)}
                required
              />
              <label className="check small" htmlFor={ids.show}>
                <input id={ids.show} type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} /> Show token
              </label>
            </div>
          )}
          <ErrorText error={error} />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </div>
    </main>
  );
}

export function ProjectPicker() {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [dir, setDir] = useState("");
  const [busy, setBusy] = useState(false);
  const [, navigate] = useLocation();
  const ids = { name: useId(), dir: useId() };

  useEffect(() => {
    api.projects().then(
      (p) => setProjects([...p].sort((a, b) => b.updatedAt - a.updatedAt)),
      (e: Error) => setError(e.message),
    );
  }, []);

  async function create(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return setError("A project needs a name.");
    setBusy(true);
    setError(null);
    try {
      const p = await api.createProject({ name: name.trim(), workingDir: dir.trim() });
      rememberProject(p.id);
      navigate(paths.project(p.id));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="picker" data-screen="projects">
      <div className="screen-head">
        <h1 className="page-title">Projects</h1>
        <Link href={paths.settings()} className="btn btn-ghost">
          Settings
        </Link>
      </div>
      {projects === null && !error && <p aria-busy="true">Loading projects…</p>}
      {projects && projects.length === 0 && <EmptyState>No project yet: create the first one below.</EmptyState>}
      {projects && projects.length > 0 && (
        <ul className="list" aria-label="Projects">
          {projects.map((p) => (
            <li key={p.id} className="list-item">
              <Link href={paths.project(p.id)} className="list-link" onClick={() => rememberProject(p.id)}>
                <span className="list-title">{p.name}</span>
                <span className="muted small">
                  {p.workingDir || "no working directory"} · <Time ms={p.updatedAt} />
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      <section className="section card" aria-labelledby="new-proj-h">
        <h2 id="new-proj-h">New project</h2>
        <form onSubmit={create} className="stack">
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input id={ids.name} value={name} onChange={(e) => setName(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={ids.dir}>Working directory on the server machine</label>
            <input id={ids.dir} value={dir} placeholder="/home/me/code/app" onChange={(e) => setDir(e.target.value)} />
          </div>
          <ErrorText error={error} />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : "Create project"}
          </button>
        </form>
      </section>
    </main>
  );
}
