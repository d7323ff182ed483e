// The interactive API reference at /api/docs: fetches /api/openapi.json with the credential
// the web app stored (or one typed here) and renders it with Redoc, loaded from the server
// itself (a pinned copy built into the binary; no CDN).
import { AuthStorage, browserStorage } from "../auth/storage.ts";

interface RedocGlobal {
  init(spec: unknown, options: Record<string, unknown>, element: HTMLElement | null): void;
}

const REDOC_SRC = "/api-docs/redoc.standalone.js";
const SPEC_URL = "/api/openapi.json";

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el as T;
}

const status = byId<HTMLParagraphElement>("api-docs-status");
const form = byId<HTMLFormElement>("api-docs-token");
const input = byId<HTMLInputElement>("api-docs-token-input");

function storedCredential(): string | null {
  const auth = new AuthStorage(browserStorage());
  return auth.getSupabase()?.accessToken ?? auth.getToken();
}

async function fetchSpec(token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(SPEC_URL, { headers, credentials: "omit" });
}

function loadRedoc(): Promise<RedocGlobal> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = REDOC_SRC;
    script.onload = () => {
      const redoc = (globalThis as unknown as { Redoc?: RedocGlobal }).Redoc;
      if (redoc) resolve(redoc);
      else reject(new Error("Redoc did not load"));
    };
    script.onerror = () =>
      reject(new Error("the Redoc bundle is missing (the web app was not built into this binary)"));
    document.head.append(script);
  });
}

async function show(spec: unknown): Promise<void> {
  status.textContent = "Rendering…";
  const redoc = await loadRedoc();
  redoc.init(spec, { hideDownloadButton: false, expandResponses: "200,201" }, byId("redoc"));
  status.textContent = "";
  status.hidden = true;
}

async function tryWith(token: string | null): Promise<boolean> {
  const res = await fetchSpec(token);
  if (res.status === 401 || res.status === 403) return false;
  if (!res.ok) throw new Error(`${SPEC_URL} answered ${res.status}`);
  await show(await res.json());
  return true;
}

async function main(): Promise<void> {
  try {
    if (await tryWith(storedCredential())) return;
    status.textContent = "Sign-in needed.";
    form.hidden = false;
    input.focus();
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const token = input.value.trim();
      status.textContent = "Checking…";
      tryWith(token)
        .then((ok) => {
          if (ok) form.hidden = true;
          else status.textContent = "The server refused that credential.";
        })
        .catch((err: unknown) => {
          status.textContent = `Cannot show the reference: ${String(err)}`;
        });
    });
  } catch (err) {
    status.textContent = `Cannot show the reference: ${String(err)}`;
  }
}

void main();
