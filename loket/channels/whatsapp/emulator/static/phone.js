// The customer phone page: chat as a customer with the business on the emulator.
// Polls /_emulator/chat every second; every action is POSTed to /_emulator/customer, which
// turns it into a signed webhook to the business (Loket).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const chat = $("chat");
  let who = JSON.parse(localStorage.getItem("emulator-customer") || "null");
  let shown = -1;
  let messages = [];
  let picking = null; // the message whose reaction picker is open

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function problem(text) {
    $("problem").textContent = text || "";
    $("problem").hidden = !text;
  }

  async function act(body, isForm) {
    const options = { method: "POST", body: isForm ? body : JSON.stringify(body) };
    if (!isForm) options.headers = { "Content-Type": "application/json" };
    try {
      const response = await fetch("/_emulator/customer", options);
      if (!response.ok) throw new Error(await response.text());
      problem("");
      poll();
    } catch (err) {
      problem("Gagal: " + err.message);
    }
  }

  function base() {
    return { wa_id: who.wa_id, name: who.name };
  }

  const TICKS = { accepted: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };

  function body(m) {
    const c = m.content || {};
    const box = el("div", "body");
    if (m.type === "text") box.append(el("div", "text", c.body || ""));
    else if (m.type === "image" || m.type === "sticker") {
      if (m.media) { const img = el("img"); img.src = m.media; img.alt = c.caption || m.type; box.append(img); }
      if (c.caption) box.append(el("div", "text", c.caption));
    } else if (m.type === "video" || m.type === "audio") {
      const player = el(m.type); player.controls = true; if (m.media) player.src = m.media; box.append(player);
      if (c.caption) box.append(el("div", "text", c.caption));
    } else if (m.type === "document") {
      const link = el("a", "", "📄 " + (c.filename || "dokumen"));
      if (m.media) { link.href = m.media; link.download = c.filename || "dokumen"; }
      box.append(link);
      if (c.caption) box.append(el("div", "text", c.caption));
    } else if (m.type === "location") {
      box.append(el("div", "text", "📍 " + [c.name, c.address, c.latitude + ", " + c.longitude].filter(Boolean).join("\n")));
    } else if (m.type === "template") {
      box.append(el("div", "text", c.rendered || c.name));
      const quick = c.quick_replies || [];
      if (quick.length) choices(box, m, quick.map((b) => [b.payload, b.text]));
    } else if (m.type === "interactive") {
      if (c.header && c.header.text) box.append(el("div", "head", c.header.text));
      box.append(el("div", "text", (c.body || {}).text || ""));
      if (c.footer) box.append(el("div", "foot", c.footer.text || ""));
      const action = c.action || {};
      if (action.buttons) choices(box, m, action.buttons.map((b) => [b.reply.id, b.reply.title]));
      if (action.sections) choices(box, m, action.sections.flatMap((s) => (s.rows || []).map((r) => [r.id, r.title])));
      if (action.parameters && action.parameters.url) {
        const link = el("a", "", action.parameters.display_text || action.parameters.url);
        link.href = action.parameters.url; link.rel = "noopener noreferrer"; link.target = "_blank"; box.append(link);
      }
    } else if (m.type === "interactive_reply" || m.type === "button") {
      box.append(el("div", "text", "↩ " + (c.text || "")));
    } else if (m.type === "interactive" || m.type === "contacts") {
      box.append(el("div", "text", JSON.stringify(c)));
    } else {
      box.append(el("div", "text", "[" + m.type + "] " + (c.text || c.body || "")));
    }
    if (m.direction === "in" && m.type === "interactive") {
      box.textContent = "↩ " + ((c.button_reply || c.list_reply || {}).title || "");
    }
    return box;
  }

  function choices(box, m, options) {
    const list = el("div", "choices");
    options.forEach(([id, title]) => {
      const button = el("button", "", title);
      button.type = "button";
      button.addEventListener("click", () => act({ ...base(), action: "tap", message_id: m.id, reply_id: id }));
      list.append(button);
    });
    box.append(list);
  }

  function picker(m) {
    const tools = document.getElementById("reactions").content.firstElementChild.cloneNode(true);
    tools.querySelectorAll("button").forEach((button) => {
      button.addEventListener("click", () => {
        const emoji = button.hasAttribute("data-remove") ? "" : button.textContent;
        picking = null;
        act({ ...base(), action: "react", message_id: m.id, emoji: emoji });
      });
    });
    return tools;
  }

  function render() {
    const byId = Object.fromEntries(messages.map((m) => [m.id, m]));
    const stick = chat.scrollTop + chat.clientHeight >= chat.scrollHeight - 40;
    chat.replaceChildren(...messages.map((m) => {
      const item = el("li", "msg " + m.direction);
      item.dataset.id = m.id;
      if (m.context && byId[m.context]) {
        const q = byId[m.context].content || {};
        item.append(el("div", "quote", q.body || q.rendered || q.caption || (q.body && q.body.text) || byId[m.context].type));
      }
      item.append(body(m));
      const meta = el("div", "meta", new Date(m.at * 1000).toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit" }) + " ");
      if (m.direction === "out") {
        const react = el("button", "react", "☺");
        react.type = "button";
        react.title = "Beri reaksi";
        react.setAttribute("aria-label", "Beri reaksi");
        react.addEventListener("click", () => {
          picking = picking === m.id ? null : m.id;
          render();
        });
        meta.prepend(react);
        if (picking === m.id) meta.prepend(picker(m));
      } else if (m.status) {
        meta.append(el("span", "tick read", "dibaca "));
      }
      if (m.direction === "out" && m.status) {
        const tick = el("span", "tick " + m.status, TICKS[m.status] || "");
        tick.title = m.error || m.status;
        meta.append(tick);
        if (m.error) meta.append(el("span", "tick failed", " " + m.error));
      }
      item.append(meta);
      const reacted = Object.values(m.reactions || {});
      if (reacted.length) item.append(el("span", "reacted", reacted.join("")));
      return item;
    }));
    if (stick) chat.scrollTop = chat.scrollHeight;
  }

  async function poll() {
    if (!who) return;
    const seen = document.visibilityState === "visible" ? "1" : "0";
    try {
      const response = await fetch("/_emulator/chat?wa_id=" + encodeURIComponent(who.wa_id) + "&seen=" + seen);
      const data = await response.json();
      $("business").textContent = data.business + (data.typing ? " — sedang mengetik…" : "");
      if (!who.name && data.default) who = data.default;
      if (data.version !== shown) {
        shown = data.version;
        messages = data.messages;
        render();
      }
    } catch (err) {
      problem("Emulator tidak menjawab: " + err.message);
    }
  }

  async function start() {
    if (!who) {
      const response = await fetch("/_emulator/chat?wa_id=");
      who = (await response.json()).default;
    }
    $("name").value = who.name;
    $("wa_id").value = who.wa_id;
    poll();
    setInterval(poll, 1000);
  }

  $("who").addEventListener("submit", (event) => {
    event.preventDefault();
    who = { name: $("name").value.trim(), wa_id: $("wa_id").value.replace(/\D/g, "") };
    localStorage.setItem("emulator-customer", JSON.stringify(who));
    shown = -1;
    poll();
  });
  $("say").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    act({ ...base(), action: "text", text: text });
  });
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("wa_id", who.wa_id);
    form.append("name", who.name);
    form.append("caption", $("caption").value);
    form.append("file", file, file.name);
    $("file").value = "";
    $("caption").value = "";
    act(form, true);
  });
  $("location").addEventListener("click", () => {
    act({ ...base(), action: "location", latitude: -7.7928, longitude: 110.3658, place: "Toko Batik Sari", address: "Jl. Malioboro No. 52, Yogyakarta" });
  });
  start();
})();
