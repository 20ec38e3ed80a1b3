// Shared by every page: the JSON calls (relative URLs: the page may live under a lab server's /labs/{id}/),
// the state colours, and the clock bar in the header (a lab's pages; the lab server's have none).
"use strict";
const UI = JSON.parse(document.getElementById("ui-data").textContent);

async function api(method, path, body, base = "../api/") {
  const response = await fetch(base + path, {
    method, credentials: "same-origin",
    headers: body === undefined ? {} : {"Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function colour(state) {
  const c = UI.colours;
  if (c.ok.includes(state)) return "ok";
  if (c.bad.includes(state)) return "bad";
  return state && c.busy_prefixes.some(p => state.startsWith(p)) ? "busy" : "other";
}

function setState(el, state) {
  if (!el) return;
  el.textContent = state;
  el.className = "state " + colour(state);
}

function hms(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  const p = n => String(n).padStart(2, "0");
  return h ? `${h}h${p(m)}m${p(s)}s` : m ? `${m}m${p(s)}s` : `${s}s`;
}

function jobText(job) {
  return job ? `${job.operation} ${job.phase || ""} · ${job.message || job.state}` : "";
}

function showJob(el, job) {      // a .job block: progress bar, percent, stage
  if (!el) return;
  el.hidden = !job;
  const pct = job ? job.percent || 0 : 0;
  el.querySelector(".fill").style.width = pct + "%";
  el.querySelector(".bar").setAttribute("aria-valuenow", pct);
  el.querySelector("[data-f=percent]").textContent = pct + "%";
  el.querySelector("[data-f=stage]").textContent = jobText(job);
}

const Clock = {
  now: null,
  show(c) {
    Clock.now = c.now;
    document.getElementById("clock-since").textContent = hms(c.now - UI.epoch);
    document.getElementById("clock-paused").hidden = !c.paused;
    document.getElementById("clock-error").textContent = "";
  },
  async refresh() { Clock.show(await api("GET", "clock")); },
};

// Swaps each element marked data-part for the same element of the page as the server renders it now
// (one fetch, no reload).
async function refreshParts() {
  const response = await fetch(location.href, {credentials: "same-origin"});
  if (!response.ok) throw new Error(response.statusText);
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const here of document.querySelectorAll("[data-part]")) {
    const fresh = page.getElementById(here.id);
    if (fresh) here.replaceWith(document.importNode(fresh, true));
  }
}

if (document.getElementById("clock")) {
document.getElementById("clock").addEventListener("click", async event => {
  const what = event.target.dataset.clock;
  if (!what) return;
  const error = document.getElementById("clock-error");
  try {
    if (what === "advance") {
      Clock.show(await api("POST", "clock/advance", {seconds: Number(document.getElementById("clock-seconds").value)}));
    } else if (what === "scale") {
      Clock.show(await api("POST", "clock/scale", {scale: Number(document.getElementById("clock-scale").value)}));
    } else {
      Clock.show(await api("POST", "clock/" + what));
    }
    document.dispatchEvent(new CustomEvent("clock-moved"));
  } catch (e) { error.textContent = e.message; }
});
setInterval(() => Clock.refresh().catch(() => {}), 2000);
}

// The lab's event stream (server-sent events), from `after` on: `onEvent(event)` for each. Read with fetch,
// as every event carries its kind as the SSE event name (EventSource would need a listener per kind);
// it reconnects from the last event seen.
async function follow(query, after, onEvent, status) {
  const decoder = new TextDecoder();
  for (;;) {
    try {
      const q = new URLSearchParams(query);
      if (after !== null) q.set("after", after);    // null: only what happens from now on
      const response = await fetch("../api/events/stream?" + q, {credentials: "same-origin"});
      if (!response.ok) throw new Error(response.statusText);
      if (status) status.textContent = "live";
      const reader = response.body.getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("\n");
          if (!data) continue;
          const event = JSON.parse(data);
          after = event.seq;
          onEvent(event);
        }
      }
    } catch (e) { /* the lab restarted or the network dropped: try again */ }
    if (status) status.textContent = "reconnecting";
    await new Promise(r => setTimeout(r, 1000));
  }
}

// Calls `fn(key)` once per key at most every `ms` milliseconds, however many events ask for it.
function throttled(fn, ms) {
  const due = new Map();
  return key => {
    if (due.has(key)) return;
    due.set(key, setTimeout(() => { due.delete(key); fn(key); }, ms));
  };
}
