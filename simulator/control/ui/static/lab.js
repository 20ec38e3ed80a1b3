// The lab page: cards kept current from the event stream (no reloads).
"use strict";
const LAB = JSON.parse(document.getElementById("lab-data").textContent);
const traffic = LAB.traffic;

function cardOf(name) { return document.querySelector(`.card[data-device="${CSS.escape(name)}"]`); }

function showDevice(d) {
  const card = cardOf(d.name);
  if (!card) return;
  setState(card.querySelector("[data-f=state]"), d.state);
  card.querySelector("[data-f=version]").textContent = d.version;
  card.querySelector("[data-f=role]").textContent = d.role || "standalone";
  showJob(card.querySelector("[data-f=job]"), d.job);
}

function showPair(p) {
  const section = document.querySelector(`.group[data-pair="${CSS.escape(p.name)}"]`);
  if (!section) return;
  setState(section.querySelector("[data-f=pair-state]"), p.state);
  section.querySelector("[data-f=link]").textContent = p.link_up ? "up" : "down";
  for (const card of section.querySelectorAll(".card")) {
    const active = p.active === card.dataset.device;
    card.classList.toggle("active", active);
    card.querySelector("[data-f=active]").textContent = active ? "ACTIVE" : "";
  }
  if (p.traffic) { traffic[p.name] = p.traffic; drawSparks(); }
}

// A sparkline: the probe over the last window, high while it passes, low while lost.
function drawSparks() {
  const now = Clock.now;
  if (now === null) return;
  const {window_s, points} = UI.sparkline;
  for (const spark of document.querySelectorAll(".spark[data-monitor]")) {
    const report = traffic[spark.dataset.monitor];
    if (!report) continue;
    const coords = [];
    for (let i = 0; i <= points; i++) {
      const t = now - window_s + i * window_s / points;
      const lost = report.outages.some(([start, end]) => t >= start && t < (end === null ? Infinity : end));
      coords.push(`${(i * 120 / points).toFixed(1)},${lost ? 17 : 3}`);
    }
    spark.querySelector("polyline").setAttribute("points", coords.join(" "));
    spark.classList.toggle("lost", !report.up);
    spark.querySelector("[data-f=lost]").textContent = `${report.lost_probes} lost`;
  }
}

const refreshDevice = throttled(async name => showDevice(await api("GET", "devices/" + encodeURIComponent(name))), 150);
const refreshPairs = throttled(async () => (await api("GET", "pairs")).items.forEach(showPair), 150);
const refreshTraffic = throttled(async () => {
  for (const report of (await api("GET", "traffic")).items) traffic[report.name] = report;
  drawSparks();
}, 150);

function onEvent(event) {
  document.getElementById("last-seq").textContent = event.seq;
  if (event.device && cardOf(event.device)) refreshDevice(event.device);
  if (event.kind.startsWith("ha.") || (event.device && cardOf(event.device)?.closest(".pair"))) refreshPairs("pairs");
  if (event.kind === "traffic") refreshTraffic("traffic");
}

document.addEventListener("clock-moved", () => { refreshTraffic("traffic"); drawSparks(); });
setInterval(drawSparks, 2000);
Clock.refresh().then(drawSparks);
follow({}, LAB.after, onEvent, document.getElementById("stream"));
