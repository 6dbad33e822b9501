// Take what the bridge queued under the given name ("acks" or "incoming") and empty it.
const queue = window.__whatsmassive;
if (!queue) return [];
return queue[arguments[0]].splice(0);
