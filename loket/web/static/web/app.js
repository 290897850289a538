// Loket dashboard glue. No inline handlers (CSP): behaviour hangs off data- attributes, and
// every hook is looked up when it is needed, so content swapped in by htmx takes part too.
//
// Inbox (templates/web/inbox/index.html):
//   #ticket-list[data-list-url]    the list; rows [data-ticket-row] with a [data-row-link]
//   #conversation                  the right pane a row opens into (body[data-pane] on phones)
//   form[data-bulk]                the bulk bar; row checkboxes [data-pick], [data-pick-all]
//   [data-show-pane], [data-back]  pane switches on a phone
// Keys in the inbox: j/k or arrows move between rows, Enter opens, x selects, / searches,
// Escape goes back to the list on a phone.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // htmx answers an error with the server's fragment when it sends one (422 for a form).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  var TICKET_PATH = /^\/tiket\/(\d+)\/$/;

  function list() { return document.getElementById("ticket-list"); }
  function isInbox() { return document.body.classList.contains("page-inbox"); }
  function setPane(pane) { document.body.setAttribute("data-pane", pane); }
  function rowLinks() { return Array.prototype.slice.call(document.querySelectorAll("[data-ticket-row] [data-row-link]")); }

  // --- which conversation is open ------------------------------------------------------------
  var current = null; // ticket number shown in #conversation

  function markCurrent() {
    document.querySelectorAll("[data-ticket-row].current").forEach(function (row) {
      row.classList.remove("current");
      var link = row.querySelector("[data-row-link]");
      if (link) link.removeAttribute("aria-current");
    });
    if (current === null) return;
    var row = document.querySelector('[data-ticket-row="' + current + '"]');
    if (!row) return;
    row.classList.add("current");
    var link = row.querySelector("[data-row-link]");
    if (link) link.setAttribute("aria-current", "true");
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "conversation") {
      var path = (event.detail.pathInfo && event.detail.pathInfo.requestPath) || "";
      var match = TICKET_PATH.exec(path.split("?")[0]);
      current = match ? match[1] : null;
      markCurrent();
      setPane("conversation");
      if (window.matchMedia("(max-width: 720px)").matches) {
        target.focus({ preventScroll: true });
        window.scrollTo(0, 0);
      }
    }
  });

  // --- phone panes -------------------------------------------------------------------------------
  function backToList() {
    setPane("list");
    var element = list();
    var url = element && element.getAttribute("data-list-url");
    if (url && location.pathname + location.search !== url) history.pushState({}, "", url);
    var row = current && document.getElementById("row-" + current);
    if (row) row.focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    // The ticket page's own back link (.conv-back) goes back in place inside the inbox.
    if (target.closest("[data-back]") || (isInbox() && list() && target.closest("#conversation .conv-back"))) {
      event.preventDefault();
      backToList();
      return;
    }
    var show = target.closest("[data-show-pane]");
    if (show) {
      setPane(show.getAttribute("data-show-pane"));
      var first = document.querySelector("#inbox-views a");
      if (first) first.focus();
      return;
    }
    if (target.closest("#inbox-views a")) setPane("list");
  });

  // Back and forward: stay in the page when the list or a ticket of it is asked for; anything
  // else loads the whole page (htmx's own restore would keep this page's body class).
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    event.preventDefault();
    var here = location.pathname + location.search;
    var element = list();
    if (isInbox() && element && element.getAttribute("data-list-url") === here) {
      setPane("list");
      return;
    }
    if (isInbox() && element && TICKET_PATH.test(location.pathname) && window.htmx) {
      window.htmx.ajax("GET", here, { target: "#conversation", swap: "innerHTML" });
      return;
    }
    location.reload();
  });

  // --- selection and the bulk bar ---------------------------------------------------------------
  var selected = new Set();

  function bulkForm() { return document.querySelector("form[data-bulk]"); }

  function syncSelection() {
    var boxes = document.querySelectorAll("[data-pick]");
    var shown = 0;
    boxes.forEach(function (box) {
      box.checked = selected.has(box.value);
      if (box.checked) shown += 1;
    });
    var form = bulkForm();
    if (!form) return;
    form.setAttribute("data-count", String(selected.size));
    var all = form.querySelector("[data-pick-all]");
    if (all) {
      all.checked = boxes.length > 0 && shown === boxes.length;
      all.indeterminate = shown > 0 && shown < boxes.length;
    }
    var label = form.querySelector("[data-bulk-count]");
    if (label) label.textContent = (label.getAttribute("data-template") || "__N__").replace("__N__", String(selected.size));
  }

  function syncTagInput() {
    var form = bulkForm();
    if (!form) return;
    var tag = form.querySelector("[data-bulk-tag]");
    var action = form.querySelector("select[name=do]");
    if (!tag || !action) return;
    var wanted = action.value === "tag";
    tag.hidden = !wanted;
    tag.required = wanted;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement) && !(target instanceof HTMLSelectElement)) return;
    if (target.matches("[data-pick]")) {
      if (target.checked) selected.add(target.value); else selected.delete(target.value);
      syncSelection();
    } else if (target.matches("[data-pick-all]")) {
      document.querySelectorAll("[data-pick]").forEach(function (box) {
        if (target.checked) selected.add(box.value); else selected.delete(box.value);
      });
      syncSelection();
    } else if (target.matches("form[data-bulk] select[name=do]")) {
      syncTagInput();
    }
  });

  document.body.addEventListener("loket:inbox-changed", function (event) {
    if (event.detail && event.detail.cleared) selected.clear();
    syncSelection();
    var element = list();
    if (element && window.htmx) window.htmx.trigger(element, "loket:refresh");
  });

  document.addEventListener("htmx:afterSettle", function () {
    syncSelection();
    markCurrent();
  });

  // --- keys ---------------------------------------------------------------------------------------
  function typing(element) {
    if (!(element instanceof Element)) return false;
    return element.matches("input, textarea, select, [contenteditable], [contenteditable] *");
  }

  function move(step) {
    var links = rowLinks();
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    if (at === -1 && current) at = links.indexOf(document.getElementById("row-" + current));
    var next = at === -1 ? 0 : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
    links[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (!isInbox() || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape" && event.target.matches("[data-search]")) event.target.blur();
      return;
    }
    var onRow = document.activeElement && document.activeElement.matches("[data-row-link]");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "ArrowDown": if (!onRow) return; move(1); break;
      case "ArrowUp": if (!onRow) return; move(-1); break;
      case "x": {
        var row = document.activeElement && document.activeElement.closest("[data-ticket-row]");
        var box = row && row.querySelector("[data-pick]");
        if (!box) return;
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
        break;
      }
      case "/": {
        var search = document.querySelector("[data-search]");
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case "Escape":
        if (document.body.getAttribute("data-pane") !== "conversation") return;
        backToList();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // The open ticket on a page load of /tiket/<n>/ inside the inbox, and the first sync.
  var opened = TICKET_PATH.exec(location.pathname);
  if (opened) current = opened[1];
  if (isInbox() && !document.body.hasAttribute("data-pane")) setPane("list");
  syncSelection();
  syncTagInput();
  markCurrent();
})();
