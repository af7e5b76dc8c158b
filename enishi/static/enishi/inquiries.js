// Inquiry forms: offer the satisfaction score only for a resolved or closed inquiry.
(function () {
  "use strict";
  var DONE = ["resolved", "closed"];
  var FORMS = "form.inq-change-form, form.inquiry-form";

  function sync(form) {
    var status = form.querySelector("select[name=status]");
    var box = form.querySelector("[data-when-done]");
    if (!status || !box) return;
    var done = DONE.indexOf(status.value) !== -1;
    box.hidden = !done;
    box.querySelectorAll("select, input").forEach(function (el) { el.disabled = !done; });
  }

  document.addEventListener("change", function (e) {
    var form = e.target.closest(FORMS);
    if (form && e.target.name === "status") sync(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(FORMS).forEach(sync);
  });
})();
