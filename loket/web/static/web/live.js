// Live updates (Server-Sent Events), presence on a ticket, notifications. No inline handlers
// (CSP): behaviour hangs off data- attributes, and every hook is looked up when it is needed,
// so content swapped in by htmx takes part too.
//
// Hooks (see templates/web/live/*.html and the dashboard brief):
//   #ticket-list[data-live-inbox]     refreshed ('loket:refresh') on every ticket event
//   [data-live-ticket="<ticket id>"]  refreshed on events about that ticket
//   [data-live-any]                   refreshed on every ticket event (counts, badges)
//   [data-live-agents]                refreshed when an agent's availability changes
//   [data-ticket="<number>"]          the open ticket: presence heartbeats are sent for it
//   [data-presence="<number>"]        the "who else is here" line ('loket:presence'), pushed
//                                     by the stream's 'presence' events
//   form[data-composer] textarea      typing there sends a "typing" heartbeat
//   [data-live-notify]                the button that turns notifications on and off
// Every event is also dispatched on document as a 'loket:event' CustomEvent (detail: data).
(function () {
  "use strict";

  var STREAM_URL = "/live/events";
  var PRESENCE_URL = "/live/presence/";
  var REFRESH_GAP = 300; // ms: at most one refresh per target in this window
  var VIEWING_EVERY = 10000;
  var TYPING_EVERY = 3000;
  var NOTIFY_KEY = "loket.notify";

  // --- refreshing targets, throttled per element ---------------------------------------------
  var lastRefresh = new WeakMap();
  var pending = new WeakMap();

  function refresh(element) {
    if (!element || !window.htmx) return;
    if (pending.get(element)) return;
    var wait = Math.max(0, (lastRefresh.get(element) || 0) + REFRESH_GAP - Date.now());
    pending.set(element, true);
    window.setTimeout(function () {
      pending.delete(element);
      lastRefresh.set(element, Date.now());
      if (element.isConnected) window.htmx.trigger(element, "loket:refresh");
    }, wait);
  }

  function refreshAll(selector) {
    document.querySelectorAll(selector).forEach(refresh);
  }

  function onTicketEvent(data) {
    refresh(document.querySelector("#ticket-list[data-live-inbox]"));
    refreshAll("[data-live-any]");
    if (data.ticket_id != null) {
      refreshAll('[data-live-ticket="' + String(Number(data.ticket_id)) + '"]');
    }
  }

  // --- the stream ----------------------------------------------------------------------------
  var source = null;
  var lastId = "";
  var backoff = 1000;
  var KINDS = [
    "ticket.created", "message.received", "message.queued", "message.sent",
    "message.delivered", "message.read", "message.delivery_failed", "message.status_changed",
    "note.added", "ticket.status_changed", "ticket.assigned", "ticket.team_changed",
    "ticket.priority_changed", "ticket.tags_changed", "ticket.linked", "macro.applied",
    "notification.created", "agent.availability_changed", "presence", "resync", "ready"
  ];

  function handle(event) {
    if (event.lastEventId) lastId = event.lastEventId;
    backoff = 1000;
    var data = {};
    try { data = JSON.parse(event.data || "{}"); } catch (e) { data = {}; }
    if (!data.kind) data.kind = event.type;
    if (event.type === "ready") {
      return; // the stream is open; its id is the cursor to resume from
    } else if (event.type === "presence") {
      // A colleague opened, left or is typing on a ticket this agent has open.
      var line = document.querySelector('[data-presence="' + String(Number(data.ticket_number)) + '"]');
      if (line && window.htmx) window.htmx.trigger(line, "loket:presence");
    } else if (event.type === "resync") {
      refresh(document.querySelector("#ticket-list[data-live-inbox]"));
      refreshAll("[data-live-any], [data-live-ticket], [data-live-agents]");
    } else if (event.type === "agent.availability_changed") {
      refreshAll("[data-live-agents]");
    } else if (data.ticket_id != null) {
      onTicketEvent(data);
      notify(data);
    }
    document.dispatchEvent(new CustomEvent("loket:event", { detail: data }));
  }

  function connect() {
    if (!window.EventSource) return;
    // A new EventSource does not send Last-Event-ID: the cursor goes in the query instead.
    var url = lastId ? STREAM_URL + "?after=" + encodeURIComponent(lastId) : STREAM_URL;
    source = new EventSource(url);
    KINDS.forEach(function (kind) { source.addEventListener(kind, handle); });
    source.onmessage = handle; // events of kinds not listed above
    source.onopen = function () { backoff = 1000; };
    source.onerror = function () {
      // The browser reconnects by itself (with Last-Event-ID) after a dropped stream; only a
      // refused one (signed out, server down) is CLOSED and needs us, with growing pauses.
      if (source.readyState !== EventSource.CLOSED) return;
      source.close();
      window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 60000);
    };
  }

  // --- presence ------------------------------------------------------------------------------
  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      return headers["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function currentTicket() {
    var page = document.querySelector("[data-ticket]");
    return page ? page.getAttribute("data-ticket") : null;
  }

  var lastBeat = { number: null, state: null, at: 0 };

  function beat(state) {
    var number = currentTicket();
    if (!number || !/^\d+$/.test(number)) return;
    var body = new URLSearchParams();
    body.set("state", state);
    lastBeat = { number: number, state: state, at: Date.now() };
    fetch(PRESENCE_URL + number + "/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
      body: body
    }).then(function () {
      var line = document.querySelector('[data-presence="' + number + '"]');
      if (line && window.htmx) window.htmx.trigger(line, "loket:presence");
    }).catch(function () { /* offline: the next beat tries again */ });
  }

  function leave(number) {
    if (!number || !navigator.sendBeacon) return;
    var form = new FormData();
    form.set("state", "left");
    form.set("csrfmiddlewaretoken", csrfToken());
    navigator.sendBeacon(PRESENCE_URL + number + "/", form);
  }

  function tick() {
    var number = currentTicket();
    if (lastBeat.number && lastBeat.number !== number) leave(lastBeat.number);
    if (!number) { lastBeat = { number: null, state: null, at: 0 }; return; }
    if (document.visibilityState === "hidden") return;
    var typingRecently = lastBeat.state === "typing" && Date.now() - lastBeat.at < TYPING_EVERY;
    if (!typingRecently) beat("viewing");
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target || !target.matches || !target.matches("form[data-composer] textarea")) return;
    var now = Date.now();
    if (lastBeat.state === "typing" && lastBeat.number === currentTicket() &&
        now - lastBeat.at < TYPING_EVERY) return;
    beat("typing");
  });

  // A ticket opened by htmx (no page load): say so at once.
  document.addEventListener("htmx:afterSettle", function () {
    if (currentTicket() !== lastBeat.number) tick();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") tick();
  });
  window.addEventListener("pagehide", function () { leave(lastBeat.number); });

  // --- notifications and sound ---------------------------------------------------------------
  var sound = null;

  function notifyButton() { return document.querySelector("[data-live-notify]"); }

  function notifyEnabled() {
    return window.localStorage && window.localStorage.getItem(NOTIFY_KEY) === "1" &&
      window.Notification && Notification.permission === "granted";
  }

  function myId() {
    var form = document.querySelector("[data-user-id]");
    return form ? form.getAttribute("data-user-id") : null;
  }

  function labelButton() {
    var button = notifyButton();
    if (!button) return;
    if (!window.Notification) { button.hidden = true; return; }
    button.hidden = false;
    button.textContent = notifyEnabled()
      ? button.getAttribute("data-label-off")
      : button.getAttribute("data-label-on");
    button.setAttribute("aria-pressed", notifyEnabled() ? "true" : "false");
  }

  function loadSound() {
    var button = notifyButton();
    var url = button && button.getAttribute("data-sound");
    if (url && !sound) { sound = new Audio(url); sound.preload = "auto"; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-live-notify]");
    if (!button) return;
    event.preventDefault();
    if (notifyEnabled()) {
      window.localStorage.setItem(NOTIFY_KEY, "0");
      labelButton();
      return;
    }
    Notification.requestPermission().then(function (permission) {
      window.localStorage.setItem(NOTIFY_KEY, permission === "granted" ? "1" : "0");
      if (permission === "granted") loadSound();
      labelButton();
    });
  });

  function notify(data) {
    if (data.kind !== "message.received" || !notifyEnabled()) return;
    var me = myId();
    if (!me || String(data.assignee_id) !== me) return;
    var open = currentTicket() === String(data.ticket_number);
    if (open && document.visibilityState === "visible") return; // already in front of them
    var button = notifyButton();
    var title = (button && button.getAttribute("data-notify-title")) || "#{number}";
    var note = new Notification(title.replace("{number}", String(data.ticket_number)), {
      tag: "loket-ticket-" + data.ticket_id
    });
    note.onclick = function () {
      window.focus();
      window.location.href = "/tiket/" + encodeURIComponent(String(data.ticket_number)) + "/";
    };
    loadSound();
    if (sound) {
      sound.currentTime = 0;
      sound.play().catch(function () { /* the browser wants a click first */ });
    }
  }

  // htmx swaps the availability switch: label its notification button again.
  document.addEventListener("htmx:afterSwap", labelButton);

  function start() {
    labelButton();
    if (notifyEnabled()) loadSound();
    connect();
    tick();
    window.setInterval(tick, VIEWING_EVERY);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
