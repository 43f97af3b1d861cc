// The deal board: drag a card to another column (or use its "move to" select) to move the deal.
// The move is a POST to the deal's move URL with its version; when the stage gate asks for
// fields, the server sends a small form, shown in place; a conflict is said in words.
(function () {
  "use strict";
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  function el(id) { return document.getElementById(id); }
  function say(text) {
    var box = el("board-message");
    if (!box) { return; }
    box.textContent = text || "";
    box.hidden = !text;
  }
  function closeGate() {
    var gate = el("board-gate");
    if (gate) { gate.innerHTML = ""; gate.hidden = true; }
  }
  function refresh() {
    if (window.htmx) {
      window.htmx.ajax("GET", window.location.href, { target: "#board", select: "#board", swap: "outerHTML" });
    } else {
      window.location.reload();
    }
  }
  function send(url, body) {
    say("");
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) { closeGate(); refresh(); return; }
        var gate = el("board-gate");
        if (data.code === "stale") { closeGate(); say(data.message); refresh(); return; }
        if (data.form && gate) {
          gate.innerHTML = data.form;
          gate.hidden = false;
          var first = gate.querySelector("input:not([type=hidden]), select, textarea");
          if (first) { first.focus(); }
          return;
        }
        say(data.message || response.statusText);
      });
    }).catch(function () { say(document.documentElement.lang.indexOf("zh") === 0 ? "网络错误，请重试。" : "Network error: try again."); });
  }
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    document.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-col");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-col");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-col");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.remove("drop-target");
    if (column.dataset.stage === dragged.dataset.stage) { return; }
    var body = new FormData();
    body.append("stage", column.dataset.stage);
    body.append("version", dragged.dataset.version);
    send(dragged.dataset.moveUrl, body);
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("#board .card-move, #board .gate-form")) { return; }
    event.preventDefault();
    send(form.action, new FormData(form));
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-gate-cancel]")) { closeGate(); }
  });
})();
