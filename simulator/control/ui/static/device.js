// The device page: identity, job and journal kept current from the device's events; the console in xterm.js;
// the power, reboot and reimage buttons.
"use strict";
const DEV = JSON.parse(document.getElementById("device-data").textContent);
const JOURNAL_ROWS = 300;

function cell(row, text) { row.insertCell().textContent = text; }

function showDevice(d) {
  setState(document.querySelector("h1 [data-f=state]"), d.state);
  document.querySelector("[data-f=version]").textContent = d.version;
  document.querySelector("[data-f=role]").textContent = d.role || "standalone";
  document.querySelector("[data-f=package]").textContent = d.package || "none";
  showJob(document.querySelector("[data-f=job]"), d.job);
}
const refresh = throttled(async () => showDevice(await api("GET", "devices/" + encodeURIComponent(DEV.name))), 150);

function addStage(event) {
  const body = document.getElementById("stages");
  if (event.kind === "upgrade.started" || event.kind === "revert.started") body.replaceChildren();
  const last = body.lastElementChild;
  const ends = ["upgrade.stage", "upgrade.finished", "upgrade.failed", "reboot"].includes(event.kind);
  if (ends && last && last.dataset.at && last.cells[3].textContent === "running") {
    last.cells[3].textContent = hms(event.sim_time - Number(last.dataset.at));
  }
  if (event.kind !== "upgrade.stage") return;
  const row = body.insertRow();
  row.dataset.at = event.sim_time;
  cell(row, event.stage); cell(row, event.script || ""); cell(row, hms(event.sim_time - DEV.epoch)); cell(row, "running");
}

function addJournal(event) {
  const body = document.getElementById("journal");
  const row = body.insertRow();
  cell(row, event.seq); cell(row, hms(event.sim_time - DEV.epoch)); cell(row, event.kind);
  cell(row, Object.entries(event).filter(([k]) => !["seq", "sim_time", "wall_time", "device", "kind"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" "));
  while (body.rows.length > JOURNAL_ROWS) body.deleteRow(0);
}

follow({device: DEV.name}, DEV.after, event => { addJournal(event); addStage(event); refresh("device"); });

// The buttons: the control API's own routes; the answer (or its error) beside them.
document.querySelector(".buttons").addEventListener("click", async event => {
  const b = event.target.dataset, result = document.getElementById("action-result");
  const path = "devices/" + encodeURIComponent(DEV.name);
  try {
    if (b.power) showDevice(await api("POST", path + "/power", {action: b.power}));
    else if ("reboot" in b) showDevice(await api("POST", path + "/reboot"));
    else if ("reimage" in b) {
      const version = document.getElementById("reimage-version").value.trim();
      showDevice(await api("POST", path + "/reimage", version ? {version} : {}));
    } else return;
    result.className = "note"; result.textContent = "done";
  } catch (e) { result.className = "error"; result.textContent = e.message; }
});

// The console: one more client of the device's console line, over a WebSocket.
const box = document.getElementById("terminal");
if (box) {
  const term = new Terminal({fontSize: 13, cols: 100, rows: 28, scrollback: 2000, convertEol: false});
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  window.term = term;       // for tests and the curious: term.buffer.active holds what is on screen
  const state = document.getElementById("console-state");
  let ws = null;
  term.onData(data => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(data); });
  const connect = () => {
    const url = new URL(box.dataset.console, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(url);
    ws.onopen = () => { state.textContent = "connected"; };
    ws.onmessage = message => term.write(message.data);
    ws.onclose = () => { state.textContent = "disconnected (retrying)"; setTimeout(connect, 2000); };
  };
  connect();
}
