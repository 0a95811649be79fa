/* abroad report: the map (Leaflet over inlined outlines; no tiles) and sortable tables. */
(function () {
  "use strict";

  function fmt(value, digits) {
    if (value === null || value === undefined) return "–";
    return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: digits || 0,
      maximumFractionDigits: digits || 0,
    });
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* ---------------------------------------------------------------- sortable tables */
  function sortTable(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.classList.contains("num");
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute("data-sort");
      var y = b.cells[col].getAttribute("data-sort");
      if (x === "" && y === "") return 0;
      if (x === "") return 1; /* empty cells last, either direction */
      if (y === "") return -1;
      var r = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return asc ? r : -r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () { sortTable(th); });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(th); }
    });
  });

  /* ---------------------------------------------------------------- map */
  var dataNode = document.getElementById("abroad-map-data");
  if (!dataNode || typeof L === "undefined") return;
  var D = JSON.parse(dataNode.textContent);
  var world = JSON.parse(document.getElementById("abroad-world").textContent);
  var usNode = document.getElementById("abroad-us-states");

  var WAIT_COLOURS = { good: "#2e9e44", warn: "#f0a202", bad: "#d32f2f", none: "#8e99a4" };
  function waitClass(wait) {
    if (wait === null || wait === undefined) return "none";
    if (wait < D.waitTarget) return "good";
    if (wait < D.waitRed) return "warn";
    return "bad";
  }

  var map = L.map("map", { zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 1, worldCopyJump: false });
  map.attributionControl.setPrefix("Leaflet");
  map.attributionControl.addAttribution(
    "Outlines: Natural Earth" + (usNode ? ", US Census Bureau" : "")
  );
  map.createPane("outlines").style.zIndex = 250;
  map.createPane("lines").style.zIndex = 410;
  map.createPane("places").style.zIndex = 420;
  map.createPane("stations").style.zIndex = 430;

  L.geoJSON(world, {
    pane: "outlines",
    interactive: false,
    style: { className: "abroad-country", color: "#98a4b0", weight: 0.8, fillColor: "#fbfaf6", fillOpacity: 1 },
  }).addTo(map);
  var statesLayer = null;
  if (usNode) {
    statesLayer = L.geoJSON(JSON.parse(usNode.textContent), {
      pane: "outlines",
      interactive: false,
      style: { className: "abroad-state", color: "#b3bcc5", weight: 0.6, fill: false },
    }).addTo(map);
  }

  var stations = D.stations;
  var maxVoters = 0;
  var maxCitizens = 0;
  stations.forEach(function (s) { if (s.voters) maxVoters = Math.max(maxVoters, s.voters); });
  D.places.forEach(function (p) { maxCitizens = Math.max(maxCitizens, p[2]); });

  var many = D.places.length > 300;
  var lines = L.layerGroup();
  var placesLayer = L.layerGroup();
  var stationsLayer = L.layerGroup();
  var bounds = [];

  D.places.forEach(function (p) {
    var lat = p[0], lon = p[1], citizens = p[2], si = p[3], dist = p[4], name = p[5];
    var st = si >= 0 ? stations[si] : null;
    var far = dist !== null && dist > D.farKm;
    var colour = st ? st.colour : "#8e99a4";
    bounds.push([lat, lon]);
    if (st) {
      L.polyline([[lat, lon], [st.lat, st.lon]], {
        pane: "lines", interactive: false, className: "abroad-line",
        color: colour, weight: far ? 1 : 0.7, opacity: many ? 0.25 : far ? 0.7 : 0.45,
        dashArray: far ? "4 3" : null,
      }).addTo(lines);
    }
    var radius = maxCitizens > 0 ? Math.max(2.5, 13 * Math.sqrt(citizens / maxCitizens)) : 3;
    var marker = L.circleMarker([lat, lon], {
      pane: "places",
      className: far ? "abroad-place abroad-far" : "abroad-place",
      radius: radius,
      color: far ? "#b00020" : "#ffffff",
      weight: far ? (radius < 4 ? 1 : 1.6) : 0.6,
      fillColor: colour,
      fillOpacity: 0.78,
    });
    marker.bindTooltip(
      "<b>" + esc(name) + "</b><br>" + fmt(citizens) + " citizens<br>" +
        (st ? "→ " + esc(st.name) + ", " + fmt(dist) + " km" : "no station") +
        (far ? '<br><span style="color:#b00020">farther than ' + fmt(D.farKm) + " km</span>" : ""),
      { sticky: true, direction: "top", opacity: 0.95 }
    );
    marker.addTo(placesLayer);
  });

  function stationPopup(s) {
    var rows = [];
    function row(label, value) {
      rows.push("<tr><td>" + esc(label) + '</td><td class="num">' + value + "</td></tr>");
    }
    if (!s.open) row("Status", esc(s.status || "closed / unavailable"));
    else if (s.status) row("Note", esc(s.status));
    if (s.voters !== null) row("Voters expected", fmt(s.voters));
    if (s.wait !== null) {
      row(D.waitLabel, '<b style="color:' + WAIT_COLOURS[waitClass(s.wait)] + '">' + fmt(s.wait) + " min</b>");
    }
    if (s.away !== null) row("Turned away", fmt(s.away));
    if (s.open) {
      row("Voter places", fmt(s.places));
      row("Citizens in catchment", fmt(s.citizens));
      row("of them farther than " + fmt(D.farKm) + " km", fmt(s.farCitizens));
    }
    s.details.forEach(function (d) { row(d[0], esc(d[1])); });
    return "<h3>" + esc(s.name) + '</h3><p class="kind">' + esc(s.kind) +
      (s.open ? "" : " · not open") + "</p><table>" + rows.join("") + "</table>";
  }

  stations.forEach(function (s) {
    bounds.push([s.lat, s.lon]);
    var marker;
    if (s.open) {
      var radius = s.voters && maxVoters > 0 ? 7 + 14 * Math.sqrt(s.voters / maxVoters) : 9;
      marker = L.circleMarker([s.lat, s.lon], {
        pane: "stations", className: "abroad-station abroad-open",
        radius: radius, color: "#1f2933", weight: 1.5,
        fillColor: WAIT_COLOURS[waitClass(s.wait)], fillOpacity: 0.95,
      });
      /* the catchment colour as an outer ring */
      L.circleMarker([s.lat, s.lon], {
        pane: "stations", interactive: false, className: "abroad-station-ring",
        radius: radius + 3, color: s.colour, weight: 3, fill: false,
      }).addTo(stationsLayer);
    } else {
      marker = L.circleMarker([s.lat, s.lon], {
        pane: "stations", className: "abroad-station abroad-closed",
        radius: 7, color: "#5f6b76", weight: 2, dashArray: "3 2",
        fillColor: "#ffffff", fillOpacity: 0.85,
      });
    }
    marker.bindPopup(stationPopup(s), { maxWidth: 320 });
    marker.bindTooltip(esc(s.name), { direction: "top", offset: [0, -6] });
    marker.addTo(stationsLayer);
  });

  if (D.showLines) lines.addTo(map);
  placesLayer.addTo(map);
  stationsLayer.addTo(map);

  if (bounds.length === 1) map.setView(bounds[0], 6);
  else if (bounds.length > 1) map.fitBounds(L.latLngBounds(bounds), { padding: [24, 24] });
  else map.setView([20, 0], 2);

  var overlays = { "Lines to station": lines, "Voter places": placesLayer, "Stations": stationsLayer };
  if (statesLayer) overlays["US states"] = statesLayer;
  L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);

  function dot(fill, stroke, r, dash, width) {
    return '<svg width="22" height="22" aria-hidden="true"><circle cx="11" cy="11" r="' + r +
      '" fill="' + fill + '" stroke="' + stroke + '" stroke-width="' + (width || 1.5) + '"' +
      (dash ? ' stroke-dasharray="3 2"' : "") + "/></svg>";
  }
  var legend = document.getElementById("map-legend");
  if (legend) {
    var t = fmt(D.waitTarget), r = fmt(D.waitRed);
    legend.innerHTML =
      "<h3>Stations</h3><p>Fill: " + esc(D.waitLabel) + "</p>" +
      '<div class="row">' + dot(WAIT_COLOURS.good, "#1f2933", 7) + "under " + t + " min</div>" +
      '<div class="row">' + dot(WAIT_COLOURS.warn, "#1f2933", 7) + t + "–" + r + " min</div>" +
      '<div class="row">' + dot(WAIT_COLOURS.bad, "#1f2933", 7) + r + " min or more</div>" +
      '<div class="row">' + dot(WAIT_COLOURS.none, "#1f2933", 7) + "no wait figure</div>" +
      '<div class="row">' + dot("#ffffff", "#5f6b76", 6, true, 2) + "closed or unavailable</div>" +
      "<p>Size: voters expected. Ring: colour of its catchment.</p>" +
      "<h3>Voter places</h3>" +
      '<div class="row">' + dot("#4e79a7", "#ffffff", 6, false, 0.6) + "colour of their station</div>" +
      '<div class="row">' + dot("#4e79a7", "#b00020", 6, false, 2) + "farther than " + fmt(D.farKm) + " km</div>" +
      "<p>Size: citizens. Hover for figures; click a station.</p>";
  }
  document.documentElement.setAttribute("data-map-ready", "1");
})();
