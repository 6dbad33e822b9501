// Call one wa-js function by its path ("chat.sendTextMessage") and hand back a plain result:
// ids (Wids, message keys) become their serialized strings, a message {id, ack, body}.
const [path, args] = arguments;
const done = arguments[arguments.length - 1];
const plain = (value, depth) => {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object") return value;
  if (value._serialized !== undefined) return value._serialized;
  if (value.id && value.ack !== undefined) {
    return { id: plain(value.id, depth + 1), ack: value.ack, body: value.body || "" };
  }
  if (depth > 3) return null;
  if (Array.isArray(value)) return value.map((item) => plain(item, depth + 1));
  const out = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "function") out[key] = plain(item, depth + 1);
  }
  return out;
};
const failed = (error) => ({ ok: false, error: String((error && (error.code || error.message)) || error) });
try {
  const parts = path.split(".");
  const name = parts.pop();
  let owner = window.WPP;
  for (const part of parts) owner = owner[part];
  Promise.resolve(owner[name](...args)).then(
    (value) => done({ ok: true, value: plain(value, 0) }),
    (error) => done(failed(error)),
  );
} catch (error) {
  done(failed(error));
}
