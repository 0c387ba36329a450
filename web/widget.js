/*
 * The Threshold chat widget. Embed it on any page with one tag:
 *   <script src="https://assistant.your-clinic.org/widget.js" defer></script>
 * It loads its style, its words and colours (from clinic.yml) and the socket.io
 * client from the same place, and talks to the assistant over Rasa's socketio
 * channel. Messages are only ever shown as text: nothing from a message is read
 * as HTML. The conversation is kept for this browser tab (sessionStorage), so it
 * survives a reload and is gone when the tab is closed.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var base = new URL(".", script.src).href;
  var STORE_KEY = "threshold-chat";
  var ANSWER_TIMEOUT_MS = 20000;
  var URL_PATTERN = /(https?:\/\/[^\s<>"]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function load(url, tag) {
    return new Promise(function (resolve, reject) {
      var node = tag === "link" ? el("link", { rel: "stylesheet", href: url }) : el("script", { src: url });
      node.onload = resolve;
      node.onerror = function () { reject(new Error("could not load " + url)); };
      document.head.appendChild(node);
    });
  }

  // Text with web and email addresses made into links; everything else stays text.
  function linkified(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    text.replace(URL_PATTERN, function (match, _group, offset) {
      var address = match.replace(/[.,;:!?)]+$/, "");
      fragment.appendChild(document.createTextNode(text.slice(last, offset)));
      var href = address.indexOf("@") > 0 && address.indexOf("://") < 0 ? "mailto:" + address : address;
      var link = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, address);
      if (!/^(https?:|mailto:)/.test(link.href)) link = document.createTextNode(address);
      fragment.appendChild(link);
      last = offset + address.length;
      return match;
    });
    fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  function readStore() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
      if (saved && Array.isArray(saved.messages)) return saved;
    } catch (error) { /* a damaged entry starts a new conversation */ }
    return { sessionId: null, messages: [], open: false };
  }

  function Widget(config) {
    this.config = config;
    this.text = config.text;
    this.store = readStore();
    this.socket = null;
    this.answerTimer = null;
    this.build();
    this.store.messages.forEach(this.render, this);
    if (this.store.open) this.open(false);
    this.connect();
  }

  Widget.prototype.save = function () {
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(this.store)); } catch (error) { /* private mode */ }
  };

  Widget.prototype.build = function () {
    var t = this.text;
    var root = el("div", { id: "threshold-chat", "class": "threshold-chat" });
    root.style.setProperty("--threshold-primary", this.config.colours.primary);
    root.style.setProperty("--threshold-on-primary", this.config.colours.text_on_primary);

    this.launcher = el("button", {
      type: "button", "class": "threshold-launcher", "aria-expanded": "false",
      "aria-controls": "threshold-panel", "aria-label": t.open_label,
    }, t.launcher);

    this.panel = el("section", { id: "threshold-panel", "class": "threshold-panel", role: "dialog",
      "aria-labelledby": "threshold-title", hidden: "" });
    var header = el("header", { "class": "threshold-header" });
    header.appendChild(el("h2", { id: "threshold-title" }, t.title));
    this.closeButton = el("button", { type: "button", "class": "threshold-close", "aria-label": t.close_label }, "\u00d7");
    header.appendChild(this.closeButton);

    this.log = el("div", { "class": "threshold-log", role: "log", "aria-live": "polite",
      "aria-label": t.log_label, tabindex: "0" });
    this.typing = el("div", { "class": "threshold-typing", hidden: "" });
    this.typing.appendChild(el("span", { "class": "threshold-visually-hidden" }, t.typing));
    for (var i = 0; i < 3; i++) this.typing.appendChild(el("span", { "class": "threshold-dot", "aria-hidden": "true" }));
    this.status = el("p", { "class": "threshold-status", role: "status" });

    this.form = el("form", { "class": "threshold-form" });
    var label = el("label", { "for": "threshold-input", "class": "threshold-visually-hidden" }, t.input_label);
    this.input = el("input", { id: "threshold-input", type: "text", autocomplete: "off", maxlength: "5000",
      placeholder: t.placeholder, enterkeyhint: "send" });
    this.sendButton = el("button", { type: "submit", "class": "threshold-send" }, t.send);
    this.form.appendChild(label);
    this.form.appendChild(this.input);
    this.form.appendChild(this.sendButton);

    var footer = el("footer", { "class": "threshold-footer" }, t.footer);

    this.panel.appendChild(header);
    this.panel.appendChild(this.log);
    this.panel.appendChild(this.typing);
    this.panel.appendChild(this.status);
    this.panel.appendChild(this.form);
    this.panel.appendChild(footer);
    root.appendChild(this.launcher);
    root.appendChild(this.panel);
    document.body.appendChild(root);

    var self = this;
    this.launcher.addEventListener("click", function () { self.open(true); });
    this.closeButton.addEventListener("click", function () { self.close(); });
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") self.close();
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var message = self.input.value.trim();
      if (!message) return;
      if (self.send(message, message)) self.input.value = "";
    });
  };

  Widget.prototype.open = function (focus) {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.hidden = true;
    this.store.open = true;
    this.save();
    if (focus) this.input.focus();
    this.greetOnce();
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    this.store.open = false;
    this.save();
    this.launcher.focus();
  };

  // The first time the chat opens, the assistant introduces itself.
  Widget.prototype.greetOnce = function () {
    if (this.store.messages.length === 0 && !this.greeted && this.store.sessionId) {
      this.greeted = true;
      this.emit("/greet");
    }
  };

  Widget.prototype.render = function (message) {
    var bubble = el("div", { "class": "threshold-message threshold-" + message.from });
    bubble.appendChild(el("span", { "class": "threshold-visually-hidden" },
      message.from === "user" ? this.text.you + " " : this.text.assistant + " "));
    var body = el("p");
    body.appendChild(linkified(String(message.text || "")));
    bubble.appendChild(body);
    if (typeof message.notes === "string") bubble.appendChild(this.notesActions(message.notes));
    if (message.buttons && message.buttons.length) {
      var group = el("div", { "class": "threshold-buttons" });
      var self = this;
      message.buttons.forEach(function (button) {
        var node = el("button", { type: "button", "class": "threshold-button" }, String(button.title));
        node.addEventListener("click", function () { self.send(String(button.payload), String(button.title)); });
        group.appendChild(node);
      });
      bubble.appendChild(group);
    }
    this.log.appendChild(bubble);
    this.log.scrollTop = this.log.scrollHeight;
  };

  // The first-session notes: copy them, print them alone, or download them as a text file.
  Widget.prototype.notesActions = function (notes) {
    var t = this.text;
    var group = el("div", { "class": "threshold-notes-actions", role: "group", "aria-label": t.notes_actions_label });
    var copy = el("button", { type: "button", "class": "threshold-button threshold-notes-copy" }, t.notes_copy);
    var print = el("button", { type: "button", "class": "threshold-button threshold-notes-print" }, t.notes_print);
    var download = el("button", { type: "button", "class": "threshold-button threshold-notes-download" },
      t.notes_download);
    copy.addEventListener("click", function () {
      copyText(notes).then(function () {
        copy.textContent = t.notes_copied;
        setTimeout(function () { copy.textContent = t.notes_copy; }, 2000);
      });
    });
    print.addEventListener("click", function () { printText(notes); });
    download.addEventListener("click", function () { downloadText(notes, t.notes_file_name); });
    group.appendChild(copy);
    group.appendChild(print);
    group.appendChild(download);
    return group;
  };

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Pages served over plain http have no clipboard API: the older way still works there.
    var area = el("textarea", { readonly: "", "class": "threshold-visually-hidden" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    var copied = document.execCommand("copy");
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  // Only the notes are printed: a sheet the print style shows while the rest of the page is hidden.
  function printText(text) {
    var sheet = document.getElementById("threshold-print-sheet");
    if (!sheet) {
      sheet = el("pre", { id: "threshold-print-sheet" });
      document.body.appendChild(sheet);
    }
    sheet.textContent = text;
    document.documentElement.classList.add("threshold-printing");
    window.addEventListener("afterprint", function done() {
      document.documentElement.classList.remove("threshold-printing");
      window.removeEventListener("afterprint", done);
    });
    window.print();
  }

  function downloadText(text, fileName) {
    var url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    var link = el("a", { href: url, download: fileName });
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  Widget.prototype.add = function (message) {
    this.store.messages.push(message);
    this.save();
    this.render(message);
  };

  Widget.prototype.emit = function (payload) {
    this.socket.emit("user_uttered", { message: payload, session_id: this.store.sessionId });
    this.showTyping(true);
  };

  // Sends `payload`, shown as `shown`; false when the assistant is not connected.
  Widget.prototype.send = function (payload, shown) {
    if (!this.socket || !this.socket.connected || !this.store.sessionId) {
      this.status.textContent = this.text.offline;
      return false;
    }
    this.add({ from: "user", text: shown });
    this.emit(payload);
    return true;
  };

  Widget.prototype.showTyping = function (on) {
    var self = this;
    this.typing.hidden = !on;
    clearTimeout(this.answerTimer);
    if (on) {
      this.answerTimer = setTimeout(function () {
        self.typing.hidden = true;
        self.status.textContent = self.text.no_answer;
      }, ANSWER_TIMEOUT_MS);
    }
  };

  // After the conversation is deleted on the server, the window keeps only the reply
  // that says so, and this tab forgets the rest.
  Widget.prototype.clearHistory = function () {
    var last = this.store.messages[this.store.messages.length - 1];
    this.store.messages = last && last.from === "bot" ? [last] : [];
    this.save();
    while (this.log.firstChild) this.log.removeChild(this.log.firstChild);
    this.store.messages.forEach(this.render, this);
  };

  // The notes come just after the reply that shows them: that reply gets the notes' buttons,
  // kept in this tab's store so they are back after a reload.
  Widget.prototype.attachNotes = function (notes) {
    var last = this.store.messages[this.store.messages.length - 1];
    if (!last || last.from !== "bot") return;
    last.notes = notes;
    this.save();
    var bubbles = this.log.querySelectorAll(".threshold-bot");
    var bubble = bubbles[bubbles.length - 1];
    if (bubble) bubble.insertBefore(this.notesActions(notes), bubble.querySelector(".threshold-buttons"));
  };

  Widget.prototype.receive = function (message) {
    if (message && message.clear_history === true) { this.clearHistory(); return; }
    if (message && typeof message.guide_summary === "string") { this.attachNotes(message.guide_summary); return; }
    if (!message || (typeof message.text !== "string" && !message.quick_replies)) return;
    this.showTyping(false);
    this.status.textContent = "";
    var buttons = (message.quick_replies || message.buttons || []).filter(function (b) {
      return b && typeof b.title === "string" && typeof b.payload === "string";
    }).map(function (b) { return { title: b.title, payload: b.payload }; });
    this.add({ from: "bot", text: message.text || "", buttons: buttons });
  };

  Widget.prototype.connect = function () {
    var self = this;
    this.status.textContent = this.text.connecting;
    this.socket = window.io(this.config.assistant_url, { path: "/socket.io", transports: ["websocket"] });
    this.socket.on("connect", function () {
      self.socket.emit("session_request", { session_id: self.store.sessionId });
    });
    this.socket.on("session_confirm", function (confirmed) {
      var sessionId = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
      if (!sessionId) return;
      self.store.sessionId = sessionId;
      self.save();
      self.status.textContent = "";
      if (!self.panel.hidden) self.greetOnce();
    });
    this.socket.on("bot_uttered", function (message) { self.receive(message); });
    this.socket.on("disconnect", function () { self.status.textContent = self.text.connecting; });
    this.socket.on("connect_error", function () { self.status.textContent = self.text.offline; });
  };

  Promise.all([
    fetch(base + "widget-config.json").then(function (response) {
      if (!response.ok) throw new Error("widget-config.json: " + response.status);
      return response.json();
    }),
    load(base + "widget.css", "link"),
    window.io ? Promise.resolve() : load(base + "vendor/socket.io.min.js", "script"),
  ]).then(function (results) {
    window.thresholdChat = new Widget(results[0]);
  }).catch(function (error) {
    if (window.console) console.error("Threshold chat widget:", error.message);
  });
})();
