// abroad operations console: polls the election's live overview with If-None-Match (a 304
// costs nothing) and redraws the table and the map of stations.
"use strict";

(function () {
  const table = document.getElementById("console");
  if (!table) return;
  const url = table.dataset.url;
  const alertsUrl = table.dataset.alerts;
  const tbody = table.querySelector("tbody");
  const POLL_MS = 5000;
  let etag = null;
  let map = null;
  let markers = null;
  let chosen = null;
  const SVG = "http://www.w3.org/2000/svg";

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

  async function chart(s) {
    const box = document.getElementById("chart-box");
    const svg = document.getElementById("chart");
    box.hidden = false;
    document.getElementById("chart-title").textContent = "Line at " + s.name;
    const resp = await fetch(`${table.dataset.stations}/${s.station_key}/reports?limit=500`,
      { credentials: "same-origin" });
    const reports = resp.ok ? (await resp.json()).items : [];
    const day = s.latest_report ? s.latest_report.taken_at.slice(0, 10) : null;
    const seen = reports
      .filter((r) => r.status === "accepted" && r.report.people_in_line !== null &&
        r.report.taken_at.slice(0, 10) === day)
      .map((r) => [clockMinutes(r.report.taken_at), r.report.people_in_line]);
    const line = s.nowcast ? s.nowcast.line : [];
    const xs = seen.map((p) => p[0]).concat(line.map((p) => p.minute));
    const ys = seen.map((p) => p[1]).concat(line.map((p) => p.ci_high));
    svg.replaceChildren();
    if (!xs.length) return;
    const W = 720, H = 240, L = 50, B = 24;
    const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 60), y1 = Math.max(...ys, 10);
    const X = (m) => L + ((m - x0) / (x1 - x0)) * (W - L - 10);
    const Y = (v) => H - B - (v / y1) * (H - B - 10);
    svg.append(svgEl("line", { x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: "#5b6572" }));
    svg.append(svgEl("line", { x1: L, y1: 10, x2: L, y2: H - B, stroke: "#5b6572" }));
    for (let h = Math.ceil(x0 / 60) * 60; h <= x1; h += 120) {
      const t = svgEl("text", { x: X(h), y: H - 6, "text-anchor": "middle", "font-size": 11 });
      t.textContent = String(h / 60).padStart(2, "0") + ":00";
      svg.append(t);
    }
    const top = svgEl("text", { x: L - 6, y: 16, "text-anchor": "end", "font-size": 11 });
    top.textContent = String(Math.round(y1));
    svg.append(top);
    if (line.length) {
      const band = line.map((p) => `${X(p.minute)},${Y(p.ci_high)}`)
        .concat(line.slice().reverse().map((p) => `${X(p.minute)},${Y(p.ci_low)}`));
      svg.append(svgEl("polygon", { points: band.join(" "), fill: "#e9c46a", opacity: 0.4,
        class: "band" }));
      svg.append(svgEl("polyline", {
        points: line.map((p) => `${X(p.minute)},${Y(p.mean)}`).join(" "),
        fill: "none", stroke: "#b00020", "stroke-width": 2, class: "predicted",
      }));
    }
    for (const [m, v] of seen) {
      svg.append(svgEl("circle", { cx: X(m), cy: Y(v), r: 4, fill: "#1d3557", class: "seen" }));
    }
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function est(e, digits) {
    if (!e) return "–";
    const f = (x) => Number(x).toFixed(digits);
    return `${f(e.mean)} (${f(e.ci_low)}–${f(e.ci_high)})`;
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
      div.textContent = `${a.kind}: ${a.message}` + (a.active ? "" : " (no longer predicted)");
      const ul = document.createElement("ul");
      for (const x of a.actions) {
        const li = document.createElement("li");
        li.textContent = actionText(x);
        ul.append(li);
      }
      div.append(ul);
      if (a.status !== "resolved") {
        for (const [label, step] of [["Acknowledge", "acknowledge"], ["Resolve", "resolve"]]) {
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
        pick.addEventListener("click", () => { chosen = s.station_key; chart(s); });
        name.append(pick);
        if (chosen === s.station_key) chart(s);
        tr.append(
          name,
          cell(rep ? rep.taken_at : "no report"),
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
          " left at close" : s.note || "no nowcast"}`)
        .addTo(markers);
    }
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
  setInterval(poll, POLL_MS);
})();
