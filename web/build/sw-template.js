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

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((list) => {
      for (const c of list) {
        if (new URL(c.url).origin === self.location.origin) {
          c.postMessage({ type: "open", url: target });
          return c.focus();
        }
      }
      return self.clients.openWindow(target);
    }),
  );
});
