/* Banso chat widget: one tag on any allowed site
 *   <script src="https://banso.example/static/support/widget.js" data-banso="https://banso.example" async></script>
 * A launcher button and a chat panel (inside a shadow root, so the host page's styles do not leak in). The
 * chatbot answers first from the FAQ; "解決しました" ends the chat, "担当者と話す" hands it to a person whose
 * replies arrive live over the websocket, or by polling when websockets are not available. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-banso]");
  if (!script || window.__bansoWidget) return;
  window.__bansoWidget = true;
  var base = (script.getAttribute("data-banso") || new URL(script.src).origin).replace(/\/+$/, "");
  var storeKey = "banso-chat:" + base;
  var T = {
    launcher: "チャットで質問する",
    title: "お問い合わせチャット",
    placeholder: "ご質問を入力してください",
    send: "送信",
    resolved: "解決しました",
    person: "担当者と話す",
    close: "閉じる",
    welcome: "ご質問をどうぞ。よくある質問からお答えします。",
    failed: "送信できませんでした。もう一度お試しください。",
    ended: "このチャットは終了しました。",
    newChat: "新しいチャットを始める",
    article: "記事を読む"
  };

  var state = { token: null, seen: {}, last: 0, ws: null, wsTries: 0, pollTimer: null, outcome: "open", handedOff: false };

  var host = document.createElement("div");
  host.id = "banso-chat";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;background:#1f6feb;color:#fff;border:0;" +
    "border-radius:24px;padding:12px 18px;font:14px/1.4 sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}" +
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);" +
    "height:480px;max-height:calc(100vh - 100px);display:none;flex-direction:column;background:#fff;color:#222;" +
    "border-radius:10px;box-shadow:0 4px 20px rgba(0,0,0,.3);font:14px/1.5 sans-serif;overflow:hidden}" +
    ".panel.open{display:flex}" +
    "header{background:#1f6feb;color:#fff;padding:10px 12px;display:flex;justify-content:space-between;align-items:center}" +
    "header button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:10px;background:#f6f8fa}" +
    ".turn{margin:6px 0;padding:8px 10px;border-radius:8px;max-width:85%;white-space:pre-wrap;word-break:break-word}" +
    ".visitor{margin-left:auto;background:#dbeafe}" +
    ".bot,.agent,.welcome{background:#fff;border:1px solid #e1e4e8}" +
    ".system{background:none;color:#57606a;font-size:12px;text-align:center;max-width:100%}" +
    ".name{display:block;font-size:11px;color:#57606a}" +
    ".art{display:block;margin-top:6px;padding-top:6px;border-top:1px solid #eee}" +
    ".art a{color:#1f6feb;font-weight:bold}" +
    ".art p{margin:4px 0 0;color:#444;font-size:13px}" +
    ".actions{display:flex;gap:6px;padding:6px 10px;border-top:1px solid #eee}" +
    ".actions button{flex:1;padding:6px;border:1px solid #1f6feb;background:#fff;color:#1f6feb;border-radius:6px;cursor:pointer}" +
    "form{display:flex;gap:6px;padding:8px 10px;border-top:1px solid #eee}" +
    "textarea{flex:1;resize:none;height:40px;font:inherit;padding:6px;border:1px solid #ccc;border-radius:6px}" +
    "form button{background:#1f6feb;color:#fff;border:0;border-radius:6px;padding:0 12px;cursor:pointer}" +
    ".err{color:#cf222e;font-size:12px;padding:0 10px}" +
    "</style>" +
    '<button class="launch" type="button" part="launcher"></button>' +
    '<section class="panel" role="dialog">' +
    '<header><strong class="title"></strong><button type="button" class="close">×</button></header>' +
    '<div class="log" aria-live="polite"></div>' +
    '<div class="actions"><button type="button" class="resolve"></button><button type="button" class="person"></button></div>' +
    '<div class="err" role="alert"></div>' +
    '<form><textarea name="text"></textarea><button type="submit"></button></form>' +
    "</section>";

  function $(sel) { return root.querySelector(sel); }
  var launcher = $(".launch"), panel = $(".panel"), log = $(".log"), form = $("form"), input = $("textarea");
  var errBox = $(".err"), actions = $(".actions");
  launcher.textContent = T.launcher;
  $(".title").textContent = T.title;
  $(".close").setAttribute("aria-label", T.close);
  $(".resolve").textContent = T.resolved;
  $(".person").textContent = T.person;
  input.placeholder = T.placeholder;
  input.setAttribute("aria-label", T.placeholder);
  form.querySelector("button").textContent = T.send;
  panel.setAttribute("aria-label", T.title);

  function api(path, method, body) {
    var options = { method: method || "GET", headers: {}, mode: "cors", credentials: "omit" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(base + "/support/widget/sessions" + path, options).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw data.error || { message: T.failed };
        return data;
      });
    });
  }

  function render(entry) {
    if (state.seen[entry.seq]) return;
    state.seen[entry.seq] = true;
    if (entry.seq > state.last) state.last = entry.seq;
    var div = document.createElement("div");
    div.className = "turn " + entry.role;
    div.setAttribute("data-role", entry.role);
    div.setAttribute("data-seq", entry.seq);
    if (entry.name && entry.role !== "visitor") {
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = entry.name;
      div.appendChild(name);
    }
    div.appendChild(document.createTextNode(entry.text));
    if (entry.article && entry.article.title) {
      var art = document.createElement("span");
      art.className = "art";
      var a = document.createElement("a");
      a.href = entry.article.url && entry.article.url.charAt(0) === "/" ? base + entry.article.url : entry.article.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = entry.article.title;
      art.appendChild(a);
      if (entry.article.snippet) {
        var p = document.createElement("p");
        p.textContent = entry.article.snippet;
        art.appendChild(p);
      }
      div.appendChild(art);
    }
    // Keep seq order even when a live event and a poll answer cross.
    var after = null;
    var nodes = log.querySelectorAll(".turn");
    for (var i = 0; i < nodes.length; i++) {
      if (+nodes[i].getAttribute("data-seq") > entry.seq) { after = nodes[i]; break; }
    }
    log.insertBefore(div, after);
    log.scrollTop = log.scrollHeight;
  }

  function apply(data) {
    (data.entries || []).forEach(render);
    if (data.outcome) state.outcome = data.outcome;
    if (data.handed_off || data.inquiry) state.handedOff = true;
    if (data.ended || state.outcome === "self_resolved" || state.outcome === "abandoned") {
      form.style.display = "none";
      actions.style.display = "none";
    } else {
      actions.style.display = state.handedOff ? "none" : "flex";
    }
  }

  function showError(e) { errBox.textContent = (e && e.message) || T.failed; }

  function poll() {
    clearTimeout(state.pollTimer);
    if (!state.token) return;
    api("/" + state.token + "/messages?after=" + state.last).then(apply, function () {}).then(function () {
      if (!state.ws || state.ws.readyState !== 1) state.pollTimer = setTimeout(poll, 2000);
    });
  }

  function connect() {
    if (!window.WebSocket || !state.token) return poll();
    var url = base.replace(/^http/, "ws") + "/ws/support/widget/" + state.token + "/?after=" + state.last;
    var ws;
    try { ws = new WebSocket(url); } catch (e) { return poll(); }
    state.ws = ws;
    ws.onopen = function () { state.wsTries = 0; clearTimeout(state.pollTimer); };
    ws.onmessage = function (ev) {
      var data = JSON.parse(ev.data);
      if (data.kind === "error") showError(data);
      else apply(data);
    };
    ws.onclose = function () {
      state.ws = null;
      poll();  // keep the conversation going by polling while the socket is down
      var wait = Math.min(30000, 1000 * Math.pow(2, state.wsTries++));
      setTimeout(connect, wait);
    };
  }

  function begin() {
    var saved = null;
    try { saved = sessionStorage.getItem(storeKey); } catch (e) { saved = null; }
    var ready = saved
      ? api("/" + saved + "/messages?after=0").then(function (d) { state.token = saved; return d; })
      : Promise.reject();
    return ready.catch(function () {
      return api("", "POST", { page: location.href }).then(function (d) {
        state.token = d.token;
        try { sessionStorage.setItem(storeKey, d.token); } catch (e) { /* private mode */ }
        return d;
      });
    }).then(function (d) {
      if (!d.entries || !d.entries.length) {
        render({ seq: 0, role: "welcome", text: T.welcome });
      }
      apply(d);
      connect();
    });
  }

  function send(kind, text) {
    errBox.textContent = "";
    if (state.ws && state.ws.readyState === 1) {
      state.ws.send(JSON.stringify(kind === "message" ? { type: "message", text: text } : { type: kind }));
      return Promise.resolve();
    }
    var path = kind === "message" ? "/messages" : kind === "resolve" ? "/resolve" : "/handoff";
    return api("/" + state.token + path + "?after=" + state.last, "POST", kind === "message" ? { text: text } : {})
      .then(apply, showError);
  }

  var started = null;
  launcher.addEventListener("click", function () {
    panel.classList.toggle("open");
    if (panel.classList.contains("open")) {
      if (!started) started = begin().catch(function (e) { started = null; showError(e); });
      input.focus();
    }
  });
  $(".close").addEventListener("click", function () { panel.classList.remove("open"); });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (!started) started = begin();
    input.value = "";
    // The session may still be starting (the visitor typed fast): send once it exists.
    started.then(function () { return send("message", text); }).catch(function (e) {
      input.value = text;
      showError(e);
    });
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });
  $(".resolve").addEventListener("click", function () { if (started) started.then(function () { send("resolve"); }); });
  $(".person").addEventListener("click", function () { if (started) started.then(function () { send("handoff"); }); });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
