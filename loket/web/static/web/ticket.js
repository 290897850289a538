// Ticket page behaviour: Ctrl/Cmd+Enter sends, @mentions in notes, chosen files listed,
// refusals shown, the timeline kept scrolled to the newest message. No inline handlers (CSP);
// everything is delegated from document, so conversations loaded by htmx work too.
(function () {
  "use strict";
  if (window.loketTicket) { return; }
  window.loketTicket = true;

  function composerOf(el) { return el && el.closest ? el.closest("form[data-composer]") : null; }
  function isNote(form) {
    var checked = form.querySelector("input[name=mode]:checked");
    return checked && checked.value === "note";
  }
  function human(bytes) {
    if (bytes >= 1048576) { return (bytes / 1048576).toFixed(1) + " MB"; }
    if (bytes >= 1024) { return Math.round(bytes / 1024) + " KB"; }
    return bytes + " B";
  }

  function scrollTimelines(root) {
    (root || document).querySelectorAll(".timeline").forEach(function (list) {
      list.scrollTop = list.scrollHeight;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { scrollTimelines(document); });

  // Keep the timeline at the bottom when new bubbles come in, unless the agent scrolled up.
  var nearBottom = new WeakMap();
  document.addEventListener("htmx:beforeSwap", function (event) {
    var old = document.getElementById(event.detail.target && event.detail.target.id);
    if (old && old.classList.contains("timeline")) {
      nearBottom.set(document, old.scrollHeight - old.scrollTop - old.clientHeight < 80);
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.classList && elt.classList.contains("timeline")) {
      if (nearBottom.get(document) !== false) { elt.scrollTop = elt.scrollHeight; }
      return;
    }
    if (elt && elt.querySelector) {
      var conv = elt.matches && elt.matches("[data-ticket]") ? elt : elt.querySelector("[data-ticket]");
      if (conv) { scrollTimelines(conv); }
      var composer = elt.matches && elt.matches("form[data-composer]") ? elt
        : (elt.matches && elt.matches(".composer-box") ? elt.querySelector("form[data-composer]") : null);
      if (composer) {
        scrollTimelines(composer.closest("[data-ticket]"));
        followIdentity(composer);
        var area = composer.querySelector("textarea[name=text]");
        if (area && !composer.querySelector(".errors") && area.offsetParent) { area.focus(); }
      }
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var t = event.detail.target;
    if (t && t.classList && t.classList.contains("timeline")) { t.scrollTop = t.scrollHeight; }
  });

  // A refusal (403) or server error: say it in the conversation's toast.
  function toastIn(elt, text) {
    var conv = elt && elt.closest ? elt.closest("[data-ticket]") : null;
    var toast = conv ? conv.querySelector("[data-toast]") : null;
    if (!toast) { return; }
    toast.textContent = text || (document.documentElement.lang === "en"
      ? "Something went wrong. Try again." : "Terjadi kesalahan. Coba lagi.");
    window.setTimeout(function () { toast.textContent = ""; }, 5000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    toastIn(event.detail.elt, xhr.status === 403 ? xhr.responseText : "");
  });
  // A refusal in words (a reaction outside the WhatsApp window): the server leaves the page
  // as it is and sends the words in the loket:toast event.
  document.addEventListener("loket:toast", function (event) {
    toastIn(event.target, event.detail && event.detail.value);
  });

  // A narrow conversation keeps its details (side panel) behind a button; the open state sits
  // on the conversation, so the panel stays open when htmx swaps it after a change.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest ? event.target.closest("[data-details-open]") : null;
    var closer = event.target.closest ? event.target.closest("[data-details-close]") : null;
    var conv = (opener || closer) ? (opener || closer).closest("[data-ticket]") : null;
    if (!conv) { return; }
    event.preventDefault();
    conv.classList.toggle("details-open", Boolean(opener));
    var target = opener ? conv.querySelector(".conv-side select, .conv-side button") : conv.querySelector("[data-details-open]");
    if (target) { target.focus(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var conv = document.querySelector("[data-ticket].details-open");
    if (conv) { conv.classList.remove("details-open"); }
  });

  // Tabs: the composer's look follows the radio (CSS :has); keep the class for older browsers.
  document.addEventListener("change", function (event) {
    var form = composerOf(event.target);
    if (!form) { return; }
    if (event.target.name === "mode") {
      form.classList.toggle("is-note", isNote(form));
      hideMentions(form);
      if (isNote(form)) { closePicker(form); }
    }
    if (event.target.type === "file") { listFiles(form, event.target); }
    if (event.target.name === "identity") { followIdentity(form); }
  });

  // WhatsApp outside the 24-hour window: free text is hidden while the answer goes to the
  // WhatsApp number; choosing an email address brings it back (CSS reads .to-other).
  function followIdentity(form) {
    var select = form.querySelector("select[name=identity]");
    var option = select ? select.options[select.selectedIndex] : null;
    var other = Boolean(option && option.getAttribute("data-kind") !== "phone");
    form.classList.toggle("to-other", other);
    if (other) { closePicker(form); }
  }
  function closePicker(form) {
    var box = form.closest(".composer-box");
    var picker = box ? box.querySelector(".wa-templates[open]") : null;
    if (picker) { picker.open = false; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-composer]").forEach(followIdentity);
  });

  // "Pick a template" (composer, failed message): open the picker and bring it into view.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest ? event.target.closest("[data-open-templates]") : null;
    if (!opener) { return; }
    var picker = document.getElementById((opener.getAttribute("href") || "").slice(1));
    if (!picker) { return; }
    event.preventDefault();
    picker.open = true;
    picker.scrollIntoView({ block: "nearest" });
    var summary = picker.querySelector("summary");
    if (summary) { summary.focus(); }
  });

  // Quoting: "Reply to this" on a customer's message puts it above the composer; Esc or ×
  // takes it away. A quote in a bubble scrolls to the quoted message and flashes it.
  function setQuote(form, id, text) {
    var box = form.querySelector("[data-quote]");
    if (!box) { return; }
    box.querySelector("input[name=reply_to]").value = id || "";
    box.querySelector("[data-quote-text]").textContent = text || "";
    box.hidden = !id;
  }
  document.addEventListener("click", function (event) {
    var quote = event.target.closest ? event.target.closest("[data-reply-to]") : null;
    var clear = event.target.closest ? event.target.closest("[data-quote-clear]") : null;
    var link = event.target.closest ? event.target.closest("[data-quote-link]") : null;
    if (quote) {
      var conv = quote.closest("[data-ticket]");
      var form = conv ? conv.querySelector("form[data-composer]") : null;
      if (!form) { return; }
      var reply = form.querySelector("input[name=mode][value=reply]");
      if (reply && !reply.checked) { reply.checked = true; form.classList.remove("is-note"); }
      setQuote(form, quote.getAttribute("data-reply-to"), quote.getAttribute("data-excerpt"));
      var area = form.querySelector("textarea[name=text]");
      if (area && area.offsetParent) { area.focus(); }
    } else if (clear) {
      setQuote(composerOf(clear), "", "");
    } else if (link) {
      var target = document.getElementById((link.getAttribute("href") || "").slice(1));
      if (!target) { return; }
      event.preventDefault();
      target.scrollIntoView({ block: "center", behavior: "smooth" });
      target.classList.add("is-flash");
      window.setTimeout(function () { target.classList.remove("is-flash"); }, 1500);
    }
  });

  function listFiles(form, input) {
    var out = form.querySelector("[data-files]");
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    var tooLarge = false;
    out.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var li = document.createElement("li");
      li.textContent = file.name + " (" + human(file.size) + ")";
      if (limit && file.size > limit) {
        li.className = "too-large";
        li.textContent += document.documentElement.lang === "en"
          ? " — too large, the limit is " + human(limit)
          : " — terlalu besar, batasnya " + human(limit);
        tooLarge = true;
      }
      out.appendChild(li);
    });
    var send = form.querySelector("[data-send]");
    if (send) { send.disabled = tooLarge; }
  }

  // Ctrl/Cmd+Enter sends; arrows/Enter/Tab/Escape drive the mention list when it is open.
  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (!area || area.name !== "text") { return; }
    var form = composerOf(area);
    if (!form) { return; }
    var list = form.querySelector("[data-mention-list]");
    if (list && !list.hidden) {
      var items = Array.prototype.slice.call(list.querySelectorAll("li"));
      var current = items.findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var next = (current + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        items.forEach(function (li, i) { li.setAttribute("aria-selected", i === next ? "true" : "false"); });
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && !event.ctrlKey && !event.metaKey && items.length) {
        event.preventDefault();
        pick(form, items[current < 0 ? 0 : current].getAttribute("data-handle"));
        return;
      }
      if (event.key === "Escape") { hideMentions(form); return; }
    }
    if (event.key === "Escape") { setQuote(form, "", ""); return; }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      var send = form.querySelector("[data-send]");
      if (send && send.disabled) { return; }
      if (form.requestSubmit) { form.requestSubmit(send || undefined); } else { send.click(); }
    }
  });

  // @mentions: in a note, "@bu" asks the server for agents who may see this ticket.
  var pending = null;
  function mentionQuery(area) {
    var before = area.value.slice(0, area.selectionStart);
    var match = /(?:^|[\s(])@([\w.+-]{0,30})$/.exec(before);
    return match ? match[1] : null;
  }
  function hideMentions(form) {
    var list = form.querySelector("[data-mention-list]");
    if (list) { list.hidden = true; list.textContent = ""; }
  }
  function pick(form, handle) {
    var area = form.querySelector("textarea[name=text]");
    var caret = area.selectionStart;
    var before = area.value.slice(0, caret).replace(/@[\w.+-]*$/, "@" + handle + " ");
    area.value = before + area.value.slice(caret);
    area.selectionStart = area.selectionEnd = before.length;
    hideMentions(form);
    area.focus();
  }
  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area || area.name !== "text") { return; }
    var form = composerOf(area);
    if (!form || !isNote(form)) { return; }
    var q = mentionQuery(area);
    if (q === null) { hideMentions(form); return; }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var url = form.getAttribute("data-mentions") + "?q=" + encodeURIComponent(q);
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", signal: pending.signal })
      .then(function (r) { return r.ok ? r.json() : { agents: [] }; })
      .then(function (data) {
        var list = form.querySelector("[data-mention-list]");
        list.textContent = "";
        data.agents.forEach(function (agent, i) {
          var li = document.createElement("li");
          li.setAttribute("role", "option");
          li.setAttribute("data-handle", agent.handle);
          li.setAttribute("aria-selected", i === 0 ? "true" : "false");
          var name = document.createElement("span");
          name.textContent = agent.name;
          var handle = document.createElement("span");
          handle.className = "muted";
          handle.textContent = "@" + agent.handle;
          li.appendChild(name);
          li.appendChild(handle);
          list.appendChild(li);
        });
        list.hidden = data.agents.length === 0;
      })
      .catch(function () { /* superseded by a newer query */ });
  });
  document.addEventListener("mousedown", function (event) {
    var li = event.target.closest ? event.target.closest("[data-mention-list] li") : null;
    if (!li) { return; }
    event.preventDefault();
    pick(composerOf(li), li.getAttribute("data-handle"));
  });
})();
