/*
 * The MS pain assistant's chat widget: one script tag on any page.
 *
 *   <script src="https://assistant.example.org/widget.js"
 *           data-server="https://assistant.example.org" defer></script>
 *
 * data-server is the Rasa server (its socketio channel); it defaults to this script's host on
 * port 5005. data-open="true" opens the chat when the page loads. The stylesheet and the
 * socket.io client are loaded from next to this script.
 *
 * Everything shown is set as text (textContent), never as HTML, so a message cannot inject
 * markup. The session id the server issued and the transcript are kept in localStorage, so a
 * reload continues the same conversation with the same Rasa tracker. Messages go out only once
 * the server has confirmed this connection's session: the server reads no others.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var base = script.src.replace(/[^/]*$/, "");
  var scriptUrl = new URL(script.src);
  var server = script.dataset.server || scriptUrl.protocol + "//" + scriptUrl.hostname + ":5005";
  var storageKey = "ms-pain-chat:" + server;
  var state = load();

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(storageKey));
      if (saved && Array.isArray(saved.messages)) return saved;
    } catch (error) { /* no storage, or a broken entry: start afresh */ }
    return { sessionId: null, messages: [], open: script.dataset.open === "true" };
  }

  function save() {
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) { /* private mode */ }
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var stylesheet = element("link", { rel: "stylesheet", href: base + "widget.css" });
  document.head.appendChild(stylesheet);

  var root = element("div", { class: "mpa" });
  var launcher = element("button", {
    type: "button", class: "mpa-launcher", "aria-expanded": "false", "aria-controls": "mpa-panel"
  }, "Ask about MS pain");
  var panel = element("section", { id: "mpa-panel", class: "mpa-panel", "aria-labelledby": "mpa-title" });
  panel.hidden = true;

  var header = element("header", { class: "mpa-header" });
  header.appendChild(element("h2", { id: "mpa-title" }, "MS pain assistant"));
  var restart = element("button", { type: "button", class: "mpa-secondary" }, "Start over");
  var close = element("button", { type: "button", class: "mpa-secondary", "aria-label": "Close the chat" }, "Close");
  header.appendChild(restart);
  header.appendChild(close);

  var notice = element("p", { class: "mpa-notice" },
    "General information about pain in MS, not medical advice. It cannot see you or examine you. " +
    "In an emergency, call your local emergency number now.");
  var log = element("ol", { class: "mpa-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var status = element("p", { class: "mpa-status", role: "status" });

  var form = element("form", { class: "mpa-form" });
  var label = element("label", { for: "mpa-input", class: "mpa-visually-hidden" }, "Your message");
  var input = element("textarea", {
    id: "mpa-input", rows: "2", maxlength: "5000", autocomplete: "off",
    placeholder: "Type your question, e.g. why do my legs hurt?"
  });
  var send = element("button", { type: "submit", class: "mpa-send" }, "Send");
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);

  panel.appendChild(header);
  panel.appendChild(notice);
  panel.appendChild(log);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  function show(message) {
    var item = element("li", { class: "mpa-message mpa-" + message.from });
    item.appendChild(element("span", { class: "mpa-visually-hidden" },
      message.from === "user" ? "You said: " : "Assistant said: "));
    item.appendChild(element("p", {}, message.text));
    if (message.buttons && message.buttons.length) {
      var group = element("div", { class: "mpa-buttons", role: "group", "aria-label": "Suggested replies" });
      message.buttons.forEach(function (button) {
        var choice = element("button", { type: "button", class: "mpa-choice" }, button.title);
        choice.addEventListener("click", function () { say(button.title, button.payload); });
        group.appendChild(choice);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function record(message) {
    state.messages.push(message);
    save();
    show(message);
  }

  var WRITING = "The assistant is writing…";
  var socket = null;
  var confirmed = false;  // whether the server has confirmed this connection's session
  var unsent = [];  // typed before it did

  function connect() {
    socket = window.io(server, { path: "/socket.io", transports: ["websocket"] });
    socket.on("connect", function () {
      status.textContent = "";
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("disconnect", function () { confirmed = false; });
    socket.on("session_confirm", function (sessionId) {
      // A stored id the server does not know (made by another deployment, say) gets a new session.
      var lost = state.sessionId !== null && state.sessionId !== sessionId;
      var isNew = state.sessionId !== sessionId;
      if (lost) {
        state.messages = [];
        log.replaceChildren();
        status.textContent = "Your earlier conversation could not be continued, so this is a new one.";
      }
      state.sessionId = sessionId;
      save();
      confirmed = true;
      if (isNew) emit("/greet");
      unsent.splice(0).forEach(emit);
    });
    socket.on("bot_uttered", function (reply) {
      if (status.textContent === WRITING) status.textContent = "";
      var buttons = (reply.quick_replies || reply.buttons || []).map(function (button) {
        return { title: String(button.title), payload: String(button.payload) };
      });
      if (reply.text) record({ from: "bot", text: String(reply.text), buttons: buttons });
    });
    socket.on("connect_error", function () {
      status.textContent = "Cannot reach the assistant right now. Trying again. " +
        "If you need help now, call your local emergency number.";
    });
  }

  function emit(message) {
    if (confirmed) socket.emit("user_uttered", { message: message, session_id: state.sessionId });
    else unsent.push(message);
  }

  // Typed text never starts with "/": that would pose as a button's intent payload.
  function say(text, payload) {
    record({ from: "user", text: text });
    status.textContent = WRITING;
    emit(payload || text.replace(/^[\s/]+/, ""));
  }

  function setOpen(open) {
    state.open = open;
    save();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) input.focus(); else launcher.focus();
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") setOpen(false); });
  restart.addEventListener("click", function () {
    state = { sessionId: null, messages: [], open: true };
    save();
    log.replaceChildren();
    unsent.length = 0;
    confirmed = false;
    // Offline, the request goes when the socket reconnects.
    if (socket && socket.connected) socket.emit("session_request", { session_id: null });
    input.focus();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    say(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });

  function start() {
    document.body.appendChild(root);
    state.messages.forEach(show);
    panel.hidden = !state.open;
    launcher.setAttribute("aria-expanded", String(state.open));
    if (window.io) return connect();
    var client = element("script", { src: base + "socket.io.min.js" });
    client.addEventListener("load", connect);
    client.addEventListener("error", function () {
      status.textContent = "The chat could not load. If you need help now, call your local emergency number.";
    });
    document.head.appendChild(client);
  }

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
