// The snapshots panel (save, restore, delete) and the grade table's "Grade now", on a lab's pages and on the
// lab server's: each calls the lab's API at the panel's base, then swaps the page's parts for a fresh render.
"use strict";
document.addEventListener("click", async event => {
  const b = event.target.dataset;
  if ("regrade" in b) {
    await refreshParts().catch(() => {});
    return;
  }
  const panel = event.target.closest("[data-snapshots]");
  if (!panel || !("snapSave" in b || b.snapRestore || b.snapDelete)) return;
  const base = panel.dataset.snapshots, result = panel.querySelector("[data-snap-result]");
  try {
    let said;
    if ("snapSave" in b) {
      const name = panel.querySelector("[data-snap-name]").value.trim();
      const s = await api("POST", "snapshots", name ? {name} : {}, base);
      said = `saved ${s.name || s.id}`;
    } else if (b.snapRestore) {
      const s = await api("POST", `snapshots/${encodeURIComponent(b.snapRestore)}/restore`, undefined, base);
      said = `restored ${s.name || s.id} in ${s.restored_in_ms} ms`;
    } else {
      const s = await api("DELETE", `snapshots/${encodeURIComponent(b.snapDelete)}`, undefined, base);
      said = `deleted ${s.name || s.id}`;
    }
    await refreshParts();
    const fresh = document.querySelector("[data-snap-result]");
    fresh.className = "note"; fresh.textContent = said;
  } catch (e) { result.className = "error"; result.textContent = e.message; }
});
