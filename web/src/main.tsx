import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { applyTheme, authStorage, bootAuthConfig, connection, watchInbox, watchOutbox } from "./services";
import { parse } from "./routes";
import { keepNotices } from "./store/notices";
import "./styles.css";

applyTheme();
bootAuthConfig();
keepNotices();

// A project URL: open the live connection now, in parallel with the auth config request and the
// first render (it carries whatever credentials are stored; a refusal leads to sign-in).
const route = parse(window.location.pathname);
const supabase = authStorage.getSupabase();
const fresh = !supabase || supabase.expiresAt - 60_000 > Date.now(); // else refresh first
if (route.name === "project" && fresh) connection.open(route.projectId);
connection.watchNetwork();
watchInbox();
watchOutbox();

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

// The service worker caches the app shell only (see build/sw-template.js); not in development.
if (import.meta.env.PROD && "serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  });
}
