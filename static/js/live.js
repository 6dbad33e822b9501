// Marks a live area while its WebSocket is open; fragments poll only while it is not
// (hx-trigger "every 3s [!this.closest('[ws-connect]').dataset.live]").
document.addEventListener("htmx:wsOpen", (event) => {
  event.target.dataset.live = "on";
});
document.addEventListener("htmx:wsClose", (event) => {
  delete event.target.dataset.live;
});

// Pushes rendered by different processes may arrive out of order: a fragment that carries
// an older data-version than the one on the page is stale and is not swapped in.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const incoming = event.detail.fragment.firstElementChild?.dataset.version;
  const shown = event.detail.target.dataset.version;
  if (incoming && shown && Number(incoming) < Number(shown)) {
    event.detail.shouldSwap = false;
  }
});

// Polling without htmx's trigger filters, which it evaluates as code (the CSP allows no
// eval): an element with data-poll="<seconds>" receives a "poll" event that often, while
// data-poll-offline: its live socket is closed; data-poll-if="<id>": that checkbox is ticked.
const lastPoll = new WeakMap();
setInterval(() => {
  const now = Date.now();
  for (const element of document.querySelectorAll("[data-poll]")) {
    if (!lastPoll.has(element)) lastPoll.set(element, now);
    if (now - lastPoll.get(element) < Number(element.dataset.poll) * 1000) continue;
    lastPoll.set(element, now);
    if ("pollOffline" in element.dataset && element.closest("[ws-connect]")?.dataset.live) continue;
    const box = element.dataset.pollIf && document.getElementById(element.dataset.pollIf);
    if (element.dataset.pollIf && !box?.checked) continue;
    htmx.trigger(element, "poll");
  }
}, 500);

// Progress bars carry their share as data-percent: the CSP allows no inline style attribute,
// and a width set from script is not one.
function showPercentages(root) {
  for (const bar of root.querySelectorAll("[data-percent]")) {
    bar.style.width = `${bar.dataset.percent}%`;
  }
}
document.addEventListener("DOMContentLoaded", () => showPercentages(document));
document.addEventListener("htmx:load", (event) => showPercentages(event.target));
