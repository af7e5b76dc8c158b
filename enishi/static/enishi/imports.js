/* The import wizard: a row's decision is sent when it is chosen (htmx; the counts follow), so
   the "Set" buttons that make the form work without scripts are hidden; choosing another sheet
   or encoding reads the file again at once. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (e) {
    var target = e.target;
    if (!(target instanceof HTMLSelectElement)) return;
    if (target.id === "import-sheet" || target.id === "import-encoding") {
      var form = target.closest("form");
      if (form) form.submit();
    }
  });

  // Undo asks first: the confirmation (fetched by htmx when the button is pressed, with the
  // counts as they are now) opens as a dialog; without scripts the same form is a page.
  document.addEventListener("htmx:afterSwap", function (e) {
    var dialog = e.target.querySelector && e.target.querySelector("dialog.import-dialog");
    if (!dialog || dialog.open) return;
    dialog.addEventListener("close", function () { dialog.remove(); });
    dialog.showModal();
    var cancel = dialog.querySelector("[data-dialog-close]");
    if (cancel) cancel.focus();
  });
  document.addEventListener("click", function (e) {
    var close = e.target.closest("dialog [data-dialog-close]");
    if (!close) return;
    e.preventDefault();
    close.closest("dialog").close();
  });
})();
