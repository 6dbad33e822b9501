// The replica's single-page app: boots after every navigation, then shows the login screen
// or the chat list, like WhatsApp Web.
"use strict";

const TOKEN_KEY = "WAToken1";
const POLL_MS = 150;
const app = document.getElementById("app");
const params = new URLSearchParams(location.search);
let token = localStorage.getItem(TOKEN_KEY);
let timers = [];
let chats = [];
let openPhone = null;
let composer = null;
const TEXTS = window.REPLICA.texts;
// What WhatsApp's own modules would know; the wa-js stand-in reads it from here.
window.__replica = { booted: false, loginId: null };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, data: await response.json() };
}

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.appendChild(child);
  return node;
}

function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

async function boot() {
  if (navigator.userAgent.includes("HeadlessChrome")) {
    // What WhatsApp Web shows a browser it does not support.
    app.replaceChildren(element("div", { class: "landing-wrapper", text: "Update Google Chrome" }));
    return;
  }
  app.replaceChildren(
    element("div", { id: "wa_web_initial_startup" }, [
      element("progress", { value: "30", max: "100" }),
      element("div", { text: "WhatsApp" }),
    ]),
  );
  await sleep(window.REPLICA.boot_ms);
  window.__replica.booted = true;
  if (token) {
    const me = await api("GET", `/api/whoami?token=${token}`);
    if (me.data.linked) {
      showMain();
      return;
    }
    localStorage.removeItem(TOKEN_KEY);
    token = null;
  }
  showLogin();
}

// Login screen

function drawQr(canvas, ref) {
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  let hash = 0;
  for (let i = 0; i < ref.length; i++) {
    hash = (hash * 31 + ref.charCodeAt(i)) >>> 0;
    if (hash % 3 === 0) context.fillRect((i * 7) % 264, (hash % 33) * 8, 8, 8);
  }
}

async function showLogin() {
  stopTimers();
  const login = (await api("POST", "/api/login")).data;
  window.__replica.loginId = login.login_id;
  const canvas = element("canvas", {
    width: "264",
    height: "264",
    role: "img",
    "aria-label": "Scan this QR code to link a device!",
  });
  // Like the real page, the QR container appears once the first ref is known.
  const qr = element("div", {}, [canvas]);
  const wrapper = element("div", { class: "landing-wrapper" }, [
    element("div", { text: "Use WhatsApp on your computer" }),
  ]);
  app.replaceChildren(wrapper);
  let idleShown = false;
  every(POLL_MS, async () => {
    const status = (await api("GET", `/api/login/${login.login_id}`)).data;
    if (status.token) {
      token = status.token;
      localStorage.setItem(TOKEN_KEY, token);
      localStorage.setItem("last-wid-md", JSON.stringify(`${status.phone}:7@c.us`));
      showMain();
      return;
    }
    if (status.idle) {
      if (!idleShown) {
        // The QR stops rotating; the old ref stays on the container until reloaded.
        idleShown = true;
        const reload = element("button", { "aria-label": "Click to reload QR code" }, [
          element("span", { "data-icon": "refresh-large" }),
          element("div", { text: "Click to reload QR code" }),
        ]);
        reload.addEventListener("click", async () => {
          await api("POST", `/api/login/${login.login_id}/reload`);
          reload.remove();
          idleShown = false;
        });
        canvas.remove();
        qr.appendChild(reload);
      }
      return;
    }
    if (idleShown) return;
    if (!wrapper.contains(qr)) wrapper.appendChild(qr);
    if (!qr.contains(canvas)) qr.appendChild(canvas);
    if (qr.getAttribute("data-ref") !== status.ref) {
      qr.setAttribute("data-ref", status.ref);
      drawQr(canvas, status.ref);
    }
  });
}

// Main screen

function showMain() {
  stopTimers();
  const menu = element("span", { "data-icon": "menu", role: "button", "aria-label": "Menu" });
  menu.addEventListener("click", openMenu);
  const side = element("div", { id: "side" }, [
    element("header", {}, [menu]),
    element("div", {}, [element("span", { "data-icon": "search" }), element("input", { title: "Search" })]),
    element("div", { id: "pane-side" }, [element("div", { role: "grid", "aria-label": "Chat list" })]),
  ]);
  app.replaceChildren(side, element("div", { id: "main-slot" }));
  every(300, async () => {
    const me = await api("GET", `/api/whoami?token=${token}`);
    if (!me.data.linked) loggedOut();
  });
  every(POLL_MS, refreshChats);
  refreshChats();
  const phone = params.get("phone");
  if (location.pathname === "/send" && phone !== null) {
    history.replaceState(null, "", "/");
    startChat(phone.replace(/\D/g, ""), params.get("text") || "");
  }
}

async function loggedOut() {
  stopTimers();
  // Like WhatsApp Web, the app lets its modules report the logout before it reloads.
  await sleep(500);
  localStorage.clear();
  location.href = "/?post_logout=1";
}

function dialog(children) {
  const node = element("div", { role: "dialog" }, children);
  document.body.appendChild(node);
  return node;
}

async function startChat(phone, text) {
  const starting = dialog([element("div", { text: "Starting chat" })]);
  const answer = await api("POST", "/api/open", { token, phone });
  starting.remove();
  if (answer.status !== 200) return;
  if (!answer.data.exists) {
    const ok = element("button", { text: TEXTS.ok });
    const invalid = dialog([element("div", { text: TEXTS.invalid }), ok]);
    ok.addEventListener("click", () => invalid.remove());
    return;
  }
  await refreshChats();
  openChat(phone, text);
}

function openMenu() {
  const item = element("div", { role: "button", "aria-label": "Log out", text: "Log out" });
  const dropdown = element("div", { role: "application" }, [
    element("ul", {}, [element("li", { "data-animate-dropdown-item": "true" }, [item])]),
  ]);
  item.addEventListener("click", () => {
    dropdown.remove();
    const cancel = element("button", { text: "Cancel" });
    const confirm = element("button", { text: "Log out" });
    const box = dialog([element("div", { text: "Log out?" }), element("div", {}, [cancel, confirm])]);
    cancel.addEventListener("click", () => box.remove());
    confirm.addEventListener("click", async () => {
      await api("POST", "/api/logout", { token });
      box.remove();
      loggedOut();
    });
  });
  document.body.appendChild(dropdown);
}

async function refreshChats() {
  const answer = await api("GET", `/api/chats?token=${token}`);
  if (answer.status !== 200) return;
  chats = answer.data.chats;
  renderChatList();
  renderMessages();
}

function renderChatList() {
  const grid = document.querySelector('#pane-side [role="grid"]');
  if (!grid) return;
  const signature = JSON.stringify(chats.map((c) => [c.phone, c.unread, c.phone === openPhone ? 0 : 1]));
  if (grid.dataset.signature !== signature) {
    grid.dataset.signature = signature;
    grid.replaceChildren(
      ...chats.map((chat) => {
        const cell = element("div", { tabindex: "-1" }, [
          element("span", { dir: "auto", title: chat.title, text: chat.title }),
        ]);
        if (chat.unread && chat.phone !== openPhone) {
          const label = `${chat.unread} unread message${chat.unread === 1 ? "" : "s"}`;
          cell.appendChild(element("span", { "aria-label": label, text: String(chat.unread) }));
        }
        const row = element("div", { role: "listitem" }, [cell]);
        row.addEventListener("click", () => openChat(chat.phone, ""));
        return row;
      }),
    );
  }
}

function openChat(phone, text) {
  const chat = chats.find((c) => c.phone === phone);
  if (!chat) return;
  openPhone = phone;
  api("POST", "/api/read", { phone });
  chat.unread = 0;
  renderChatList();
  const box = element("div", {
    contenteditable: "true",
    role: "textbox",
    "data-tab": "10",
    "aria-label": "Type a message",
    "data-lexical-editor": "true",
    spellcheck: "true",
  });
  const sendSlot = element("span", { class: "send-slot" });
  // Under the reach-out timelock the compose bar of a new chat is replaced by a notice.
  const footer = chat.restricted
    ? element("footer", {}, [element("div", { text: "You can't message this account right now. Try again later." })])
    : element("footer", {}, [box, sendSlot]);
  const main = element("div", { id: "main" }, [
    element("header", {}, [element("span", { dir: "auto", title: chat.title, text: chat.title })]),
    element("div", { class: "conversation", role: "application" }),
    footer,
  ]);
  document.getElementById("main-slot").replaceChildren(main);
  if (chat.restricted) return;
  composer = new Composer(box, sendSlot, (body) => send(chat, body), `draft:${phone}`);
  if (text) composer.setText(text);
  renderMessages();
}

const ICONS = {
  failed: ["msg-failed", " Failed "],
  pending: ["msg-time", " Pending "],
  sent: ["msg-check", " Sent "],
  delivered: ["msg-dblcheck", " Delivered "],
  read: ["msg-dblcheck", " Read "],
};

function setIcon(icon, status) {
  const [name, label] = ICONS[status] || ICONS.pending;
  icon.setAttribute("data-icon", name);
  icon.setAttribute("aria-label", label);
  icon.classList.toggle("read", status === "read");
}

function renderMessages() {
  const conversation = document.querySelector("#main .conversation");
  const chat = chats.find((c) => c.phone === openPhone);
  if (!conversation || !chat) return;
  for (const message of chat.messages) {
    let bubble = conversation.querySelector(`[data-id="${message.id}"]`);
    if (!bubble) {
      bubble = addBubble(conversation, message.id, message.from_me, message.text);
    }
    const icon = bubble.querySelector('span[data-icon^="msg-"]');
    if (icon && message.status) setIcon(icon, message.status);
  }
}

function addBubble(conversation, id, fromMe, text) {
  const textNode = element("span", { class: "selectable-text copyable-text", dir: "ltr" }, [
    element("span", { text }),
  ]);
  const content = element("div", { class: "copyable-text", "data-pre-plain-text": "[10:31, 11/24/2026] " }, [textNode]);
  const inner = element("div", { class: fromMe ? "message-out" : "message-in" }, [content]);
  if (fromMe) {
    const icon = element("span", {});
    setIcon(icon, "pending");
    inner.appendChild(icon);
  }
  const bubble = element("div", { "data-id": id }, [inner]);
  conversation.appendChild(element("div", { role: "row" }, [bubble]));
  return bubble;
}

function randomHex(length) {
  const bytes = new Uint8Array(length / 2);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

function send(chat, body) {
  const id = `true_${chat.jid}_3EB0${randomHex(16)}`;
  const conversation = document.querySelector("#main .conversation");
  addBubble(conversation, id, true, body);
  api("POST", "/api/send", { token, to: chat.phone, id, text: body });
}

// A compose box that behaves like Lexical: it owns a text model, renders the DOM from it,
// reverts any DOM change it did not make, and only takes text through input events.
class Composer {
  constructor(box, sendSlot, onSend, draftKey) {
    this.box = box;
    this.sendSlot = sendSlot;
    this.onSend = onSend;
    // Like WhatsApp, an unsent draft survives reloads and comes back with its chat.
    this.draftKey = draftKey;
    this.model = localStorage.getItem(draftKey) || "";
    this.observer = new MutationObserver(() => this.render());
    box.addEventListener("beforeinput", (event) => this.beforeInput(event));
    box.addEventListener("keydown", (event) => this.keyDown(event));
    this.render();
  }

  setText(text) {
    this.model = text;
    this.render();
  }

  selectionCoversText() {
    const selection = window.getSelection();
    return selection && !selection.isCollapsed && this.box.contains(selection.anchorNode);
  }

  beforeInput(event) {
    event.preventDefault();
    const replacing = this.selectionCoversText();
    const transfer = event.dataTransfer ? event.dataTransfer.getData("text/plain") : "";
    switch (event.inputType) {
      case "insertText":
      case "insertReplacementText":
      case "insertCompositionText":
      case "insertFromPaste":
      case "insertFromDrop":
        this.model = (replacing ? "" : this.model) + (event.data ?? transfer).replace(/\r\n?/g, "\n");
        break;
      case "insertLineBreak":
      case "insertParagraph":
        this.model = (replacing ? "" : this.model) + "\n";
        break;
      case "deleteContentBackward":
        this.model = replacing ? "" : Array.from(this.model).slice(0, -1).join("");
        break;
      default:
        if (event.inputType.startsWith("delete") && replacing) this.model = "";
    }
    this.render();
  }

  keyDown(event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (event.shiftKey) {
      this.model += "\n";
      this.render();
    } else {
      this.send();
    }
  }

  send() {
    const body = this.model.trim();
    if (!body || window.REPLICA.sending_blocked) return;
    this.model = "";
    this.render();
    this.onSend(body);
  }

  render() {
    this.observer.disconnect();
    if (this.model) localStorage.setItem(this.draftKey, this.model);
    else localStorage.removeItem(this.draftKey);
    const paragraph = element("p", { class: "selectable-text copyable-text" });
    this.model.split("\n").forEach((line, index) => {
      if (index) paragraph.appendChild(element("br"));
      if (line) paragraph.appendChild(element("span", { "data-lexical-text": "true", text: line }));
    });
    if (!this.model || this.model.endsWith("\n")) paragraph.appendChild(element("br"));
    this.box.replaceChildren(paragraph);
    if (document.activeElement === this.box) {
      const range = document.createRange();
      range.selectNodeContents(this.box);
      range.collapse(false);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    if (this.model.trim()) {
      if (!this.sendSlot.firstChild) {
        // Like WhatsApp Web: a div with the button role, labelled in the phone's language.
        const button = element("div", { role: "button", tabindex: "0", "aria-label": TEXTS.send }, [
          element("span", { "data-icon": "wds-ic-send-filled" }),
        ]);
        button.addEventListener("click", () => this.send());
        this.sendSlot.appendChild(button);
      }
    } else {
      this.sendSlot.replaceChildren();
    }
    this.observer.observe(this.box, { childList: true, subtree: true, characterData: true });
  }
}

boot();
