// wa-js readiness, the stream's mode and the account's own id, in one round trip.
const WPP = window.WPP;
const queue = window.__whatsmassive || {};
const state = {
  injected: Boolean(WPP),
  ready: Boolean(WPP && WPP.isReady),
  version: WPP ? String(WPP.version || "") : "",
  logoutReason: sessionStorage.getItem("whatsmassive.logout_reason") || "",
  needsUpdate: Boolean(queue.needsUpdate),
};
if (!state.ready) return state;
try {
  const stream = WPP.conn.getStreamData();
  state.mode = String(stream.mode || "");
  state.info = stream.info ? String(stream.info) : "";
  state.needsUpdate = state.needsUpdate || Boolean(WPP.conn.needsUpdate());
  const me = WPP.conn.getMyUserId();
  state.me = me ? me._serialized || me.toString() : "";
} catch (error) {
  state.error = String((error && error.message) || error);
}
return state;
