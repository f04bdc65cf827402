/* Jemput field page: the map, the offline outbox of outcomes (IndexedDB), the sync, the service worker.
 * Without JavaScript the page still works: each outcome form is a normal post.
 * IndexedDB "jemput-field": "outbox" (outcomes not yet accepted by the server, keyed by their
 * client-generated uuid) and "conflicts" (answers the officer must see: 409, a refused replay).
 */
(function () {
  "use strict";
  var DB_NAME = "jemput-field", OUTBOX = "outbox", CONFLICTS = "conflicts";
  var data = readData();
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var map = null, syncing = false, refreshWanted = false, loadedAt = Date.now();

  function readData() { return JSON.parse(document.getElementById("field-data").textContent); }
  function $(id) { return document.getElementById(id); }

  /* ---------------------------------------------------------------- IndexedDB */
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var open = indexedDB.open(DB_NAME, 1);
        open.onupgradeneeded = function () {
          open.result.createObjectStore(OUTBOX, { keyPath: "client_id" });
          open.result.createObjectStore(CONFLICTS, { keyPath: "client_id" });
        };
        open.onsuccess = function () { resolve(open.result); };
        open.onerror = function () { reject(open.error); };
      });
    }
    return dbPromise;
  }
  function run(store, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store, mode), result;
        var req = fn(t.objectStore(store));
        if (req) req.onsuccess = function () { result = req.result; };
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function all(store) { return run(store, "readonly", function (s) { return s.getAll(); }); }
  function put(store, item) { return run(store, "readwrite", function (s) { return s.put(item); }); }
  function del(store, key) { return run(store, "readwrite", function (s) { return s.delete(key); }); }
  function dropDatabase() {
    return db().then(function (d) { d.close(); dbPromise = null; }).catch(function () {}).then(function () {
      return new Promise(function (resolve) { var r = indexedDB.deleteDatabase(DB_NAME); r.onsuccess = r.onerror = r.onblocked = function () { resolve(); }; });
    });
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /* ---------------------------------------------------------------- what the screen shows */
  function showNet() {
    var el = $("net");
    el.textContent = navigator.onLine ? data.msg.online : data.msg.offline;
    el.className = "net " + (navigator.onLine ? "on" : "off");
  }

  function refreshCount() {
    return all(OUTBOX).then(function (items) {
      $("pending").textContent = data.msg.pending.replace("{n}", String(items.length));
      $("pending").className = "pending" + (items.length ? " waiting" : "");
      var queued = {};
      items.forEach(function (i) { queued[String(i.visit_id)] = true; });
      document.querySelectorAll("li.stop").forEach(function (li) {
        var q = !!queued[li.dataset.visitId];
        li.classList.toggle("queued", q);
        var badge = li.querySelector(".badge.queued");
        if (badge) badge.hidden = !q;
        var details = li.querySelector("details.outcome");
        if (details) details.hidden = q;
      });
      return items.length;
    });
  }

  function showConflicts() {
    return all(CONFLICTS).then(function (items) {
      var ul = $("conflicts");
      ul.textContent = "";
      items.forEach(function (c) {
        var li = document.createElement("li");
        li.className = "conflict";
        li.setAttribute("role", "alert");
        var strong = document.createElement("strong");
        strong.textContent = data.msg.conflict + " (" + (c.reference || ("#" + c.visit_id)) + "): ";
        li.appendChild(strong);
        li.appendChild(document.createTextNode(c.detail || ""));
        var ok = document.createElement("button");
        ok.type = "button"; ok.className = "secondary"; ok.textContent = "OK";
        ok.addEventListener("click", function () { del(CONFLICTS, c.client_id).then(showConflicts); });
        li.appendChild(ok);
        ul.appendChild(li);
      });
    });
  }

  /* ---------------------------------------------------------------- the map */
  function drawMap() {
    var el = $("map");
    if (!window.L || !el) return;
    if (map) { map.remove(); map = null; }
    map = L.map(el, { attributionControl: !!data.tile_url, zoomSnap: 0.5 });
    if (data.tile_url) L.tileLayer(data.tile_url, { maxZoom: 19 }).addTo(map);
    else el.classList.add("plain");
    var line = [], bounds = [];
    if (data.office) {
      var o = [data.office.lat, data.office.lon];
      L.marker(o, { icon: L.divIcon({ className: "pin office", html: "\u2302", iconSize: [34, 34] }), title: data.msg.office, keyboard: false }).addTo(map);
      line.push(o); bounds.push(o);
    }
    data.stops.forEach(function (s, i) {
      if (s.lat == null || s.lon == null) return;
      var p = [s.lat, s.lon];
      var m = L.marker(p, { icon: L.divIcon({ className: "pin pin-stop pin-" + s.state, html: String(i + 1), iconSize: [34, 34] }), title: String(i + 1) }).addTo(map);
      m.on("click", function () { var li = $("visit-" + s.visit_id); if (li) li.scrollIntoView({ behavior: "smooth", block: "start" }); });
      line.push(p); bounds.push(p);
    });
    if (data.office) line.push([data.office.lat, data.office.lon]);
    if (line.length > 1) L.polyline(line, { color: "#0b5cad", weight: 4, opacity: 0.8 }).addTo(map);
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [28, 28] });
    else if (bounds.length === 1) map.setView(bounds[0], 15);
    else map.setView([-7.4722, 112.4336], 13);
  }

  /* ---------------------------------------------------------------- outcomes: queue, then send */
  function iso(hhmm) { return hhmm ? data.date + "T" + hhmm + ":00" + data.offset : null; }

  function position(wanted) {
    if (!wanted || !navigator.geolocation) return Promise.resolve(null);
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (p) { resolve({ lat: p.coords.latitude, lon: p.coords.longitude }); },
        function () { $("sync-note").textContent = data.msg.gps_denied; resolve(null); }, { timeout: 5000, maximumAge: 60000 });
    });
  }

  function onSubmit(event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("outcome-form") || !window.indexedDB) return; // no IndexedDB: the normal post
    event.preventDefault();
    var f = form.elements, li = form.closest("li.stop");
    var gps = f.use_gps && f.use_gps.checked;
    if (!f.finished_at.value) f.finished_at.value = hhmm();
    position(gps).then(function (pos) {
      var item = {
        client_id: uuid4(), visit_id: Number(form.dataset.visitId), date: data.date, queued_at: Date.now(),
        reference: li ? li.dataset.reference : "",
        body: {
          outcome: f.outcome.value, arrived_at: iso(f.arrived_at.value), finished_at: iso(f.finished_at.value),
          note: f.note.value.trim() || null, lat: pos ? pos.lat : null, lon: pos ? pos.lon : null
        }
      };
      if (f.request_id && f.request_id.value) item.body.request_id = Number(f.request_id.value); // a group visit: whose outcome
      item.body.client_id = item.client_id;
      return put(OUTBOX, item).then(function () {
        form.reset();
        var d = form.closest("details"); if (d) d.open = false;
        if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
        return refreshCount().then(sync);
      }, function () {
        HTMLFormElement.prototype.submit.call(form); // the device cannot queue it: post the form as without JavaScript
      });
    });
  }

  function sync() {
    if (syncing) return Promise.resolve();
    syncing = true;
    var changed = false;
    return all(OUTBOX).then(function (items) {
      items.sort(function (a, b) { return a.queued_at - b.queued_at; });
      var chain = Promise.resolve(true);
      items.forEach(function (item) {
        chain = chain.then(function (go) {
          return go ? send(item).then(function (r) {
            if (r === "sent" || r === "conflict") changed = true;
            if (r === "auth") $("sync-note").textContent = data.msg.login_again;
            return r === "sent" || r === "conflict";
          }) : false;
        });
      });
      return chain;
    }).catch(function () {}).then(function () {
      syncing = false;
      return refreshCount().then(showConflicts).then(function () { if (changed || refreshWanted) return refreshRoute(); });
    });
  }

  /* "sent" | "conflict" (both leave the outbox) | "auth" (logged out: kept) | "stop" (offline, server trouble: kept, retried later) */
  function send(item) {
    return fetch("/api/v1/field/visits/" + item.visit_id + "/outcome", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(item.body)
    }).then(function (r) {
      if (r.ok) return del(OUTBOX, item.client_id).then(function () { return "sent"; });
      if (r.status === 409 || r.status === 422 || r.status === 404) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          // the API's errors: {detail: message, code} (409, 404, a refused replay), or {detail: [{field, reason}]} (422)
          var detail = typeof body.detail === "string" ? body.detail
            : Array.isArray(body.detail) && body.detail.length ? body.detail.map(function (e) { return e.field + ": " + e.reason; }).join("; ")
            : (body.code || String(r.status));
          return put(CONFLICTS, { client_id: item.client_id, visit_id: item.visit_id, date: item.date, reference: item.reference, detail: detail, code: body.code || "" })
            .then(function () { return del(OUTBOX, item.client_id); }).then(function () { return "conflict"; });
        });
      }
      return r.status === 401 || r.status === 403 ? "auth" : "stop";
    }, function () { return "stop"; });
  }

  /* The page as the server now sees it (the re-planned order), swapped in without a reload. */
  function refreshRoute() {
    var active = document.activeElement;
    var editing = active && active.matches && active.matches("input, select, textarea") && active.closest("details[open] form.outcome-form");
    if (editing) { refreshWanted = true; return Promise.resolve(); } // never swap a form the officer is filling in
    refreshWanted = false;
    return fetch(location.pathname + location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (!r.ok || r.redirected) return;
      return r.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["stops", "summary"].forEach(function (id) {
          var fresh = doc.getElementById(id), old = $(id);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        });
        var fd = doc.getElementById("field-data");
        if (fd) { $("field-data").textContent = fd.textContent; data = readData(); }
        enhance();
        drawMap();
        return refreshCount();
      });
    }).catch(function () {});
  }

  /* ---------------------------------------------------------------- "on our way" and "running late" (need a connection) */
  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) { return { ok: r.ok, body: b }; });
    });
  }

  function onWay(button) {
    var note = button.parentNode.querySelector(".onway-note");
    var again = button.dataset.again === "1";
    button.disabled = true;
    quickPosition().then(function (pos) {
      return postJson("/api/v1/field/visits/" + button.dataset.visitId + "/on-our-way", { lat: pos ? pos.lat : null, lon: pos ? pos.lon : null, again: again });
    }).then(function (res) {
      if (!res.ok) { note.textContent = typeof res.body.detail === "string" ? res.body.detail : data.msg.needs_connection; return; }
      var eta = res.body.eta || "";
      note.textContent = (res.body.sent ? data.msg.onway_sent : data.msg.onway_already).replace("{eta}", eta);
      if (!res.body.sent) { button.dataset.again = "1"; button.textContent = data.msg.send_again; }
    }, function () { note.textContent = data.msg.needs_connection; }).then(function () { button.disabled = false; });
  }

  function onLate(event) {
    var form = event.target;
    if (form.id !== "late-form") return;
    event.preventDefault();
    var minutes = Number(form.elements.minutes.value), note = $("late-note");
    quickPosition().then(function (pos) {
      return postJson("/api/v1/field/late", { minutes: minutes, lat: pos ? pos.lat : null, lon: pos ? pos.lon : null });
    }).then(function (res) {
      if (!res.ok) { note.textContent = typeof res.body.detail === "string" ? res.body.detail : data.msg.needs_connection; return; }
      note.textContent = data.msg.late_sent.replace("{n}", String(minutes));
      setTimeout(refreshRoute, 4000); // the re-plan runs in the background: show the new order
    }, function () { note.textContent = data.msg.needs_connection; });
  }

  function quickPosition() {
    if (!navigator.geolocation) return Promise.resolve(null);
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (p) { resolve({ lat: p.coords.latitude, lon: p.coords.longitude }); },
        function () { resolve(null); }, { timeout: 3000, maximumAge: 60000 });
    });
  }

  /* ---------------------------------------------------------------- service worker, logout, end of day */
  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/field/sw.js", { scope: "/field" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      // today's and tomorrow's route page (not this page's day: the worker keeps it as it loads) and
      // their JSON from the field API (GET /api/v1/field/day), each unless fetched in the last 10 minutes
      var urls = [], here = new URLSearchParams(location.search).get("date") || data.cache_days[0];
      data.cache_days.forEach(function (d) {
        var wanted = ["/api/v1/field/day?date=" + d];
        if (d !== here) wanted.unshift("/field?date=" + d);
        wanted.forEach(function (u) {
          var key = "jemput-field-prefetch-" + u, last = Number(sessionStorage.getItem(key) || 0);
          if (Date.now() - last < 600000) return;
          sessionStorage.setItem(key, String(Date.now()));
          urls.push(u);
        });
      });
      if (!navigator.serviceWorker.controller) urls.unshift(location.pathname + location.search); // this first load bypassed the worker
      var channel = new MessageChannel();
      channel.port1.onmessage = function () { document.documentElement.dataset.offlineReady = "1"; };
      reg.active.postMessage({ type: "cache-days", urls: urls, today: data.cache_days[0], ends_at: loadedAt + data.day_ends_in * 1000, user: data.user }, [channel.port2]);
    }).catch(function () {});
  }

  function clearDevice() {
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    var viaWorker = worker ? new Promise(function (resolve) {
      var ch = new MessageChannel(); ch.port1.onmessage = function () { resolve(); };
      worker.postMessage({ type: "clear" }, [ch.port2]);
      setTimeout(resolve, 2000);
    }) : Promise.resolve();
    var direct = window.caches ? caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("jemput-field-data") === 0; }).map(function (n) { return caches.delete(n); }));
    }) : Promise.resolve();
    try { Object.keys(sessionStorage).forEach(function (k) { if (k.indexOf("jemput-field-") === 0) sessionStorage.removeItem(k); }); } catch (e) { /* private mode */ }
    return Promise.all([viaWorker, direct, dropDatabase()]);
  }

  function onLogout(event) {
    var form = event.target;
    if (form.getAttribute("action") !== "/logout") return;
    event.preventDefault();
    sync().then(function () { return all(OUTBOX); }).then(function (left) {
      if (left.length && !window.confirm(data.msg.logout_pending)) return;
      return clearDevice().then(function () { HTMLFormElement.prototype.submit.call(form); });
    });
  }

  /* Conflict notes of earlier days are not kept (the outbox is: it is sent when the connection returns). */
  function expireNotes() {
    return all(CONFLICTS).then(function (items) {
      return Promise.all(items.filter(function (c) { return c.date && c.date < data.cache_days[0]; }).map(function (c) { return del(CONFLICTS, c.client_id); }));
    });
  }

  function enhance() {
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  }

  document.addEventListener("submit", function (e) { onSubmit(e); onLogout(e); onLate(e); });
  function hhmm() { var d = new Date(); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  // one hand, one tap: opening a form puts the arrival at "now", saving puts the finish at "now" (both editable)
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!d.matches || !d.matches("details.outcome") || !d.open) return;
    var f = d.querySelector("form").elements;
    if (!f.arrived_at.value) f.arrived_at.value = hhmm();
  }, true);
  document.addEventListener("click", function (e) { var b = e.target.closest && e.target.closest("button.onway"); if (b) onWay(b); });
  window.addEventListener("online", function () { showNet(); sync(); });
  window.addEventListener("offline", showNet);
  var resizeTimer = null;
  window.addEventListener("resize", function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawMap, 150); }); // portrait <-> landscape
  enhance();
  showNet();
  drawMap();
  if (window.indexedDB) { refreshCount().then(showConflicts).then(expireNotes).then(sync).catch(function () {}); }
  registerWorker();
  setInterval(function () { if (navigator.onLine) sync(); }, 20000);
})();
