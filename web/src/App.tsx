import { useEffect, useState } from "react";
import { Redirect, useLocation } from "wouter";
import { useApp } from "./store/app";
import { configureAuth, connection, currentToken, inboxLoader, lastProject, loadAuthConfig } from "./services";
import { shareCredential } from "./push";
import { cachedConfig, saveConfig } from "./store/offline";
import { parse, paths } from "./routes";
import { ProjectPicker, SignIn } from "./screens/Entry";
import { ProjectShell } from "./screens/Shell";
import { Inbox } from "./screens/Inbox";
import { Settings } from "./screens/Settings";
import { setNavigator } from "./notify";
import { ErrorText } from "./components/common";
import { mark } from "./perf";

function Splash({ error, onRetry }: { error?: string | null; onRetry?: () => void }) {
  return (
    <main id="main" className="splash" data-screen="splash">
      <img src="/icons/icon.svg" alt="" width="72" height="72" />
      <h1>Maestro</h1>
      {error ? (
        <>
          <ErrorText error={`Cannot reach the server: ${error}`} />
          <button type="button" className="btn btn-primary" onClick={onRetry}>
            Try again
          </button>
        </>
      ) : (
        <p aria-busy="true">Connecting to the server…</p>
      )}
    </main>
  );
}

export function App() {
  const auth = useApp((s) => s.auth);
  const [location, navigate] = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setNavigator((url) => navigate(url));
    const onMessage = (e: MessageEvent) => {
      const d = e.data as { type?: string; url?: string } | null;
      if (d?.type === "open" && typeof d.url === "string") navigate(d.url);
    };
    navigator.serviceWorker?.addEventListener("message", onMessage);
    return () => navigator.serviceWorker?.removeEventListener("message", onMessage);
  }, [navigate]);

  useEffect(() => {
    let on = true;
    setError(null);
    loadAuthConfig().then(
      (cfg) => {
        mark("maestro:auth-config");
        saveConfig(cfg);
        if (on) configureAuth(cfg);
      },
      (e: Error) => {
        if (!on) return;
        // Offline: start from the config this device kept; the connection comes back later.
        const kept = cachedConfig();
        if (kept) configureAuth(kept);
        else setError(e.message);
      },
    );
    return () => {
      on = false;
    };
  }, [attempt]);

  // Signed in again after a refusal: reconnect. The service worker gets the credential too,
  // to answer an agent from a notification.
  useEffect(() => {
    if (!auth.signedIn) return;
    connection.retry();
    void inboxLoader.refresh();
    void currentToken().then(shareCredential);
  }, [auth.signedIn]);

  if (auth.mode === null) return <Splash error={error} onRetry={() => setAttempt((a) => a + 1)} />;
  if (!auth.signedIn) return <SignIn />;

  const route = parse(location);
  switch (route.name) {
    case "home": {
      const last = lastProject();
      return <Redirect to={last ? paths.project(last) : paths.projects()} replace />;
    }
    case "projects":
      return <ProjectPicker />;
    case "inbox": {
      // In the frame of the last project (tabs, connection); standalone without one.
      const last = lastProject();
      if (last) return <Redirect to={paths.inbox(last)} replace />;
      return (
        <main id="main" className="content standalone">
          <Inbox />
        </main>
      );
    }
    case "settings":
      return (
        <main id="main" className="content standalone">
          <Settings />
        </main>
      );
    case "project": {
      const props: Parameters<typeof ProjectShell>[0] = { projectId: route.projectId, tab: route.tab };
      if (route.taskId) props.taskId = route.taskId;
      if (route.sessionId) props.sessionId = route.sessionId;
      return <ProjectShell {...props} />;
    }
    default:
      return (
        <main id="main" className="splash">
          <h1>Page not found</h1>
          <a href="/projects">Go to your projects</a>
        </main>
      );
  }
}
