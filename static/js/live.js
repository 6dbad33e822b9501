// Marks a live area while its WebSocket is open; fragments poll only while it is not
// (hx-trigger "every 3s [!this.closest('[ws-connect]').dataset.live]").
document.addEventListener("htmx:wsOpen", (event) => {
  event.target.dataset.live = "on";
});
document.addEventListener("htmx:wsClose", (event) => {
  delete event.target.dataset.live;
});
