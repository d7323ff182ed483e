import { useEffect, useId, useState, type FormEvent } from "react";
import { Link } from "wouter";
import { useApp } from "../store/app";
import { api, serverUrl, setServerUrl, setTheme, signOut, theme, type Theme } from "../services";
import { askPermission, permission } from "../notify";
import {
  deviceSettings,
  disablePush,
  enablePush,
  isSubscribed,
  pushSupported,
  utcOffsetMinutes,
  withMuted,
} from "../push";
import { paths } from "../routes";
import { ErrorText } from "../components/common";

const PERMISSION_TEXT: Record<string, string> = {
  granted: "Allowed: you get a notification when an agent needs input, a session fails or a task is completed.",
  denied: "Blocked in this browser. Allow notifications for this site in the browser settings.",
  default: "Not asked yet.",
  unsupported: "This browser has no notifications.",
};

export function Settings({ projectId }: { projectId?: string }) {
  const auth = useApp((s) => s.auth);
  const project = useApp((s) => s.live.project);
  const [url, setUrl] = useState(serverUrl());
  const [health, setHealth] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [perm, setPerm] = useState(permission());
  const [th, setTh] = useState<Theme>(theme());
  const ids = { url: useId() };

  async function saveServer(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setHealth(null);
    const u = url.trim();
    if (u && !/^https?:\/\/[^\s/]+/.test(u)) return setError("Use an http:// or https:// address, or leave it empty.");
    setServerUrl(u);
    try {
      const h = await api.health();
      setHealth(`Server answered: ${h.status}.`);
      if (u !== "") window.location.assign("/");
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <div data-screen="settings" className="settings">
      <h1 className="page-title">Settings</h1>

      <section className="section card" aria-labelledby="srv-h">
        <h2 id="srv-h">Server</h2>
        <form onSubmit={saveServer} className="stack">
          <div className="field">
            <label htmlFor={ids.url}>Server URL</label>
            <input
              id={ids.url}
              type="url"
              inputMode="url"
              placeholder={window.location.origin}
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              aria-describedby={`${ids.url}-help`}
            />
            <p id={`${ids.url}-help`} className="muted small">
              Empty: the server this app was opened from ({window.location.origin}). Another address
              only works where the page's security policy allows it (development).
            </p>
          </div>
          <ErrorText error={error} />
          {health && <p role="status">{health}</p>}
          <button type="submit" className="btn">
            Save and check
          </button>
        </form>
      </section>

      <section className="section card" aria-labelledby="acc-h">
        <h2 id="acc-h">Account</h2>
        <p>
          {auth.mode === "none" && "This server needs no sign-in (local use)."}
          {auth.mode === "token" && "Signed in with an API token."}
          {auth.mode === "supabase" && `Signed in${auth.email ? ` as ${auth.email}` : ""}.`}
        </p>
        {auth.mode !== "none" && (
          <button type="button" className="btn btn-danger" onClick={() => signOut()}>
            Sign out
          </button>
        )}
      </section>

      <section className="section card" aria-labelledby="not-h">
        <h2 id="not-h">Notifications</h2>
        <p data-permission={perm}>{PERMISSION_TEXT[perm]}</p>
        {perm === "default" && (
          <button type="button" className="btn" onClick={async () => setPerm(await askPermission())}>
            Allow notifications
          </button>
        )}
        {auth.pushKey && pushSupported() && perm !== "denied" && (
          <PushControls publicKey={auth.pushKey} onPermission={setPerm} projectId={projectId} projectName={project?.name} />
        )}
      </section>

      <section className="section card" aria-labelledby="theme-h">
        <h2 id="theme-h">Theme</h2>
        <fieldset className="radios">
          <legend className="sr-only">Theme</legend>
          {(["system", "light", "dark"] as Theme[]).map((t) => (
            <label key={t} className="radio">
              <input
                type="radio"
                name="theme"
                value={t}
                checked={th === t}
                onChange={() => {
                  setTheme(t);
                  setTh(t);
                }}
              />
              {t === "system" ? "Same as the system" : t === "light" ? "Light" : "Dark"}
            </label>
          ))}
        </fieldset>
      </section>

      <section className="section card" aria-labelledby="proj-h">
        <h2 id="proj-h">Project</h2>
        <p>{projectId ? `Current: ${project?.name ?? projectId}` : "No project open."}</p>
        <Link href={paths.projects()} className="btn">
          Switch project
        </Link>
      </section>
    </div>
  );
}

/** Web Push for this device: on or off, and its quiet hours. */
function PushControls({
  publicKey,
  onPermission,
  projectId,
  projectName,
}: {
  publicKey: string;
  onPermission: (p: ReturnType<typeof permission>) => void;
  /** In a project's settings: that project can be muted on this device. */
  projectId?: string;
  projectName?: string;
}) {
  const [saved] = useState(deviceSettings);
  const [on, setOn] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [quiet, setQuiet] = useState(saved.quietHours !== null);
  const [start, setStart] = useState(saved.quietHours?.start ?? "22:00");
  const [end, setEnd] = useState(saved.quietHours?.end ?? "07:00");
  const [muted, setMuted] = useState(projectId ? saved.mutedProjects.includes(projectId) : false);
  const ids = { quiet: useId(), start: useId(), end: useId(), mute: useId() };

  useEffect(() => {
    let live = true;
    isSubscribed().then(
      (v) => live && setOn(v),
      () => live && setOn(false),
    );
    return () => {
      live = false;
    };
  }, []);

  async function turnOn(mute = muted) {
    setBusy(true);
    setError(null);
    try {
      if (permission() !== "granted") {
        const p = await askPermission();
        onPermission(p);
        if (p !== "granted") return;
      }
      const quietHours = quiet ? { start, end, utcOffsetMinutes: utcOffsetMinutes() } : null;
      const base = { ...deviceSettings(), quietHours };
      const settings = projectId ? withMuted(base, projectId, mute) : base;
      await enablePush((m, p, b) => api.request(m, p, b), publicKey, settings);
      setMuted(mute);
      setOn(true);
    } catch (e) {
      setError(`Push could not be turned on here: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  async function turnOff() {
    setBusy(true);
    setError(null);
    try {
      await disablePush((m, p, b) => api.request(m, p, b));
      setOn(false);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="push" data-push={on === null ? "loading" : on ? "on" : "off"}>
      <h3>Push to this device</h3>
      <p>
        {on
          ? "On: agents that need you reach this device even when the app is closed."
          : "Off: notifications arrive only while the app is open."}
      </p>
      <label className="check" htmlFor={ids.quiet}>
        <input id={ids.quiet} type="checkbox" checked={quiet} onChange={(e) => setQuiet(e.target.checked)} />
        Quiet hours
      </label>
      {quiet && (
        <div className="quiet-times">
          <label htmlFor={ids.start}>From</label>
          <input id={ids.start} type="time" value={start} onChange={(e) => setStart(e.target.value)} />
          <label htmlFor={ids.end}>to</label>
          <input id={ids.end} type="time" value={end} onChange={(e) => setEnd(e.target.value)} />
        </div>
      )}
      {on && projectId && (
        <label className="check" htmlFor={ids.mute}>
          <input
            id={ids.mute}
            type="checkbox"
            checked={muted}
            disabled={busy}
            onChange={(e) => void turnOn(e.target.checked)}
          />
          Mute {projectName ?? "this project"} on this device
        </label>
      )}
      <ErrorText error={error} />
      {on ? (
        <>
          <button type="button" className="btn" disabled={busy} onClick={() => void turnOn()}>
            Save quiet hours
          </button>
          <button type="button" className="btn" disabled={busy} onClick={() => void turnOff()}>
            Turn push off
          </button>
        </>
      ) : (
        <button type="button" className="btn btn-primary" disabled={busy || on === null} onClick={() => void turnOn()}>
          Turn push on
        </button>
      )}
    </div>
  );
}
