// Maestro web app service worker: caches the app shell only. Requests to the API, Socket.IO,
// health and any other origin always go to the network and are never stored.
const VERSION = __VERSION__;
const SHELL = __SHELL__;
const CACHE = `maestro-shell-${VERSION}`;

const NEVER_CACHED = ["/api", "/socket.io", "/health", "/ws-status"];

function bypass(url) {
  return NEVER_CACHED.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`));
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith("maestro-shell-") && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || bypass(url)) return;
  if (req.mode === "navigate") {
    // index.html is no-cache on the server: network first, the cached shell when offline.
    event.respondWith(fetch(req).catch(() => caches.match("/index.html")));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
  }
});

// ---- Web Push (issue 27) ----------------------------------------------------------------
// The server pushes JSON notes (docs/API.md "Web Push"): shown as notifications with the
// agent's answers, Approve/Deny or Reply as actions. An action that answers the agent is sent
// from here, without opening the app, with the credential the app left in the "maestro-auth"
// cache; when that fails the app opens where the answer can be given.

const AUTH_CACHE = "maestro-auth";
const CREDENTIAL = "/__maestro/credential";

function sessionUrl(d) {
  const enc = encodeURIComponent;
  if (!d.projectId) return "/";
  const base = `/projects/${enc(d.projectId)}`;
  return d.sessionId && d.kind !== "mail" ? `${base}/sessions/${enc(d.sessionId)}` : base;
}

async function showPush(d) {
  if (!d || typeof d.title !== "string") return;
  const url = sessionUrl(d);
  const waiting = d.kind === "needs_input" || d.kind === "modal";
  await self.registration.showNotification(d.title, {
    body: typeof d.body === "string" ? d.body : "",
    tag: typeof d.tag === "string" ? d.tag : undefined,
    renotify: true,
    requireInteraction: waiting,
    icon: "/icons/icon-192.png",
    badge: "/icons/icon-192.png",
    data: { ...d, url },
    actions: Array.isArray(d.actions) ? d.actions.slice(0, 2) : [],
  });
  // An open app refreshes its inbox (the push may be about another project than it shows).
  const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const c of open) c.postMessage({ type: "push", kind: d.kind, projectId: d.projectId });
  // The app icon counts what is waiting (Badging API, where there is one).
  if (self.navigator.setAppBadge) {
    const shown = await self.registration.getNotifications();
    await self.navigator.setAppBadge(shown.length).catch(() => {});
  }
}

self.addEventListener("push", (event) => {
  let note = null;
  try {
    note = event.data ? event.data.json() : null;
  } catch {
    note = null;
  }
  event.waitUntil(showPush(note));
});

async function credential() {
  const hit = await (await caches.open(AUTH_CACHE)).match(CREDENTIAL);
  return hit ? hit.text() : "";
}

async function api(method, path, body) {
  const token = await credential();
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(path, { method, headers, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
}

async function openApp(url) {
  const list = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const c of list) {
    if (new URL(c.url).origin === self.location.origin) {
      c.postMessage({ type: "open", url });
      return c.focus();
    }
  }
  return self.clients.openWindow(url);
}

/** What a tap on a notification (or on one of its actions) does. */
async function handleNotificationClick(notification, action) {
  const d = notification.data || {};
  const enc = encodeURIComponent;
  const url = d.url || "/";
  notification.close();
  try {
    if ((action === "approve" || action === "deny") && d.sessionId && d.modalId) {
      await api("POST", `/api/sessions/${enc(d.sessionId)}/modal/${enc(d.modalId)}/actions`, {
        action,
        data: {},
      });
      return;
    }
    if (action && action.startsWith("answer:") && d.sessionId) {
      const options = Array.isArray(d.options) && d.options.length ? d.options : ["Go ahead"];
      const answer = options[Number(action.slice("answer:".length))];
      if (typeof answer === "string") {
        await api("POST", `/api/sessions/${enc(d.sessionId)}/reply`, { message: answer });
        return;
      }
    }
  } catch {
    // Not answered from here (no credential, offline, refused): the app can.
  }
  return openApp(action ? `${url}?reply=1` : url);
}

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(handleNotificationClick(event.notification, event.action));
});
