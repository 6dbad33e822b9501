// Injected after wa-js into every document: queues what WhatsApp reports, so that the host
// drains it with its polls and no chat is ever opened (opening one sends read receipts).
(() => {
  const LIMIT = 10000;
  const queue = { acks: [], incoming: [], qrIdle: false, needsUpdate: false };
  window.__whatsmassive = queue;
  const serialized = (id) => (id && (id._serialized || id.toString())) || "";
  const push = (list, item) => {
    if (list.length >= LIMIT) list.shift();
    list.push(item);
  };
  const attach = () => {
    const WPP = window.WPP;
    if (!WPP || typeof WPP.on !== "function") return false;
    WPP.on("chat.msg_ack_change", (event) => {
      push(queue.acks, { ack: event.ack, ids: (event.ids || []).map(serialized) });
    });
    WPP.on("chat.new_message", (msg) => {
      if (!msg || !msg.id || msg.id.fromMe) return;
      push(queue.incoming, {
        id: serialized(msg.id),
        from: serialized(msg.author || msg.from),
        chat: serialized(msg.from),
        // A media message's body is its thumbnail (base64): only its caption is text.
        body: (msg.type === "chat" ? msg.body : msg.caption) || "",
        type: msg.type || "chat",
        t: msg.t || 0,
      });
    });
    WPP.on("conn.logout_reason", (reason) => {
      // The page reloads after a logout: the reason must outlive this document.
      sessionStorage.setItem("whatsmassive.logout_reason", String(reason));
    });
    WPP.on("conn.qrcode_idle", () => {
      queue.qrIdle = true;
    });
    WPP.on("conn.needs_update", () => {
      queue.needsUpdate = true;
    });
    return true;
  };
  if (!attach()) {
    const timer = setInterval(() => {
      if (attach()) clearInterval(timer);
    }, 50);
  }
})();
