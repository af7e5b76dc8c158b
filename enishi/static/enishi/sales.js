/* Orders and contracts: choosing a product fills in its name, price and tax rate where the
   person has not typed anything (the server does the same for empty fields, so the form works
   without this script too). */
(function () {
  "use strict";

  function products() {
    var node = document.getElementById("sales-products");
    if (!node) return {};
    var byId = {};
    JSON.parse(node.textContent).forEach(function (p) { byId[String(p.id)] = p; });
    return byId;
  }

  // Fill a field that is empty or still holds what this script put there before.
  function fill(input, value) {
    if (!input) return;
    if (input.value === "" || input.getAttribute("data-filled") === input.value) {
      input.value = value;
      input.setAttribute("data-filled", value);
    }
  }

  function fillLine(select) {
    var row = select.closest(".order-line");
    var product = products()[select.value];
    if (!row || !product) return;
    fill(row.querySelector("[name$='-description']"), product.name);
    fill(row.querySelector("[name$='-unit_price']"), product.price.replace(/\.00$/, ""));
    var rate = row.querySelector("select[name$='-tax_rate']");
    if (rate && (rate.value === "" || rate.getAttribute("data-filled") === rate.value)) {
      rate.value = String(product.rate);
      rate.setAttribute("data-filled", rate.value);
    }
  }

  function fillContract(select) {
    var form = select.closest("form");
    var product = products()[select.value];
    if (!form || !product) return;
    fill(form.querySelector("[name='plan']"), product.name);
    fill(form.querySelector("[name='amount']"), product.price);
  }

  document.addEventListener("change", function (e) {
    var select = e.target;
    if (!(select instanceof HTMLSelectElement)) return;
    if (/^line-\d+-product$/.test(select.name)) fillLine(select);
    else if (select.name === "product" && select.closest(".contract-form")) fillContract(select);
  });
})();
