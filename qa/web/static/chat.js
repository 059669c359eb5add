/* 报告问答 chat page helpers: the 查看原文 overlay. Loaded by / and /embed/ only. */
(function () {
  "use strict";
  if (window.__qaChat) return;
  window.__qaChat = true;

  var lastFocus = null;

  function onKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  }

  function close() {
    var overlay = document.getElementById("qa-source-overlay");
    if (!overlay) return;
    overlay.remove();
    document.removeEventListener("keydown", onKey, true);
    if (lastFocus && lastFocus.focus) lastFocus.focus();
  }

  function open(href, label) {
    close();
    lastFocus = document.activeElement;
    var overlay = document.createElement("div");
    overlay.id = "qa-source-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "原文");
    var panel = document.createElement("div");
    panel.className = "qa-source-panel";
    var bar = document.createElement("div");
    bar.className = "qa-source-bar";
    var title = document.createElement("span");
    title.className = "qa-source-title";
    title.textContent = "原文 · " + (label || "");
    var shut = document.createElement("button");
    shut.type = "button";
    shut.className = "qa-source-close";
    shut.textContent = "关闭";
    shut.addEventListener("click", close);
    var frame = document.createElement("iframe");
    frame.className = "qa-source-frame";
    frame.title = "原文";
    frame.src = href;
    bar.appendChild(title);
    bar.appendChild(shut);
    panel.appendChild(bar);
    panel.appendChild(frame);
    overlay.appendChild(panel);
    overlay.addEventListener("click", function (event) {
      if (event.target === overlay) close();
    });
    document.body.appendChild(overlay);
    document.addEventListener("keydown", onKey, true);
    shut.focus();
  }

  document.addEventListener(
    "click",
    function (event) {
      var link = event.target && event.target.closest && event.target.closest("a.qa-open-source");
      if (!link) return;
      // Ctrl/Cmd/Shift-click and middle-click still open the page in a new tab.
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      event.stopPropagation();
      var cite = link.closest(".qa-cite");
      var doc = cite && cite.querySelector(".qa-doc");
      open(link.getAttribute("href"), doc ? doc.textContent : "");
    },
    true
  );
})();
