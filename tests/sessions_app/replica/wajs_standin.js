// A stand-in for @wppconnect/wa-js 4.6.0 on the replica, injected in its place through
// WHATSAPP_WAJS_FILE. It implements exactly the calls the driver makes, shaped after the
// pinned release's type declarations (dist/**/*.d.ts), on top of the replica's server, the
// way wa-js sits on top of WhatsApp Web's own modules.
(() => {
  "use strict";
  const listeners = {};
  const emit = (name, payload) => {
    for (const listener of listeners[name] || []) {
      try {
        listener(payload);
      } catch (error) {
        console.error(error);
      }
    }
  };
  const token = () => localStorage.getItem("WAToken1");
  const replica = () => window.__replica || { booted: false, loginId: null };
  const api = async (method, path, body) => {
    const response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response.json();
  };
  const randomHex = (length) =>
    Array.from(crypto.getRandomValues(new Uint8Array(length / 2)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
      .toUpperCase();

  // Wid and MsgKey as whatsapp/misc declares them: `_serialized` and toString().
  const wid = (serialized) => {
    const [user, server] = serialized.split("@");
    return { user, server, _serialized: serialized, toString: () => serialized };
  };
  const msgKey = (serialized) => {
    const [fromMe, remote, id] = serialized.split("_");
    return { fromMe: fromMe === "true", remote: wid(remote), id, _serialized: serialized, toString: () => serialized };
  };
  const serializedOf = (id) => (typeof id === "string" ? id : id._serialized);
  const digitsOf = (chat) => serializedOf(chat).split("@")[0];
  const wppError = (code, message) => Object.assign(new Error(message), { code });

  let stream = { mode: "QR", info: undefined };
  let me = null;
  let mainReady = false;
  let qrIdle = false;
  let lastRef = null;
  // Like wa-js, ready once WhatsApp's modules are loaded and know the stream's state.
  let known = false;

  const authCode = (ref) => {
    const [first, staticKeyPair, identityKeyPair, secretKey] = ref.split(",");
    return { type: "multidevice", ref: first, staticKeyPair, identityKeyPair, secretKey, fullCode: ref };
  };

  const conn = {
    getStreamData: () => ({ mode: stream.mode, info: stream.info }),
    getMyUserId: () => (me ? wid(me) : undefined),
    needsUpdate: () => false,
    isMainReady: () => mainReady,
    getMigrationState: () => ({
      isLidMigrated: true,
      isSyncdSessionMigrated: true,
      shouldApplyNonMigratedMessagingRules: false,
      currentPn: me ? wid(me) : undefined,
    }),
    async getAuthCode() {
      const loginId = replica().loginId;
      if (!loginId || token()) return null;
      const status = await api("GET", `/api/login/${loginId}`);
      return status.idle || status.token ? null : authCode(status.ref);
    },
    async refreshQR() {
      await api("POST", `/api/login/${replica().loginId}/reload`);
      qrIdle = false;
      return conn.getAuthCode();
    },
    async genLinkDeviceCodeForPhoneNumber(phone) {
      const loginId = replica().loginId;
      if (!loginId || token()) throw wppError("already_authenticated", "Already authenticated");
      return (await api("POST", "/api/wa/pair", { login_id: loginId, phone })).code;
    },
    async logout() {
      await api("POST", "/api/logout", { token: token() });
      emit("conn.logout_reason", "user_initiated");
      emit("conn.logout");
      return true;
    },
  };

  const chat = {
    async generateMessageID(chatId) {
      return msgKey(`true_${serializedOf(chatId)}_3EB0${randomHex(16)}`);
    },
    async sendTextMessage(chatId, content, options = {}) {
      const key = options.messageId ? msgKey(serializedOf(options.messageId)) : await chat.generateMessageID(chatId);
      const answer = await api("POST", "/api/wa/send", {
        token: token(),
        to: digitsOf(chatId),
        id: key._serialized,
        text: content,
        // wa-js marks the chat read unless told not to, and the contact then sees it.
        markIsRead: options.markIsRead !== false,
      });
      if (answer.error) throw wppError("send_failed", answer.error);
      return { id: key._serialized, ack: 0, sendMsgResult: null };
    },
    async markIsRead(chatId) {
      await api("POST", "/api/read", { phone: digitsOf(chatId) });
      return { wid: wid(serializedOf(chatId)), unreadCount: 0 };
    },
    async getMessageById(id) {
      const found = await api("GET", `/api/wa/message?id=${encodeURIComponent(serializedOf(id))}`);
      if (!found.found) throw wppError("msg_not_found", `Message ${serializedOf(id)} not found`);
      return { id: msgKey(serializedOf(id)), ack: found.ack, body: found.body };
    },
  };

  const contact = {
    async queryWidExists(contactId) {
      const found = (await api("POST", "/api/wa/exists", { phone: digitsOf(contactId) })).result;
      return found ? { wid: wid(found.wid), biz: false, lid: wid(found.lid) } : null;
    },
    async getPnLidEntry(lid) {
      const phone = (await api("GET", `/api/wa/pnlid?lid=${encodeURIComponent(serializedOf(lid))}`)).phone;
      return { lid: wid(serializedOf(lid)), phoneNumber: phone ? wid(`${phone}@c.us`) : undefined };
    },
  };

  window.WPP = {
    version: "4.6.0-replica",
    isInjected: true,
    get isReady() {
      return replica().booted && known;
    },
    on(name, listener) {
      (listeners[name] = listeners[name] || []).push(listener);
    },
    off(name, listener) {
      listeners[name] = (listeners[name] || []).filter((known) => known !== listener);
    },
    conn,
    chat,
    contact,
    whatsapp: {
      Socket: {
        async takeover() {
          await api("POST", "/api/wa/takeover", { token: token() });
        },
      },
    },
  };

  const setMode = (mode) => {
    if (mode === stream.mode) return;
    stream = { mode, info: mode === "MAIN" ? "NORMAL" : undefined };
    emit("conn.stream_mode_changed", mode);
  };

  const pumpLogin = async () => {
    setMode("QR");
    const loginId = replica().loginId;
    if (!loginId) return;
    const status = await api("GET", `/api/login/${loginId}`);
    if (status.idle && !qrIdle) {
      qrIdle = true;
      emit("conn.qrcode_idle");
    } else if (!status.idle && status.ref !== lastRef) {
      lastRef = status.ref;
      emit("conn.auth_code_change", authCode(status.ref));
    }
  };

  const pump = async () => {
    if (!replica().booted) return;
    const current = token();
    if (!current) {
      await pumpLogin();
      return;
    }
    const events = await api("GET", `/api/wa/events?token=${current}`);
    if (events.mode === "QR") {
      if (stream.mode !== "QR") {
        if (events.logout_reason) emit("conn.logout_reason", events.logout_reason);
        emit("conn.logout");
      }
      setMode("QR");
      return;
    }
    me = events.me;
    setMode(events.mode);
    if (events.mode === "MAIN" && !mainReady) {
      mainReady = true;
      emit("conn.main_ready");
    }
    for (const ack of events.acks) {
      emit("chat.msg_ack_change", { ack: ack.ack, chat: wid(ack.chat), ids: [msgKey(ack.id)] });
    }
    for (const message of events.incoming) {
      emit("chat.new_message", {
        id: msgKey(message.id),
        from: wid(message.from),
        body: message.body,
        t: message.t,
        type: "chat",
      });
    }
  };

  let pumping = false;
  setInterval(async () => {
    if (pumping) return;
    pumping = true;
    try {
      await pump();
      known = known || replica().booted;
    } catch (error) {
      console.error(error);
    } finally {
      pumping = false;
    }
  }, 100);
})();
