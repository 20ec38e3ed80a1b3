// The lab server's pages: create a lab (POST /labs), delete one (DELETE /labs/{id}); the server's own
// errors shown as they come. The labs list refreshes itself every few seconds while the page is shown
// (the "keep state" boxes ticked stay ticked).
"use strict";
const $ = id => document.getElementById(id);

document.addEventListener("click", async event => {
  const id = event.target.dataset.delete;
  if (!id) return;
  const keep = document.querySelector(`[data-keep="${CSS.escape(id)}"]`).checked;
  const result = $("labs-result");
  try {
    const gone = await api("DELETE", `${encodeURIComponent(id)}?keep_state=${keep}`, undefined, "../labs/");
    if (!$("labs")) { location.assign("./"); return; }      // a lab's page: back to the list
    await refreshLabs();
    result.className = "note";
    result.textContent = `deleted ${gone.name}` + (gone.state_dir ? `, its state kept in ${gone.state_dir}` : "");
  } catch (e) { result.className = "error"; result.textContent = e.message; }
});

const create = $("c-create");
if (create) create.addEventListener("click", async () => {
  const source = document.querySelector("input[name=source]:checked").value;
  const body = {[source]: $("c-" + source).value};
  if ($("c-name").value.trim()) body.name = $("c-name").value.trim();
  if ($("c-seed").value !== "") body.seed = Number($("c-seed").value);
  if ($("c-time").value === "virtual") body.virtual_time = true;
  else body.time_scale = Number($("c-scale").value);
  if ($("c-ttl").value !== "") body.ttl = Number($("c-ttl").value);
  const result = $("c-result");
  result.className = "note"; result.textContent = "starting…";
  create.disabled = true;
  try {
    const lab = await api("POST", "", body, "../labs");
    location.assign("lab?id=" + encodeURIComponent(lab.id));
  } catch (e) { result.className = "error"; result.textContent = e.message; }
  finally { create.disabled = false; }
});

async function refreshLabs() {
  const ticked = [...document.querySelectorAll("[data-keep]:checked")].map(box => box.dataset.keep);
  await refreshParts();
  for (const id of ticked) {
    const box = document.querySelector(`[data-keep="${CSS.escape(id)}"]`);
    if (box) box.checked = true;
  }
}

if ($("labs")) setInterval(() => { if (!document.hidden) refreshLabs().catch(() => {}); }, UI.refresh_s * 1000);
