// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // "/" focuses the top search from anywhere except a text field; Escape closes the results.
  document.addEventListener("keydown", function (e) {
    var q = document.getElementById("topsearch-q");
    if (!q) return;
    var tag = (e.target.tagName || "").toLowerCase();
    if (e.key === "/" && tag !== "input" && tag !== "textarea" && tag !== "select") {
      e.preventDefault(); q.focus(); q.select();
    } else if (e.key === "Escape" && e.target === q) {
      document.getElementById("topsearch-results").innerHTML = "";
    } else if (e.key === "ArrowDown" && e.target === q) {
      var first = document.querySelector("#topsearch-results a");
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
  document.addEventListener("click", function (e) {
    var box = document.querySelector(".topsearch");
    if (box && !box.contains(e.target)) {
      var r = document.getElementById("topsearch-results"); if (r) r.innerHTML = "";
    }
    var printer = e.target.closest("[data-print]");
    if (printer && document.body.classList.contains("print-preview")) { e.preventDefault(); window.print(); }
    var opener = e.target.closest("[data-open]");
    if (opener) {
      var target = document.getElementById(opener.getAttribute("data-open"));
      if (target && target.tagName.toLowerCase() === "details") {
        e.preventDefault(); target.open = true; target.scrollIntoView({behavior: "smooth"});
        var first = target.querySelector("textarea, input[type=text]"); if (first) first.focus({preventScroll: true});
      }
    }
  });

  function initCustomerForm(form) {
    // Show the company or the person sections for the chosen kind.
    function syncKind() {
      var checked = form.querySelector("input[name=kind]:checked");
      var kind = checked ? checked.value : "person";
      form.classList.toggle("is-company", kind === "company");
      form.classList.toggle("is-person", kind !== "company");
    }
    form.addEventListener("change", function (e) { if (e.target.name === "kind") syncKind(); });
    syncKind();

    // Postal code → prefecture, city, town (offline data on the server); only fills empty fields.
    var postal = form.querySelector("[data-postal]");
    var status = form.querySelector(".postal-status");
    if (!postal) return;
    postal.addEventListener("change", function () {
      var value = postal.value.trim();
      if (!value) { status.textContent = ""; return; }
      fetch(form.getAttribute("data-postal-url") + "?code=" + encodeURIComponent(value), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!data.ok) { status.textContent = data.error || ""; return; }
          postal.value = data.code;
          ["prefecture", "city", "town"].forEach(function (name) {
            var input = form.querySelector("[name=" + name + "]");
            if (input && !input.value) input.value = data[name];
          });
          status.textContent = data.prefecture + data.city + data.town;
        })
        .catch(function () { status.textContent = ""; });
    });
  }
  // Forms that destroy or move data ask first.
  document.addEventListener("submit", function (e) {
    var form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.customer-form").forEach(initCustomerForm);
    if (document.body.classList.contains("print-preview") && new URLSearchParams(location.search).get("autoprint") === "1") window.print();
  });
})();
