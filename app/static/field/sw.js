/* Jemput field service worker (scope /field): the route stays readable without a connection.
 *
 * Two caches:
 *   SHELL  - the app shell (CSS, JS, Leaflet): no personal data; stale-while-revalidate.
 *   DATA   - the route pages (/field?date=...) and their JSON (/api/v1/field/day?date=...) of
 *            today and tomorrow only: personal data. Each cached copy carries the day it belongs
 *            to (header X-Field-Day); copies of days before today are deleted whenever the worker
 *            runs (end of day), all of them when the server answers with a redirect to /login
 *            (logged out, session over) or when the page asks (logout button).
 * Writes (outcomes) are never handled here: the page queues them in IndexedDB and posts them.
 */
"use strict";

const SHELL = "jemput-field-shell-v2";
const DATA = "jemput-field-data";
const META = "/field/__meta";
const SHELL_FILES = ["/static/app.css", "/static/field/field.css", "/static/field/field.js", "/static/vendor/leaflet/leaflet.css", "/static/vendor/leaflet/leaflet.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("jemput-field-shell-") && name !== SHELL) await caches.delete(name);
    }
    await expire();
    await self.clients.claim();
  })());
});

async function meta() {
  const r = await (await caches.open(DATA)).match(META);
  return r ? r.json() : null;
}

/* Today in the office, as the server last said (meta.today), moved on by the device's clock once
 * that day has ended (meta.ends_at: the device time of the office's next midnight). */
function currentDay(m) {
  if (Date.now() < m.ends_at) return m.today;
  let day = m.today;
  for (let i = 0; i <= Math.floor((Date.now() - m.ends_at) / 86400000); i++) day = nextDay(day);
  return day;
}

/* Delete the cached route data of days before today (the end of the day clears it). */
async function expire() {
  const m = await meta();
  if (!m) return;
  const today = currentDay(m);
  const cache = await caches.open(DATA);
  for (const req of await cache.keys()) {
    if (req.url.endsWith(META)) continue;
    const r = await cache.match(req);
    const day = r && r.headers.get("X-Field-Day");
    if (!day || day < today) await cache.delete(req);
  }
}

function nextDay(day) {
  const d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function dayOf(url, fallback) {
  return new URL(url).searchParams.get("date") || fallback;
}

async function store(request, response, fallbackDay) {
  const body = await response.clone().blob();
  const headers = new Headers(response.headers);
  headers.set("X-Field-Day", response.headers.get("X-Field-Day") || dayOf(request.url || request, fallbackDay));
  await (await caches.open(DATA)).put(request, new Response(body, { status: response.status, headers }));
}

async function clearData() {
  await caches.delete(DATA);
}

self.addEventListener("message", (event) => {
  const msg = event.data || {};
  const reply = (value) => event.ports[0] && event.ports[0].postMessage(value);
  if (msg.type === "clear") {
    event.waitUntil(clearData().then(() => reply({ cleared: true })));
  } else if (msg.type === "cache-days") {
    event.waitUntil((async () => {
      const old = await meta();
      if (old && old.user !== msg.user) await clearData(); // another officer on this tablet
      const cache = await caches.open(DATA);
      await cache.put(META, new Response(JSON.stringify({ user: msg.user, today: msg.today, ends_at: msg.ends_at }), { headers: { "Content-Type": "application/json" } }));
      let cached = 0;
      for (const url of msg.urls) {
        try {
          const r = await fetch(url, { credentials: "same-origin", redirect: "manual" });
          if (r.ok) { await store(new Request(url), r, msg.today); cached += 1; }
        } catch (e) { /* offline: keep what is there */ }
      }
      await expire();
      reply({ cached });
    })());
  }
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return; // outcomes go straight to the network
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(shell(req));
  } else if (url.pathname === "/field" || url.pathname === "/api/v1/field/day") {
    event.respondWith(route(req));
  }
});

async function shell(req) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(req);
  const fresh = fetch(req).then((r) => { if (r.ok) cache.put(req, r.clone()); return r; }).catch(() => null);
  return hit || (await fresh) || new Response("", { status: 504 });
}

/* The URL without the parameters that only decorate a page (e.g. ?saved=): one cached copy per day. */
function canonical(url) {
  const u = new URL(url);
  const day = u.searchParams.get("date");
  return u.origin + u.pathname + (day ? "?date=" + encodeURIComponent(day) : "");
}

async function route(req) {
  try {
    const r = await fetch(req);
    if (r.type === "opaqueredirect" || r.redirected || r.status === 401 || r.status === 403) {
      await clearData(); // logged out or session over: nothing personal stays on the device
      return r;
    }
    if (r.ok && canonical(req.url) === req.url) {
      const m = await meta();
      const day = r.headers.get("X-Field-Day") || dayOf(req.url, m ? m.today : null);
      const today = m ? currentDay(m) : day;
      if (day && day >= today && day <= nextDay(today)) await store(req, r.clone(), day); // today and tomorrow only
    }
    return r;
  } catch (e) {
    await expire();
    const cache = await caches.open(DATA);
    const m = await meta();
    const day = new URL(req.url).searchParams.get("date") || (m ? currentDay(m) : null);
    const hit = (await cache.match(req)) || (await cache.match(canonical(req.url))) || (day ? await cache.match(new URL(req.url).pathname + "?date=" + day) : null);
    if (hit) return hit;
    return new Response("<!doctype html><meta charset=utf-8><title>Offline</title><p>Offline / Luring</p>", { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}
