// The controls page: the fault plan (list, add from the documented points, remove).
"use strict";
const POINTS = JSON.parse(document.getElementById("points-data").textContent);
const $ = id => document.getElementById(id);
const SHOWN = ["id", "point", "action", "device", "seen", "fired", "fired_at"];

function chosenPoint() { return POINTS.find(p => p.point === $("f-point").value); }

function pointChanged() {
  const p = chosenPoint();
  $("f-action").replaceChildren(...p.actions.map(a => new Option(a, a)));
  $("f-description").textContent = p.description;
  $("f-stage-label").hidden = !p.point.includes("<stage>");
}

async function listFaults() {
  const body = $("faults");
  const faults = (await api("GET", "faults")).items;
  body.replaceChildren();
  for (const f of faults) {
    const row = body.insertRow();
    row.dataset.fault = f.id;
    for (const text of [f.id, f.point, f.action, f.device || "any",
      Object.entries(f).filter(([k, v]) => !SHOWN.includes(k) && v !== null).map(([k, v]) => `${k}=${v}`).join(" "),
      f.fired]) row.insertCell().textContent = text;
    const remove = document.createElement("button");
    remove.type = "button"; remove.dataset.remove = f.id; remove.textContent = "Remove";
    row.insertCell().append(remove);
  }
  if (!faults.length) body.insertRow().insertCell().textContent = "no faults planned";
}

$("f-point").addEventListener("change", pointChanged);
$("f-add").addEventListener("click", async () => {
  const p = chosenPoint();
  const fault = {point: p.point.replace("<stage>", $("f-stage").value.trim() || "*"), action: $("f-action").value};
  if ($("f-device").value) fault.device = $("f-device").value;
  for (const input of document.querySelectorAll("[data-param]")) {
    if (input.value.trim() === "") continue;
    fault[input.dataset.param] = input.type === "number" ? Number(input.value) : input.value;
  }
  try {
    await api("POST", "faults", fault);
    $("f-result").textContent = "";
    await listFaults();
  } catch (e) { $("f-result").textContent = e.message; }
});
$("faults").addEventListener("click", async event => {
  const id = event.target.dataset.remove;
  if (!id) return;
  try { await api("DELETE", "faults/" + id); await listFaults(); }
  catch (e) { $("f-result").textContent = e.message; }
});
pointChanged();
follow({kind: "fault"}, null, () => listFaults());
