// The deal board: drag and drop between stages, and the cards' move forms without a reload.
// Every card's form also works without this file (a plain POST), so does the lost-reason page.
(function () {
  "use strict";

  var MINOR_UNITS = {JPY: 0, KRW: 0};

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function money(currency, amount) {
    var places = currency in MINOR_UNITS ? MINOR_UNITS[currency] : 2;
    var text = amount.toLocaleString("en-US", {minimumFractionDigits: places, maximumFractionDigits: places});
    return currency === "JPY" ? "¥" + text : currency + " " + text;
  }

  function initBoard(board) {
    var status = document.getElementById("board-status");
    var dialog = document.getElementById("lost-dialog");
    var dragged = null;

    function say(text, kind) {
      status.textContent = text || "";
      status.className = "board-status" + (kind ? " " + kind : "");
    }

    function columnOf(stageId) {
      return board.querySelector('.board-column[data-stage="' + stageId + '"]');
    }

    function sortKey(card) {
      return [card.getAttribute("data-close") || "9999-99-99", Number(card.getAttribute("data-deal"))];
    }

    function place(card, column) {
      var list = column.querySelector("ol.cards");
      var key = sortKey(card);
      var before = null;
      list.querySelectorAll(".deal-card").forEach(function (other) {
        if (before || other === card) return;
        var k = sortKey(other);
        if (k[0] > key[0] || (k[0] === key[0] && k[1] > key[1])) before = other;
      });
      list.insertBefore(card, before);
    }

    function retotal(column, card, sign) {
      if (!column) return;
      var count = column.querySelector("[data-count]");
      var n = Number(count.getAttribute("data-count")) + sign;
      count.setAttribute("data-count", String(n));
      count.textContent = String(n);
      var sums = {};
      try { sums = JSON.parse(column.getAttribute("data-sums") || "{}"); } catch (e) { sums = {}; }
      var currency = card.getAttribute("data-currency");
      var value = (parseFloat(sums[currency] || "0") || 0) + sign * (parseFloat(card.getAttribute("data-amount")) || 0);
      sums[currency] = String(value);
      column.setAttribute("data-sums", JSON.stringify(sums));
      var shown = Object.keys(sums).filter(function (c) { return Math.abs(parseFloat(sums[c])) > 0.0001; })
        .sort(function (a, b) { return (a !== "JPY") - (b !== "JPY") || (a < b ? -1 : 1); });
      var box = column.querySelector(".column-sum");
      box.textContent = "";
      (shown.length ? shown : ["JPY"]).forEach(function (c) {
        var span = document.createElement("span");
        span.textContent = money(c, parseFloat(sums[c] || "0"));
        box.appendChild(span);
      });
    }

    function replaceCard(card, html, focusClass) {
      var template = document.createElement("template");
      template.innerHTML = html.trim();
      var fresh = template.content.firstElementChild;
      var from = card.closest(".board-column");
      var to = columnOf(fresh.getAttribute("data-stage"));
      if (from !== to) {
        retotal(from, card, -1);
        retotal(to, fresh, +1);
      }
      card.remove();
      if (to) place(fresh, to);
      if (focusClass) {
        var target = fresh.querySelector("." + focusClass) || fresh.querySelector("select");
        if (target) target.focus();
      }
      return fresh;
    }

    function move(card, stageId, lostReason, focusClass) {
      var form = card.querySelector("form.move-form");
      if (!form) return;
      var data = new FormData();
      data.append("stage", stageId);
      data.append("version", card.getAttribute("data-version"));
      if (lostReason !== undefined) data.append("lost_reason", lostReason);
      card.classList.add("moving");
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}
      })
        .then(function (response) {
          return response.json().then(function (body) { return {status: response.status, body: body}; });
        })
        .then(function (answer) {
          var body = answer.body;
          card.classList.remove("moving");
          if (body.needs_reason) { askReason(card, stageId, focusClass); return; }
          if (body.card) replaceCard(card, body.card, focusClass);
          say(body.message, body.ok ? "ok" : "error");
        })
        .catch(function () {
          card.classList.remove("moving");
          say(board.getAttribute("data-msg-failed"), "error");
        });
    }

    function askReason(card, stageId, focusClass) {
      if (!dialog) return;
      var input = dialog.querySelector("textarea");
      dialog.querySelector(".lost-deal-title").textContent = card.querySelector(".card-title").textContent;
      input.value = "";
      dialog.returnValue = "";
      dialog.onclose = function () {
        dialog.onclose = null;
        if (dialog.returnValue === "move" && input.value.trim()) {
          move(card, stageId, input.value.trim(), focusClass);
        } else {
          var back = card.querySelector(focusClass ? "." + focusClass : "select");
          if (back) back.focus();
        }
      };
      dialog.showModal();
      input.focus();
    }

    function request(card, stageId, focusClass) {
      if (!stageId || stageId === card.getAttribute("data-stage")) return;
      var column = columnOf(stageId);
      if (column && column.getAttribute("data-outcome") === "lost") askReason(card, stageId, focusClass);
      else move(card, stageId, undefined, focusClass);
    }

    // Keyboard and phone: the card's own form (← / → buttons, the "move to" select).
    board.addEventListener("submit", function (e) {
      var form = e.target.closest("form.move-form");
      if (!form) return;
      e.preventDefault();
      var card = form.closest(".deal-card");
      var button = e.submitter;
      var stageId = button && button.name === "to" ? button.value : form.elements.stage.value;
      if (!stageId) { say(board.getAttribute("data-msg-choose"), "error"); return; }
      var focusClass = "move-go";
      if (button && button.classList.contains("move-prev")) focusClass = "move-prev";
      if (button && button.classList.contains("move-next")) focusClass = "move-next";
      request(card, stageId, focusClass);
    });

    // Mouse: drag a card onto another column.
    board.addEventListener("dragstart", function (e) {
      var card = e.target.closest && e.target.closest(".deal-card[draggable=true]");
      if (!card) return;
      dragged = card;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
      card.classList.add("dragging");
    });
    board.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    });
    board.addEventListener("dragover", function (e) {
      var column = e.target.closest && e.target.closest(".board-column:not(.retired)");
      if (!column || !dragged) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      board.querySelectorAll(".drop-target").forEach(function (c) { if (c !== column) c.classList.remove("drop-target"); });
      column.classList.add("drop-target");
    });
    board.addEventListener("drop", function (e) {
      var column = e.target.closest && e.target.closest(".board-column:not(.retired)");
      if (!column || !dragged) return;
      e.preventDefault();
      column.classList.remove("drop-target");
      var card = dragged;
      request(card, column.getAttribute("data-stage"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var board = document.getElementById("board");
    if (board) initBoard(board);
  });
})();
