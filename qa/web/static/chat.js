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

/* Feedback: 👍/👎 under every answer. On 👎 the reader may select the right text in a shown
 * paragraph (mapped back to report offsets with the citation's paragraph and its
 * context_start, from the hidden .qa-cite-data) and send it as a correction, or say 报告里没有这个答案. Posts to
 * /api/feedback and says thank you, or the error. */
(function () {
  "use strict";
  if (window.__qaFeedback) return;
  window.__qaFeedback = true;

  var lastPick = null; // {cite, start, end}: the last selection inside a shown paragraph

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function isSpace(ch) { return /\s/.test(ch); }

  // The JSON render.py puts in a hidden span of a reply or a citation (Gradio's sanitizer
  // keeps no data-* attribute).
  function data(node, cls) {
    var span = node && node.querySelector(":scope > ." + cls);
    try { return span ? JSON.parse(span.textContent) : null; } catch (e) { return null; }
  }

  // Index of a DOM point (node, offset) in the textContent of `root`.
  function textOffset(root, node, offset) {
    var range = document.createRange();
    range.selectNodeContents(root);
    range.setEnd(node, offset);
    return range.toString().length;
  }

  // shown[i] → index in raw, for every character of the shown paragraph that is one of
  // the raw paragraph's (folding only drops or replaces whitespace around line breaks, and
  // the compact view clips with …). Aligned outwards from the mark, whose start is known.
  function alignment(shown, raw, shownMark, rawMark) {
    var map = new Array(shown.length).fill(-1);
    var i = shownMark, j = rawMark;
    while (i < shown.length && j < raw.length) {
      if (shown[i] === raw[j]) { map[i++] = j++; continue; }
      if (isSpace(raw[j])) { j++; continue; }
      if (isSpace(shown[i])) { i++; continue; }
      break;
    }
    i = shownMark - 1; j = rawMark - 1;
    while (i >= 0 && j >= 0) {
      if (shown[i] === raw[j]) { map[i--] = j--; continue; }
      if (isSpace(raw[j])) { j--; continue; }
      if (isSpace(shown[i])) { i--; continue; }
      break;
    }
    return map;
  }

  function codePoints(text) { return Array.from(text).length; }

  // The report offsets of the selected text of one citation's paragraph, or null.
  function pick(cite, range) {
    var box = cite.querySelector(".qa-context");
    var mark = box && box.querySelector("mark");
    var info = data(cite, "qa-cite-data");
    var raw = (info && info.context) || "";
    if (!box || !mark || !raw) return null;
    var shown = box.textContent;
    var rel = codePointsToUnits(raw, info.start - info.context_start);
    var map = alignment(shown, raw, textOffset(box, mark, 0), rel);
    var a = box.contains(range.startContainer) ? textOffset(box, range.startContainer, range.startOffset) : 0;
    var b = box.contains(range.endContainer) ? textOffset(box, range.endContainer, range.endOffset) : shown.length;
    var first = -1, last = -1;
    for (var k = a; k < b; k++) {
      if (map[k] < 0) continue;
      if (first < 0) first = map[k];
      last = map[k];
    }
    if (first < 0) return null;
    var base = info.context_start;
    return { cite: cite, doc: info.doc,
             start: base + codePoints(raw.slice(0, first)),
             end: base + codePoints(raw.slice(0, last + 1)),
             text: raw.slice(first, last + 1) };
  }

  // A code-point offset into `text` as a UTF-16 index (they differ past an astral char).
  function codePointsToUnits(text, n) {
    var units = 0, seen = 0;
    for (var ch of text) { if (seen++ >= n) break; units += ch.length; }
    return units;
  }

  document.addEventListener("selectionchange", function () {
    var sel = window.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return;
    var range = sel.getRangeAt(0);
    var start = range.startContainer.nodeType === 1 ? range.startContainer : range.startContainer.parentNode;
    var cite = start && start.closest && start.closest(".qa-cite");
    if (!cite || !cite.closest(".qa-reply")) return;
    var got = pick(cite, range);
    if (got) lastPick = got;
  });

  function send(reply, body, status) {
    status.textContent = "正在提交…";
    status.className = "qa-fb-status";
    return fetch("/api/feedback", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || String(r.status));
        reply.setAttribute("data-fb-sent", String(data.id));
        var voted = reply.querySelectorAll(".qa-fb-up, .qa-fb-down");
        for (var i = 0; i < voted.length; i++) voted[i].disabled = true;
        status.textContent = "谢谢反馈！";
        return data;
      });
    }).catch(function (err) {
      status.textContent = "反馈未能提交：" + err.message;
      status.className = "qa-fb-status qa-fb-error";
    });
  }

  function base(reply, vote) {
    var info = data(reply, "qa-reply-data") || {};
    var body = { question: info.question || "", vote: vote };
    var cite = data(reply.querySelector(".qa-cite"), "qa-cite-data");
    if (info.answer) body.answer = info.answer;
    if (info.found && cite) body.citation = { doc: cite.doc, start: cite.start, end: cite.end };
    return body;
  }

  function button(cls, text, label, onClick) {
    var b = el("button", cls, text);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("mousedown", function (e) { e.preventDefault(); }); // keep the selection
    b.addEventListener("click", onClick);
    return b;
  }

  function downPanel(reply, status) {
    var panel = el("div", "qa-fb-panel");
    panel.appendChild(el("span", "qa-fb-hint", "可在上方段落中选中正确的文字，再点「提交所选文字」。"));
    panel.appendChild(button("qa-fb-fix", "提交所选文字", "", function () {
      if (!lastPick || lastPick.cite.closest(".qa-reply") !== reply) {
        status.textContent = "请先在本条回答的段落中选中正确的文字。";
        status.className = "qa-fb-status qa-fb-error";
        return;
      }
      var body = base(reply, "down");
      body.correction = { doc: lastPick.doc, start: lastPick.start, end: lastPick.end };
      send(reply, body, status).then(function (d) { if (d) panel.remove(); });
    }));
    panel.appendChild(button("qa-fb-none", "报告里没有这个答案", "", function () {
      var body = base(reply, "down");
      body.not_in_report = true;
      send(reply, body, status).then(function (d) { if (d) panel.remove(); });
    }));
    panel.appendChild(button("qa-fb-skip", "只提交「不对」", "", function () {
      send(reply, base(reply, "down"), status).then(function (d) { if (d) panel.remove(); });
    }));
    return panel;
  }

  function attach(reply) {
    var info = data(reply, "qa-reply-data");
    if (!info || reply.querySelector(".qa-fb")) return;
    var found = !!info.found;
    var bar = el("div", "qa-fb");
    var status = el("span", "qa-fb-status");
    status.setAttribute("role", "status");
    var up = button("qa-fb-up", "👍 对", "回答正确", function () {
      var body = base(reply, "up");
      if (!found) body.not_in_report = true; // agreeing that the report does not say
      send(reply, body, status);
    });
    var down = button("qa-fb-down", "👎 不对", "回答不对", function () {
      if (bar.querySelector(".qa-fb-panel")) return;
      bar.appendChild(downPanel(reply, status));
    });
    bar.appendChild(up);
    bar.appendChild(down);
    bar.appendChild(status);
    reply.appendChild(bar);
  }

  window.setInterval(function () {
    var replies = document.querySelectorAll(".qa-reply");
    for (var i = 0; i < replies.length; i++) attach(replies[i]);
  }, 400);
})();

/* Suggested questions: chips under the chat, from /api/suggestions (of the report the
 * chat asks, when one is chosen), shown when the chat is empty and after an answer that
 * found nothing; a click asks the question. */
(function () {
  "use strict";
  if (window.__qaSuggest) return;
  window.__qaSuggest = true;

  var made = {}; // scope → list of suggestions (null while loading)

  function scope() {
    var input = document.querySelector("#qa-scope textarea, #qa-scope input");
    return input ? input.value : "";
  }

  function load(id) {
    made[id] = null;
    fetch("/api/suggestions" + (id ? "?report=" + encodeURIComponent(id) : ""),
          { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
      .then(function (data) { made[id] = data.suggestions || []; render(); })
      .catch(function () { made[id] = []; });
  }

  function askNow(question) {
    var box = document.querySelector("#qa-question textarea");
    var send = document.getElementById("qa-send");
    if (!box || !send) return;
    box.value = question;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    window.setTimeout(function () { send.click(); }, 50);
  }

  // Empty chat: offer them; after an answer that found nothing: offer them again.
  function wanted() {
    var replies = document.querySelectorAll("#qa-chat .qa-reply");
    if (!replies.length) return "可以这样问：";
    var last = replies[replies.length - 1];
    return last.querySelector(".qa-notfound") ? "报告里能找到答案的问题，例如：" : "";
  }

  function render() {
    var row = document.getElementById("qa-suggest");
    if (!row) return;
    var id = scope(), list = made[id], label = wanted();
    var key = id + "|" + label + "|" + (list ? list.length : -1);
    if (row.getAttribute("data-key") === key) return;
    row.setAttribute("data-key", key);
    row.textContent = "";
    row.hidden = !label || !list || !list.length;
    if (row.hidden) return;
    var title = document.createElement("span");
    title.className = "qa-suggest-label";
    title.textContent = label;
    row.appendChild(title);
    list.forEach(function (s) {
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "qa-suggest-chip";
      chip.textContent = s.question;
      chip.title = s.section || "";
      chip.addEventListener("click", function () { askNow(s.question); });
      row.appendChild(chip);
    });
  }

  window.setInterval(function () {
    var chat = document.getElementById("qa-chat");
    if (!chat) return;
    if (!document.getElementById("qa-suggest")) {
      var row = document.createElement("div");
      row.id = "qa-suggest";
      row.className = "qa-suggest";
      row.setAttribute("aria-label", "建议的问题");
      row.hidden = true;
      chat.parentNode.insertBefore(row, chat.nextSibling);
    }
    if (!(scope() in made)) load(scope());
    render();
  }, 400);
})();
