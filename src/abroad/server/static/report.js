// abroad station reporting form: every report is kept on the device (IndexedDB) until the
// server has it. Network errors and 5xx (and 408/429) are retried with backoff; other 4xx
// answers are shown for correction and kept until the user re-files or discards them.
// Several reports waiting are sent as one bulk filing (each answered on its own).
"use strict";

(function () {
  const form = document.getElementById("report-form");
  if (!form) return;
  const url = form.dataset.url;
  const DB_NAME = "abroad-reports";
  const STORE = "pending";
  const pendingEl = document.getElementById("pending-count");
  const stateEl = document.getElementById("sync-state");
  const rejectedEl = document.getElementById("rejected");
  const sentEl = document.getElementById("sent");
  let backoffMs = 1000;
  let timer = null;
  let flushing = false;

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "client_id" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function tx(mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const out = fn(t.objectStore(STORE));
      t.oncomplete = () => { db.close(); resolve(out && out.result !== undefined ? out.result : out); };
      t.onerror = () => { db.close(); reject(t.error); };
    });
  }

  const all = () => tx("readonly", (s) => s.getAll());
  const put = (item) => tx("readwrite", (s) => s.put(item));
  const remove = (id) => tx("readwrite", (s) => s.delete(id));

  function body() {
    const f = new FormData(form);
    const out = { client_id: newId(), taken_at: new Date().toISOString(), working: {} };
    for (const [k, v] of f.entries()) {
      if (v === "" || v === null) continue;
      if (k.startsWith("working.")) out.working[k.slice(8)] = parseInt(v, 10);
      else if (k === "line_length_m") out[k] = parseFloat(v);
      else if (k === "event" || k === "incident") out[k] = v;
      else out[k] = parseInt(v, 10);
    }
    return out;
  }

  function li(text, actions) {
    const el = document.createElement("li");
    el.textContent = text;
    for (const [label, fn] of actions || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", fn);
      el.append(" ", b);
    }
    return el;
  }

  async function render() {
    const items = await all();
    const waiting = items.filter((i) => i.state !== "rejected");
    pendingEl.textContent = String(waiting.length);
    rejectedEl.replaceChildren(
      ...items.filter((i) => i.state === "rejected").map((i) =>
        li(`${i.body.taken_at}: ${i.error}`, [
          ["Correct", async () => { await remove(i.client_id); fill(i.body); await render(); }],
          ["Discard", async () => { await remove(i.client_id); await render(); }],
        ])
      )
    );
  }

  function fill(b) {
    form.reset();
    for (const [k, v] of Object.entries(b)) {
      if (k === "working") {
        for (const [stage, n] of Object.entries(v)) {
          const el = form.elements.namedItem("working." + stage);
          if (el) el.value = String(n);
        }
      } else {
        const el = form.elements.namedItem(k);
        if (el && v !== null) el.value = String(v);
      }
    }
    form.querySelector("input, select, textarea").focus();
  }

  function schedule(ms) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, ms);
  }

  function errorText(data, status) {
    const err = data && data.error ? data.error : { message: "HTTP " + status, details: [] };
    const where = (err.details || []).map((d) => d.loc.join(".") + ": " + d.msg).join("; ");
    return err.message + (where ? " (" + where + ")" : "");
  }

  async function send(item) {
    let resp;
    try {
      resp = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify(item.body),
      });
    } catch (e) {
      return "retry"; // offline or the connection dropped: keep it
    }
    if (resp.ok) {
      const data = await resp.json();
      await remove(item.client_id);
      sentEl.prepend(li(sentText(item, data)));
      return "sent";
    }
    if (resp.status >= 500 || resp.status === 408 || resp.status === 429) return "retry";
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    await put({ ...item, state: "rejected", error: errorText(data, resp.status) });
    return "rejected";
  }

  function sentText(item, data) {
    return `${item.body.taken_at}: ${data.status}` +
      (data.reasons.length ? " (" + data.reasons.map((r) => r.message).join("; ") + ")" : "");
  }

  // Several waiting (back online after a while): one bulk filing of up to BULK of them, each
  // answered with its own status as the one-report route would. The whole filing refused
  // (not a network or server error) falls back to one report at a time, which shows each
  // report's own answer.
  const BULK = 500;
  async function sendMany(items) {
    let resp;
    try {
      resp = await fetch(url + "/bulk", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ reports: items.map((i) => i.body) }),
      });
    } catch (e) {
      return "retry";
    }
    if (resp.status >= 500 || resp.status === 408 || resp.status === 429) return "retry";
    if (!resp.ok) return "one by one";
    const data = await resp.json();
    let retry = false;
    for (let k = 0; k < items.length; k++) {
      const item = items[k];
      const r = data.results[k];
      if (r.status === 200 || r.status === 201) {
        await remove(item.client_id);
        sentEl.prepend(li(sentText(item, r.report)));
      } else if (r.status >= 500 || r.status === 408 || r.status === 429) {
        retry = true;
      } else {
        await put({ ...item, state: "rejected", error: errorText({ error: r.error }, r.status) });
      }
    }
    return retry ? "retry" : "sent";
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    let retry = false;
    try {
      const items = (await all()).filter((i) => i.state !== "rejected");
      items.sort((a, b) => a.created - b.created);
      let single = items.length < 2;
      for (let k = 0; k < items.length && !single; k += BULK) {
        const outcome = await sendMany(items.slice(k, k + BULK));
        if (outcome === "retry") { retry = true; break; }
        if (outcome === "one by one") single = true;
      }
      const left = single ? (await all()).filter((i) => i.state !== "rejected") : [];
      left.sort((a, b) => a.created - b.created);
      for (const item of retry ? [] : left) {
        if ((await send(item)) === "retry") { retry = true; break; }
      }
    } finally {
      flushing = false;
    }
    await render();
    if (retry) {
      stateEl.textContent = `· offline or server busy, retrying in ${Math.round(backoffMs / 1000)} s`;
      schedule(backoffMs * (0.75 + Math.random() / 2));
      backoffMs = Math.min(backoffMs * 2, 60000);
    } else {
      stateEl.textContent = "";
      backoffMs = 1000;
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const b = body();
    await put({ client_id: b.client_id, body: b, created: Date.now(), state: "pending" });
    form.reset();
    await render();
    backoffMs = 1000;
    flush();
  });
  window.addEventListener("online", () => { backoffMs = 1000; flush(); });
  render().then(flush);
})();
