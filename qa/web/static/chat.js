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
      var doc = cite && (cite.querySelector(".qa-report") || cite.querySelector(".qa-doc"));
      var page = cite && cite.querySelector(".qa-page");
      open(link.getAttribute("href"), (doc ? doc.textContent : "") + (page ? " · " + page.textContent : ""));
    },
    true
  );
})();

/* The shelf: the reports listed with a search box, 只问这份报告 / 问全部报告, and (with the
 * admin token) upload and removal. Talks to /api/reports; the chosen report goes into the
 * hidden #qa-scope box that every question is sent with. In /embed/ only the scope set by
 * the widget's data-report (?report=…) is shown. */
(function () {
  "use strict";
  if (window.__qaShelf) return;
  window.__qaShelf = true;

  var embed = window.location.pathname.indexOf("/embed") === 0;
  var state = { reports: [], scope: "", writable: false, readOnly: "", building: false };
  var TOKEN_KEY = "qa-admin-token";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function scopeInput() {
    return document.querySelector("#qa-scope textarea, #qa-scope input");
  }

  function setScope(id) {
    state.scope = id || "";
    var input = scopeInput();
    if (input) {
      input.value = state.scope;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    render();
  }

  function token() {
    try { return window.sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  function saveToken(value) {
    try { window.sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* private mode */ }
  }

  function say(text, isError) {
    var box = document.getElementById("qa-shelf-status");
    if (!box) return;
    box.textContent = text || "";
    box.className = "qa-shelf-status" + (isError ? " qa-shelf-error" : "");
  }

  function load() {
    return fetch("/api/reports", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        state.reports = data.reports || [];
        state.writable = !!data.writable;
        state.readOnly = data.read_only || "";
        state.building = !!data.building;
        render();
        if (state.building || state.reports.some(function (e) { return !e.indexed; })) {
          state.waiting = true;
          window.setTimeout(load, 1000);
        } else if (state.waiting) {
          state.waiting = false;
          say(data.error ? "索引更新失败：" + data.error : "索引已更新，可以提问了。", !!data.error);
        }
      })
      .catch(function () { say("无法读取书架。", true); });
  }

  function titleOf(id) {
    var found = state.reports.filter(function (e) { return e.id === id; })[0];
    return found ? found.title || found.file : id;
  }

  function item(entry) {
    var li = el("li", "qa-shelf-item" + (entry.id === state.scope ? " qa-shelf-chosen" : ""));
    li.setAttribute("data-id", entry.id);
    var name = el("span", "qa-shelf-title", entry.title || entry.file);
    name.title = entry.file;
    var meta = el("span", "qa-shelf-meta",
      (entry.format || "").toUpperCase() + " · " + (entry.paragraphs || 0) + " 段" +
      (entry.indexed ? "" : " · 正在建立索引…"));
    var only = el("button", "qa-shelf-only", entry.id === state.scope ? "正在只问这份" : "只问这份报告");
    only.type = "button";
    only.disabled = !entry.indexed;
    only.addEventListener("click", function () { setScope(entry.id); });
    li.appendChild(name);
    li.appendChild(meta);
    li.appendChild(only);
    if (state.writable) {
      var drop = el("button", "qa-shelf-remove", "移除");
      drop.type = "button";
      drop.addEventListener("click", function () { remove(entry); });
      li.appendChild(drop);
    }
    return li;
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method,
      body: body,
      credentials: "same-origin",
      headers: { Authorization: "Bearer " + token() },
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
    });
  }

  function upload(file) {
    var form = new FormData();
    form.append("file", file, file.name);
    say("正在上传并转换 " + file.name + " …");
    send("POST", "/api/reports", form).then(function (r) {
      if (!r.ok) { say("上传失败：" + (r.data.error || r.status), true); return; }
      say("已加入书架：" + (r.data.title || r.data.file) + "（正在建立索引）");
      load();
    }).catch(function () { say("上传失败：网络错误", true); });
  }

  function remove(entry) {
    if (!window.confirm("从书架移除「" + (entry.title || entry.file) + "」？")) return;
    send("DELETE", "/api/reports/" + encodeURIComponent(entry.id)).then(function (r) {
      if (!r.ok) { say("移除失败：" + (r.data.error || r.status), true); return; }
      if (state.scope === entry.id) setScope("");
      say("已移除：" + (entry.title || entry.file));
      load();
    }).catch(function () { say("移除失败：网络错误", true); });
  }

  function adminRow() {
    var row = el("div", "qa-shelf-admin");
    if (!state.writable) {
      row.appendChild(el("span", "qa-shelf-readonly", "书架只读" + (state.readOnly ? "：" + state.readOnly : "")));
      return row;
    }
    var key = el("input", "qa-shelf-token");
    key.type = "password";
    key.placeholder = "管理口令";
    key.value = token();
    key.addEventListener("change", function () { saveToken(key.value); });
    var file = el("input", "qa-shelf-file");
    file.type = "file";
    file.accept = ".pdf,.docx,.html,.htm,.txt,.md";
    var add = el("button", "qa-shelf-upload", "上传报告");
    add.type = "button";
    add.addEventListener("click", function () {
      saveToken(key.value);
      if (file.files && file.files[0]) upload(file.files[0]);
      else say("请先选择一个文件。", true);
    });
    row.appendChild(key);
    row.appendChild(file);
    row.appendChild(add);
    return row;
  }

  function render() {
    var panel = document.getElementById("qa-shelf");
    if (!panel) return;
    var scope = panel.querySelector(".qa-shelf-scope");
    scope.textContent = state.scope ? "只问：" + titleOf(state.scope) : "问全部报告";
    panel.querySelector(".qa-shelf-all").hidden = !state.scope;
    panel.hidden = embed && !state.scope;
    if (embed) return;
    panel.querySelector(".qa-shelf-name").textContent = "书架（" + state.reports.length + " 份报告）";
    updateTitle();
    var query = (panel.querySelector(".qa-shelf-search").value || "").trim().toLowerCase();
    var list = panel.querySelector(".qa-shelf-list");
    list.textContent = "";
    state.reports.filter(function (e) {
      return !query || ((e.title || "") + " " + e.file).toLowerCase().indexOf(query) >= 0;
    }).forEach(function (e) { list.appendChild(item(e)); });
    var admin = panel.querySelector(".qa-shelf-admin");
    if (!admin || admin.getAttribute("data-writable") !== String(state.writable)) {
      var fresh = adminRow();
      fresh.setAttribute("data-writable", String(state.writable));
      if (admin) panel.replaceChild(fresh, admin); else panel.appendChild(fresh);
    }
  }

  /* The page title's "N 份报告 · M 个段落", rendered once by the server, follows the shelf:
     the reports the answering generation holds and their paragraphs. */
  function updateTitle() {
    var title = document.querySelector(".qa-title");
    if (!title) return;
    var held = state.reports.filter(function (e) { return e.indexed; });
    if (!held.length || held.some(function (e) { return typeof e.paragraphs !== "number"; })) return;
    var paragraphs = held.reduce(function (n, e) { return n + (e.paragraphs || 0); }, 0);
    var text = held.length + " 份报告 · " + paragraphs + " 个段落";
    var walker = document.createTreeWalker(title, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (/\d+ 份报告 · \d+ 个段落/.test(node.nodeValue)) {
        node.nodeValue = node.nodeValue.replace(/\d+ 份报告 · \d+ 个段落/, text);
        return;
      }
    }
  }

  function build() {
    var panel = el("section", "qa-shelf" + (embed ? " qa-shelf-embed" : ""));
    panel.id = "qa-shelf";
    panel.setAttribute("aria-label", "书架");
    var head = el("div", "qa-shelf-head");
    head.appendChild(el("strong", "qa-shelf-name", embed ? "" : "书架"));
    head.appendChild(el("span", "qa-shelf-scope", "问全部报告"));
    var all = el("button", "qa-shelf-all", "问全部报告");
    all.type = "button";
    all.hidden = true;
    all.addEventListener("click", function () { setScope(""); });
    head.appendChild(all);
    panel.appendChild(head);
    if (!embed) {
      var search = el("input", "qa-shelf-search");
      search.type = "search";
      search.placeholder = "搜索报告";
      search.addEventListener("input", render);
      panel.appendChild(search);
      panel.appendChild(el("ul", "qa-shelf-list"));
    }
    var status = el("div", "qa-shelf-status");
    status.id = "qa-shelf-status";
    status.setAttribute("role", "status");
    panel.appendChild(status);
    return panel;
  }

  function mount() {
    var chat = document.getElementById("qa-chat");
    if (!chat || document.getElementById("qa-shelf")) return !!chat;
    chat.parentNode.insertBefore(build(), chat);
    var wanted = new URLSearchParams(window.location.search).get("report") || "";
    load().then(function () { if (wanted) setScope(wanted); });
    return true;
  }

  // Gradio renders the page after this script runs (and may render it again): keep the
  // panel there, and the hidden box holding the chosen report.
  window.setInterval(function () {
    mount();
    var input = scopeInput();
    if (input && input.value !== state.scope) setScope(state.scope);
  }, 400);
})();
