// The @mention picker of comment forms: typing "@" and a few letters asks the server (an htmx-style
// fragment) for people who can see the record; choosing one writes "@username " into the text.
(function () {
  "use strict";
  function tokenBeforeCaret(area) {
    var upto = area.value.slice(0, area.selectionStart);
    // After "@": a username or part of a name (Chinese names too), up to the caret.
    var match = /(^|[\s(（，,。：:])[@＠]([^\s@＠]{0,50})$/.exec(upto);
    return match ? { query: match[2], start: upto.length - match[2].length - 1 } : null;
  }
  function setUp(form) {
    var area = form.querySelector("textarea[data-mention-input]");
    var picker = form.querySelector("[data-mention-picker]");
    var url = form.getAttribute("data-mention-url");
    if (!area || !picker || !url) return;
    var timer = null;
    var seq = 0;
    function close() { picker.hidden = true; picker.textContent = ""; }
    function lookUp() {
      var token = tokenBeforeCaret(area);
      if (!token) { close(); return; }
      var mine = ++seq;
      fetch(url + "?q=" + encodeURIComponent(token.query), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (mine !== seq) return;
          var doc = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html");
          picker.textContent = "";
          doc.querySelectorAll("li").forEach(function (li) { picker.appendChild(document.importNode(li, true)); });
          picker.hidden = picker.children.length === 0;
        });
    }
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookUp, 200); });
    area.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    picker.addEventListener("click", function (e) {
      var button = e.target.closest("[data-username]");
      if (!button) return;
      var token = tokenBeforeCaret(area);
      var caret = area.selectionStart;
      var start = token ? token.start : caret;
      var insert = "@" + button.getAttribute("data-username") + " ";
      area.value = area.value.slice(0, start) + insert + area.value.slice(caret);
      area.focus();
      area.selectionStart = area.selectionEnd = start + insert.length;
      close();
    });
  }
  function init() { document.querySelectorAll("form[data-mention-url]").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
