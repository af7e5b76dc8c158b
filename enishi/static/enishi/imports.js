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

})();
