// Saved replies in the composer: "/" at the start of a word opens a list of replies (from the
// search endpoint, already filled in for the ticket); arrow keys choose, Enter or Tab inserts at
// the cursor, Escape closes. A combobox with a listbox (aria-activedescendant) for screen readers.
// Also: after a macro is applied, the page's live parts refresh. No inline handlers (CSP).
(function () {
  "use strict";
  if (window.loketSavedReplies) { return; }
  window.loketSavedReplies = true;

  var FIELDS = "textarea[data-saved-replies], form[data-composer] textarea[name=text]";
  var TOKEN = /(^|\s)\/([^\s\/]{0,40})$/;
  var state = null; // {field, popup, start, query, controller, timer, options, active}
  var counter = 0;

  function searchUrl(field) {
    var own = field.getAttribute("data-saved-replies");
    var tools = document.querySelector("[data-replies-tools]");
    var url = own && own.indexOf("/") !== -1 ? own : (tools && tools.getAttribute("data-replies-search"));
    if (!url) { return null; }
    var ticket = field.getAttribute("data-ticket-number");
    if (!ticket) {
      var root = field.closest("[data-ticket]");
      ticket = root ? root.getAttribute("data-ticket") : (tools && tools.getAttribute("data-ticket-number"));
    }
    return { url: url, ticket: ticket || "" };
  }

  function popupFor(field) {
    if (field._savedRepliesPopup) { return field._savedRepliesPopup; }
    counter += 1;
    var popup = document.createElement("div");
    popup.className = "saved-replies-popup";
    popup.id = "saved-replies-popup-" + counter;
    popup.hidden = true;
    var host = field.parentNode;
    host.classList.add("saved-replies-host");
    host.insertBefore(popup, field.nextSibling);
    field.setAttribute("role", "combobox");
    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-expanded", "false");
    field.setAttribute("aria-controls", popup.id);
    popup.addEventListener("mousedown", function (event) { event.preventDefault(); });
    popup.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option && state && state.popup === popup) { choose(option); }
    });
    field._savedRepliesPopup = popup;
    return popup;
  }

  function close() {
    if (!state) { return; }
    if (state.controller) { state.controller.abort(); }
    clearTimeout(state.timer);
    state.popup.hidden = true;
    state.popup.innerHTML = "";
    state.field.setAttribute("aria-expanded", "false");
    state.field.removeAttribute("aria-activedescendant");
    state = null;
  }

  function setActive(index) {
    if (!state || !state.options.length) { return; }
    var count = state.options.length;
    state.active = (index + count) % count;
    state.options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === state.active ? "true" : "false");
    });
    var current = state.options[state.active];
    state.field.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  }

  function fetchList(current) {
    var where = searchUrl(current.field);
    if (!where) { return; }
    if (current.controller) { current.controller.abort(); }
    var controller = new AbortController();
    current.controller = controller;
    var url = where.url + "?q=" + encodeURIComponent(current.query) +
      (where.ticket ? "&ticket=" + encodeURIComponent(where.ticket) : "");
    fetch(url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", "Accept": "text/html" },
      signal: controller.signal
    }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      if (state !== current) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      current.popup.replaceChildren.apply(current.popup, Array.prototype.slice.call(doc.body.childNodes));
      current.options = Array.prototype.slice.call(current.popup.querySelectorAll("[role=option]"));
      var listbox = current.popup.querySelector("[role=listbox]");
      if (listbox) { listbox.id = current.popup.id + "-list"; current.field.setAttribute("aria-controls", listbox.id); }
      current.popup.hidden = false;
      current.field.setAttribute("aria-expanded", current.options.length ? "true" : "false");
      current.active = -1;
      if (current.options.length) { setActive(0); } else { current.field.removeAttribute("aria-activedescendant"); }
    }).catch(function () { /* aborted or offline: typing goes on */ });
  }

  function onInput(field) {
    var before = field.value.slice(0, field.selectionStart);
    var match = field.selectionStart === field.selectionEnd ? TOKEN.exec(before) : null;
    if (!match) { close(); return; }
    var start = before.length - match[2].length - 1;
    if (!state || state.field !== field) {
      close();
      state = { field: field, popup: popupFor(field), options: [], active: -1 };
    }
    state.start = start;
    if (state.query === match[2] && !state.popup.hidden) { return; }
    state.query = match[2];
    clearTimeout(state.timer);
    var current = state;
    state.timer = setTimeout(function () { fetchList(current); }, 120);
  }

  function choose(option) {
    var field = state.field;
    var text = option.getAttribute("data-reply-text") || "";
    var end = field.selectionStart;
    var start = state.start;
    close();
    field.focus();
    field.setRangeText(text, start, end, "end");
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field instanceof HTMLTextAreaElement && field.matches(FIELDS)) { onInput(field); }
  });

  document.addEventListener("keydown", function (event) {
    if (!state || event.target !== state.field || state.popup.hidden) { return; }
    if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); close(); return; }
    if (!state.options.length || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "ArrowDown") { event.preventDefault(); setActive(state.active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); setActive(state.active - 1); }
    else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      if (state.active >= 0) { event.preventDefault(); event.stopPropagation(); choose(state.options[state.active]); }
    }
  }, true);

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.field) { setTimeout(function () {
      if (state && document.activeElement !== state.field) { close(); }
    }, 150); }
  });

  document.addEventListener("click", function (event) {
    if (state && !state.popup.contains(event.target) && event.target !== state.field) { close(); }
  });

  // A macro changed the ticket: refresh what shows it, and close the menu.
  document.body.addEventListener("loket:macro-applied", function (event) {
    var menu = event.target.closest ? event.target.closest("[data-macro-menu]") : null;
    if (menu) { menu.open = false; }
    if (window.htmx) {
      document.querySelectorAll("[hx-trigger*='loket:refresh']").forEach(function (el) {
        window.htmx.trigger(el, "loket:refresh");
      });
    }
  });

  // A refused macro (403) still shows its explanation in the menu.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 403 && event.target.closest && event.target.closest("[data-replies-tools]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
