// The traffic page: the plots, drawn again by the server whenever traffic stops or starts or time moves.
"use strict";
const redraw = throttled(async () => {
  const response = await fetch("traffic?part=plots", {credentials: "same-origin"});
  if (response.ok) document.getElementById("plots").innerHTML = await response.text();
}, 500);
document.addEventListener("clock-moved", () => redraw("plots"));
setInterval(() => redraw("plots"), 10000);
follow({kind: "traffic"}, null, () => redraw("plots"));
