/*!
 * 报告问答 widget — a floating 问答 button that opens the chat in a panel.
 *
 *   <script src="https://qa.example.com/widget.js" defer></script>
 *
 * Optional attributes on that tag: data-label (button text, default 问答),
 * data-title (panel title, default 报告问答), data-position="left" (default right),
 * data-report (a report id from /api/reports: the chat asks only that report).
 * The page's origin must be in the server's --allowed-origins list, or the browser
 * refuses to show the chat inside the panel. No dependencies, nothing loaded from
 * anywhere but the server this script came from.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__qaWidget) return;
  window.__qaWidget = true;

  var base = new URL(script.src, window.location.href);
  var report = script.getAttribute("data-report") || "";
  var embedUrl = base.origin + "/embed/" + (report ? "?report=" + encodeURIComponent(report) : "");
  var label = script.getAttribute("data-label") || "问答";
  var title = script.getAttribute("data-title") || "报告问答";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";

  var css =
    ":host{all:initial}" +
    ".launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;" +
    "display:flex;align-items:center;gap:6px;padding:12px 18px;border:0;border-radius:999px;" +
    "background:#2563eb;color:#fff;font:600 16px/1 'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;" +
    "box-shadow:0 6px 20px rgba(37,99,235,.4);cursor:pointer}" +
    ".launcher:hover{background:#1d4ed8}" +
    ".launcher:focus-visible,.close:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}" +
    ".panel{position:fixed;bottom:84px;" + side + ":20px;z-index:2147483000;" +
    "width:min(400px,calc(100vw - 24px));height:min(640px,calc(100vh - 110px));" +
    "display:flex;flex-direction:column;background:#fff;border-radius:12px;overflow:hidden;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.3)}" +
    ".panel[hidden]{display:none}" +
    ".bar{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;" +
    "background:#2563eb;color:#fff;font:600 15px/1.2 'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif}" +
    ".close{border:0;background:transparent;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:0 4px}" +
    "iframe{flex:1;width:100%;border:0;background:#fff}" +
    "@media (max-width:480px){.panel{" + side + ":0;bottom:0;width:100vw;height:100vh;border-radius:0}}";

  function mount() {
    var host = document.createElement("div");
    host.id = "qa-widget";
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = document.createElement("style");
    style.textContent = css;

    var panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "qa-widget-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);

    var bar = document.createElement("div");
    bar.className = "bar";
    var heading = document.createElement("span");
    heading.textContent = title;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.setAttribute("aria-label", "关闭");
    close.textContent = "×";
    bar.appendChild(heading);
    bar.appendChild(close);
    panel.appendChild(bar);

    var launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    launcher.textContent = label;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "qa-widget-panel");

    var frame = null;
    function setOpen(open) {
      if (open && !frame) {
        // Created on first open so a page that never uses the chat never loads it.
        frame = document.createElement("iframe");
        frame.title = title;
        frame.src = embedUrl;
        panel.appendChild(frame);
      }
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open && frame) frame.focus();
      if (!open) launcher.focus();
    }
    launcher.addEventListener("click", function () {
      setOpen(panel.hidden);
    });
    close.addEventListener("click", function () {
      setOpen(false);
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") setOpen(false);
    });

    root.appendChild(style);
    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(host);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
