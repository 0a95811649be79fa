// abroad workspace: small progressive enhancements over the server-rendered pages.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function api(method, url, body) {
  const headers = { "X-CSRF-Token": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = resp.status === 204 ? null : await resp.json();
  if (!resp.ok) {
    const err = data && data.error ? data.error : { message: resp.statusText, details: [] };
    const where = (err.details || []).map((d) => d.loc.join(".") + ": " + d.msg).join("; ");
    throw new Error(err.message + (where ? " (" + where + ")" : ""));
  }
  return data;
}

function setupJobForm() {
  const form = document.getElementById("job-form");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const kind = f.get("kind");
    const body = {
      kind,
      time_limit_seconds: Number(f.get("time_limit_seconds")),
      replications: Number(f.get("replications")),
    };
    if (f.get("variant")) body.variant = f.get("variant");
    if (kind === "evaluate") body.open_sites = String(f.get("open_sites")).split(",").filter(Boolean);
    try {
      const job = await api("POST", "/api/elections/" + encodeURIComponent(form.dataset.election) + "/jobs", body);
      window.location.href = "/jobs/" + job.id;
    } catch (e) {
      document.getElementById("job-error").textContent = e.message;
    }
  });
}

function showJob(job) {
  document.getElementById("job-progress").value = job.progress_fraction;
  document.getElementById("job-percent").textContent = Math.round(job.progress_fraction * 100) + " %";
  document.getElementById("job-status").textContent = job.status;
  document.getElementById("job-label").textContent = job.progress_label;
  document.getElementById("job-error").textContent = job.error || "";
  const ended = !["queued", "running"].includes(job.status);
  document.getElementById("job-cancel").hidden = ended;
  if (job.plan_id) {
    document.getElementById("plan-link").href = "/plans/" + job.plan_id;
    document.getElementById("report-link").href = "/api/plans/" + job.plan_id + "/report";
    document.getElementById("job-result").hidden = false;
  }
  if (job.result) {
    const pre = document.getElementById("job-json");
    pre.textContent = JSON.stringify(job.result, null, 2);
    pre.hidden = false;
  }
  return ended;
}

function setupJobPage() {
  const box = document.getElementById("job");
  if (!box) return;
  const id = box.dataset.job;
  let etag = null;
  async function poll() {
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const resp = await fetch("/api/jobs/" + id, { headers, credentials: "same-origin" });
      if (resp.status === 200) {
        etag = resp.headers.get("ETag");
        if (showJob(await resp.json())) return;
      }
    } catch (e) { /* network hiccup: try again */ }
    setTimeout(poll, 700);
  }
  document.getElementById("job-cancel").addEventListener("click", async () => {
    try { showJob(await api("POST", "/api/jobs/" + id + "/cancel")); }
    catch (e) { document.getElementById("job-error").textContent = e.message; }
  });
  poll();
}

async function setupApiDocs() {
  const box = document.getElementById("api-docs");
  if (!box) return;
  const spec = await (await fetch("/api/openapi.json")).json();
  const groups = {};
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags || ["other"])[0];
      (groups[tag] = groups[tag] || []).push({ path, method, op });
    }
  }
  box.textContent = "";
  for (const [tag, items] of Object.entries(groups)) {
    const h = document.createElement("h2");
    h.textContent = tag;
    box.appendChild(h);
    const dl = document.createElement("dl");
    for (const { path, method, op } of items) {
      const dt = document.createElement("dt");
      const code = document.createElement("code");
      code.textContent = method.toUpperCase() + " " + path;
      dt.appendChild(code);
      const dd = document.createElement("dd");
      dd.textContent = (op.summary || "") + (op.description ? " — " + op.description : "");
      dl.append(dt, dd);
    }
    box.appendChild(dl);
  }
}

setupJobForm();
setupJobPage();
setupApiDocs();
