// abroad operations console: polls the election's live overview with If-None-Match (a 304
// costs nothing) and redraws the table and the map of stations.
"use strict";

(function () {
  const table = document.getElementById("console");
  if (!table) return;
  const url = table.dataset.url;
  const alertsUrl = table.dataset.alerts;
  const canHandle = table.dataset.handle === "1";
  const tbody = table.querySelector("tbody");
  const POLL_MS = 5000;
  let etag = null;
  let timelineEtag = null;
  let timelineItems = [];
  let map = null;
  let markers = null;
  let chosen = null;
  const SVG = "http://www.w3.org/2000/svg";
  // the texts shown, from the template (translated with it)
  const stringsEl = document.getElementById("console-strings");
  const STRINGS = stringsEl ? JSON.parse(stringsEl.textContent) : {};

  function t(key, values) {
    let text = STRINGS[key] !== undefined ? STRINGS[key] : key;
    for (const [k, v] of Object.entries(values || {})) text = text.split(`{${k}}`).join(String(v));
    return text;
  }

  function clockText(m) {
    const h = Math.floor(m / 60), mm = Math.round(m % 60);
    return String(h).padStart(2, "0") + ":" + String(mm).padStart(2, "0");
  }

  function svgEl(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  function clockMinutes(iso) {
    // the local clock of the report as taken (the offset it carries is the station's)
    const m = /T(\d\d):(\d\d)/.exec(iso);
    return m ? parseInt(m[1], 10) * 60 + parseInt(m[2], 10) : NaN;
  }

  // One chart: dots (reported), an optional dashed planned curve, a predicted mean with its
  // band; x in clock minutes, y from zero.
  function plot(svg, spec) {
    svg.replaceChildren();
    const dots = spec.dots || [], band = spec.band || [], planned = spec.planned || [];
    const xs = dots.map((p) => p[0]).concat(band.map((p) => p.minute), planned.map((p) => p.minute));
    const ys = dots.map((p) => p[1]).concat(band.map((p) => p.ci_high), planned.map((p) => p.mean));
    if (!xs.length) return;
    const W = 720, H = 240, L = 50, B = 24;
    const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 60), y1 = Math.max(...ys, 10);
    const X = (m) => L + ((m - x0) / (x1 - x0)) * (W - L - 10);
    const Y = (v) => H - B - (v / y1) * (H - B - 10);
    svg.append(svgEl("line", { x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: "#5b6572" }));
    svg.append(svgEl("line", { x1: L, y1: 10, x2: L, y2: H - B, stroke: "#5b6572" }));
    for (let h = Math.ceil(x0 / 60) * 60; h <= x1; h += 120) {
      const tx = svgEl("text", { x: X(h), y: H - 6, "text-anchor": "middle", "font-size": 11 });
      tx.textContent = String(h / 60).padStart(2, "0") + ":00";
      svg.append(tx);
    }
    const top = svgEl("text", { x: L - 6, y: 16, "text-anchor": "end", "font-size": 11 });
    top.textContent = String(Math.round(y1));
    svg.append(top);
    if (planned.length) {
      svg.append(svgEl("polyline", {
        points: planned.map((p) => `${X(p.minute)},${Y(p.mean)}`).join(" "),
        fill: "none", stroke: "#2a9d8f", "stroke-width": 2, "stroke-dasharray": "6 4",
        class: "planned",
      }));
    }
    if (band.length) {
      const poly = band.map((p) => `${X(p.minute)},${Y(p.ci_high)}`)
        .concat(band.slice().reverse().map((p) => `${X(p.minute)},${Y(p.ci_low)}`));
      svg.append(svgEl("polygon", { points: poly.join(" "), fill: "#e9c46a", opacity: 0.4,
        class: "band" }));
      svg.append(svgEl("polyline", {
        points: band.map((p) => `${X(p.minute)},${Y(p.mean)}`).join(" "),
        fill: "none", stroke: "#b00020", "stroke-width": 2, class: "predicted",
      }));
    }
    for (const [m, v] of dots) {
      svg.append(svgEl("circle", { cx: X(m), cy: Y(v), r: 4, fill: "#1d3557", class: "seen" }));
    }
  }

  function est(e, digits) {
    if (!e) return "–";
    const f = (x) => Number(x).toFixed(digits);
    return `${f(e.mean)} (${f(e.ci_low)}–${f(e.ci_high)})`;
  }

  async function chart(s) {
    document.getElementById("chart-box").hidden = false;
    document.getElementById("processed-box").hidden = false;
    document.getElementById("chart-title").textContent = t("lineAt", { station: s.name });
    document.getElementById("processed-title").textContent =
      t("processedAt", { station: s.name });
    const resp = await fetch(`${table.dataset.stations}/${s.station_key}/reports?limit=500`,
      { credentials: "same-origin" });
    const reports = resp.ok ? (await resp.json()).items : [];
    const nc = s.nowcast;
    const pc = nc && nc.processed_chart ? nc.processed_chart : null;
    const day = pc ? pc.day : (s.latest_report ? s.latest_report.taken_at.slice(0, 10) : null);
    const today = reports.filter((r) => r.status === "accepted" &&
      r.report.taken_at.slice(0, 10) === day);
    // the line
    const seen = today.filter((r) => r.report.people_in_line !== null)
      .map((r) => [clockMinutes(r.report.taken_at), r.report.people_in_line]);
    const line = nc ? nc.line : [];
    plot(document.getElementById("chart"), { dots: seen, band: line });
    document.getElementById("chart-desc").textContent = t("lineSummary", {
      reported: seen.length,
      latest: seen.length ? seen[seen.length - 1][1] : t("unknown"),
      close: line.length ? est(line[line.length - 1], 0) : t("unknown"),
    });
    // processed voters: reported, planned, predicted (all counted from the day's opening)
    const base = pc ? pc.base : 0;
    const done = today.filter((r) => r.report.processed !== null)
      .map((r) => [clockMinutes(r.report.taken_at), Math.max(r.report.processed - base, 0)]);
    const planned = pc ? pc.planned : [];
    const fromNow = nc && nc.processed_from_now ? nc.processed_from_now : [];
    const offset = pc ? pc.today_now : null;
    const predicted = offset === null ? [] : fromNow.map((p) => ({
      minute: p.minute, mean: p.mean + offset, ci_low: p.ci_low + offset,
      ci_high: p.ci_high + offset,
    }));
    plot(document.getElementById("processed-chart"),
      { dots: done, band: predicted, planned: planned });
    document.getElementById("processed-desc").textContent = t("processedSummary", {
      reported: done.length ? done[done.length - 1][1] : t("noProcessed"),
      planned: planned.length ? Math.round(planned[planned.length - 1].mean) : t("unknown"),
      predicted: predicted.length ? est(predicted[predicted.length - 1], 0) : t("unknown"),
    });
  }

  function choose(s) {
    chosen = s.station_key;
    chart(s);
    const filter = document.getElementById("timeline-filter");
    if (filter) {
      filter.value = s.station_key;
      drawTimeline();
    }
    document.getElementById("chart-title").focus(); // keyboard users land on the charts
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function actionText(a) {
    const after = a.left_in_line_at_close_after
      ? `, then ${Number(a.left_in_line_at_close_after.mean).toFixed(0)} left`
      : "";
    if (a.kind === "extend") return `extend ${a.minutes} min${after}`;
    if (a.kind === "add_servers") return `add ${a.servers} ${a.stage}${after}`;
    if (a.kind === "redirect") {
      return `send ${a.voters} to ${a.station} (${Number(a.travel_minutes).toFixed(0)} min away)${after}`;
    }
    return `send ${a.ballots} more ballots${after}`;
  }

  async function move(id, step) {
    await fetch(`${alertsUrl}/${id}/${step}`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() },
    });
    etag = null;
    poll();
  }

  function alertsCell(alerts) {
    const td = document.createElement("td");
    for (const a of alerts) {
      const div = document.createElement("div");
      div.className = "alert-" + a.status;
      div.textContent = `${a.kind}: ${a.message}` + (a.active ? "" : " " + t("noLongerPredicted"));
      const ul = document.createElement("ul");
      for (const x of a.actions) {
        const li = document.createElement("li");
        li.textContent = actionText(x);
        ul.append(li);
      }
      if (a.actions_pending) {
        const li = document.createElement("li");
        li.className = "actions-pending";
        li.textContent = t("actionsPending");
        ul.append(li);
      }
      div.append(ul);
      if (a.status !== "resolved" && canHandle) {
        for (const [label, step] of [[t("acknowledge"), "acknowledge"], [t("resolve"), "resolve"]]) {
          if (step === "acknowledge" && a.status === "acknowledged") continue;
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = label;
          b.addEventListener("click", () => move(a.id, step));
          div.append(" ", b);
        }
      }
      td.append(div);
    }
    return td;
  }

  function draw(stations) {
    let open = 0;
    tbody.replaceChildren(
      ...stations.map((s) => {
        const tr = document.createElement("tr");
        tr.id = "station-" + s.station_key;
        const rep = s.latest_report ? s.latest_report.report : null;
        const nc = s.nowcast;
        open += s.alerts.filter((a) => a.status === "open").length;
        const name = document.createElement("td");
        const pick = document.createElement("button");
        pick.type = "button";
        pick.className = "link";
        pick.textContent = s.name + " (" + s.station_key + ")";
        pick.addEventListener("click", () => choose(s));
        name.append(pick);
        if (chosen === s.station_key) chart(s);
        tr.append(
          name,
          cell(rep ? rep.taken_at : t("noReport")),
          cell(rep && rep.people_in_line !== null ? String(rep.people_in_line) : "–", "num"),
          cell(rep && rep.processed !== null ? String(rep.processed) : "–", "num"),
          cell(nc ? est(nc.wait_minutes_now, 0) : s.note || "–", "num wait"),
          cell(nc ? est(nc.left_in_line_at_close, 0) : "–", "num left"),
          alertsCell(s.alerts)
        );
        return tr;
      })
    );
    document.getElementById("station-count").textContent = String(stations.length);
    document.getElementById("alert-count").textContent = String(open);
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    fillFilter(stations);
    drawMap(stations);
  }

  function drawMap(stations) {
    if (typeof L === "undefined") return;
    if (map === null) {
      map = L.map("map", { attributionControl: false });
      fetch("/live-assets/world-countries.geojson")
        .then((r) => r.json())
        .then((g) => L.geoJSON(g, { style: { color: "#8a94a6", weight: 1, fillOpacity: 0.05 } })
          .addTo(map));
      markers = L.layerGroup().addTo(map);
      const pts = stations.map((s) => [s.lat, s.lon]);
      if (pts.length) map.fitBounds(pts, { padding: [30, 30], maxZoom: 8 });
      else map.setView([20, 0], 2);
    }
    markers.clearLayers();
    for (const s of stations) {
      const hot = s.alerts.some((a) => a.status === "open" && a.active);
      const left = s.nowcast ? s.nowcast.left_in_line_at_close.mean : 0;
      L.circleMarker([s.lat, s.lon], {
        radius: 6 + Math.min(14, Math.sqrt(left)),
        color: hot ? "#b00020" : "#2a9d8f",
        fillOpacity: 0.6,
      })
        .bindTooltip(`${s.name}: ${s.nowcast ? est(s.nowcast.left_in_line_at_close, 0) +
          " " + t("leftAtClose") : s.note || t("noNowcast")}`)
        .addTo(markers);
    }
  }

  // ------------------------------------------------------------------------------------
  // Timeline

  function fillFilter(stations) {
    const filter = document.getElementById("timeline-filter");
    if (!filter) return;
    const have = new Set(Array.from(filter.options).map((o) => o.value));
    for (const s of stations) {
      if (have.has(s.station_key)) continue;
      const o = document.createElement("option");
      o.value = s.station_key;
      o.textContent = s.name + " (" + s.station_key + ")";
      filter.append(o);
    }
  }

  function drawTimeline() {
    const list = document.getElementById("timeline");
    if (!list) return;
    const only = document.getElementById("timeline-filter").value;
    const items = timelineItems.filter((i) => !only || i.station_key === only);
    if (!items.length) {
      const li = document.createElement("li");
      li.textContent = t("timelineEmpty");
      list.replaceChildren(li);
      return;
    }
    list.replaceChildren(...items.map((i) => {
      const li = document.createElement("li");
      li.className = "tl-" + i.kind;
      const time = document.createElement("time");
      time.dateTime = i.at;
      time.textContent = new Date(i.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const kind = document.createElement("strong");
      kind.textContent = t("kind." + i.kind);
      const extra = [];
      if (i.taken_at) extra.push(t("taken", { time: clockText(clockMinutes(i.taken_at)) }));
      if (i.actor) extra.push(t("by", { actor: i.actor }));
      li.append(time, " ", kind, ` · ${i.station_key}: ${i.text}`,
        extra.length ? ` (${extra.join(", ")})` : "");
      return li;
    }));
  }

  async function pollTimeline() {
    const tlUrl = table.dataset.timeline;
    if (!tlUrl) return;
    try {
      const headers = timelineEtag ? { "If-None-Match": timelineEtag } : {};
      const resp = await fetch(tlUrl + "?limit=200",
        { credentials: "same-origin", headers, cache: "no-store" });
      if (resp.status === 200) {
        timelineEtag = resp.headers.get("ETag");
        timelineItems = await resp.json();
        drawTimeline();
      }
    } catch (e) {
      /* offline: try again at the next tick */
    }
  }

  const filter = document.getElementById("timeline-filter");
  if (filter) filter.addEventListener("change", drawTimeline);

  // ------------------------------------------------------------------------------------
  // Alert thresholds (admins edit; everyone else reads)

  const form = document.getElementById("settings-form");

  async function loadSettings() {
    if (!form) return;
    const resp = await fetch(table.dataset.settings, { credentials: "same-origin" });
    if (!resp.ok) return;
    const body = await resp.json();
    for (const [k, v] of Object.entries(body.settings)) {
      const input = form.elements.namedItem(k);
      if (input) input.value = v === null ? "" : String(v);
    }
    if (form.dataset.editable !== "1") {
      for (const input of form.querySelectorAll("input")) input.readOnly = true;
    }
  }

  if (form && form.dataset.editable === "1") {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const state = document.getElementById("settings-state");
      const body = {};
      for (const input of form.querySelectorAll("input")) {
        if (input.value === "") body[input.name] = null;
        else body[input.name] = Number(input.value);
      }
      if (body.redirect_neighbours === null) delete body.redirect_neighbours;
      const resp = await fetch(table.dataset.settings, {
        method: "PATCH", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify(body),
      });
      if (resp.ok) {
        state.className = "";
        state.textContent = t("saved", { time: new Date().toLocaleTimeString() });
        etag = null;
      } else {
        let msg = String(resp.status);
        try {
          const err = (await resp.json()).error;
          msg = err.details && err.details.length
            ? err.details.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ")
            : err.message;
        } catch (e) { /* not JSON */ }
        state.className = "error";
        state.textContent = t("saveFailed", { error: msg });
      }
    });
  }

  async function poll() {
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const resp = await fetch(url, { credentials: "same-origin", headers, cache: "no-store" });
      if (resp.status === 200) {
        etag = resp.headers.get("ETag");
        draw(await resp.json());
      } else if (resp.status === 304) {
        document.getElementById("updated").textContent = new Date().toLocaleTimeString();
      }
    } catch (e) {
      /* offline: try again at the next tick */
    }
  }

  poll();
  pollTimeline();
  loadSettings();
  setInterval(() => { poll(); pollTimeline(); }, POLL_MS);
})();
