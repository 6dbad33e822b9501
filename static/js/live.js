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
