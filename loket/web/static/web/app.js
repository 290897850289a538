// Loket dashboard glue. No inline handlers (CSP): behaviour hangs off data- attributes.
(function () {
  "use strict";
  // htmx answers an error with the server's fragment when it sends one (422 for a form).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
