// madoguchi progressive enhancement. Every flow works without this file; it only
// (1) changes calendar months without a full reload, moving focus to the new month's caption, and
// (2) warns before a held time runs out, and (3) keeps live screens (data-live) current.
(function () {
  "use strict";

  function enhanceCalendar(root) {
    root.addEventListener("click", function (ev) {
      var a = ev.target.closest("a[data-cal-link]");
      if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
      ev.preventDefault();
      fetch(a.href, { headers: { "X-Partial": "calendar" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          root.innerHTML = html;
          history.pushState({ calendar: a.href }, "", a.href);
          keepLanguageLink();
          var cap = root.querySelector("[data-cal-caption]");
          if (cap) cap.focus();
          var live = document.querySelector("[data-calendar-live]");
          if (live && cap) live.textContent = cap.textContent;
        })
        .catch(function () { window.location.href = a.href; });
    });
    window.addEventListener("popstate", function () { window.location.reload(); });
  }

  // The header's language link returns to the page's address; after a month change that is the
  // new month.
  function keepLanguageLink() {
    var lang = document.querySelector(".lang-switch a[href^='/lang']");
    if (!lang || !window.URL) return;
    var u = new URL(lang.href);
    u.searchParams.set("next", window.location.pathname + window.location.search);
    lang.href = u.pathname + u.search;
  }

  // The confirm page's held time: two minutes before it runs out the notice turns into a warning
  // (read out by screen readers: its text is a live status), and "keep this time longer" asks the
  // server for the full hold time again without leaving the page (WCAG 2.2.1). Without scripts
  // the same button posts the form and the page comes back with the new time.
  function holdWarning(el) {
    var text = el.querySelector("[data-hold-text]");
    var button = el.querySelector("[data-hold-extend]");
    var expires = parseInt(el.getAttribute("data-hold-expires"), 10) * 1000;
    var warned = false;
    var timer = setInterval(function () {
      var left = expires - Date.now();
      if (!warned && left < 2 * 60 * 1000 && left > 0) {
        warned = true;
        el.classList.add("warn");
        text.textContent = text.textContent + " " + el.getAttribute("data-hold-warn");
      }
    }, 5000);
    if (!button || !window.fetch || !window.FormData) return;
    button.addEventListener("click", function (ev) {
      ev.preventDefault();
      var form = document.getElementById(button.getAttribute("form"));
      button.disabled = true;
      fetch(button.getAttribute("formaction"), {
        method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
        headers: { "Accept": "application/json" },
      }).then(function (resp) {
        return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
      }).then(function (r) {
        button.disabled = false;
        if (!r.ok) {
          var msg = document.documentElement.lang === "en" ? r.body.message_en : r.body.message_ja;
          text.textContent = msg || text.textContent;
          return;
        }
        expires = r.body.expires * 1000;
        warned = false;
        el.classList.remove("warn");
        text.textContent = r.body.text;
      }).catch(function () {
        button.disabled = false;
        form.action = button.getAttribute("formaction");
        form.submit();
      });
    });
    window.addEventListener("pagehide", function () { clearInterval(timer); });
  }

  // The import page polls its job while the worker runs and reloads once it has finished, so
  // the summary (or the result) appears without a click. Without JS a <noscript> refresh does it.
  function pollImport(el) {
    var url = el.getAttribute("data-import-status");
    var bar = el.querySelector("progress");
    var text = document.getElementById("import-progress-text");
    var state = document.getElementById("import-state");
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) {
          bar.value = s.percent;
          bar.textContent = s.percent + "%";
          if (text) text.textContent = s.text;
          if (state) state.textContent = s.label;
          if (s.busy) setTimeout(tick, 700);
          else setTimeout(function () { window.location.reload(); }, 600);
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    setTimeout(tick, 300);
  }

  // A page that follows figures counted elsewhere (the ops console's fleet overview) offers a
  // checkbox, shown only with script, that reloads it every data-reload seconds while ticked.
  function autoReload(box) {
    var timer = null;
    function arm() {
      clearTimeout(timer);
      if (box.checked) timer = setTimeout(function () { window.location.reload(); }, parseInt(box.getAttribute("data-reload"), 10) * 1000);
    }
    var wrap = box.closest("[hidden]");
    if (wrap) wrap.hidden = false;
    box.addEventListener("change", arm);
    arm();
  }


  // A live screen: an element with data-live="<stream url>" follows the server's Server-Sent
  // Events; each "update" replaces the contents of its data-live-target (or of the element itself).
  // Focus and scroll position survive the swap, and a quiet status line (data-live-status) says
  // when it was updated. A stream the server refused or ended for good (503 at the stream limit,
  // the session over) is tried again a few times, slower each time; then the status line says that
  // updating stopped. Without script the page is simply reloaded by the user.
  function liveScreen(el) {
    if (!window.EventSource) return;
    var sel = el.getAttribute("data-live-target");
    var target = (sel && el.querySelector(sel)) || el;
    var status = el.querySelector("[data-live-status]");
    var es = null, retries = 0, timer = null;
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    function say(attr, now) {
      if (!status) return;
      var t = status.getAttribute(attr) || "";
      if (now) t = t.replace("{time}", pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds()));
      status.textContent = t;
    }
    // A way to find the focused element again in the new contents: its id, else its link or
    // name and its place among the elements alike.
    function focusKey() {
      var a = document.activeElement;
      if (!a || a === document.body || !target.contains(a)) return null;
      if (a.id) return { q: "#" + CSS.escape(a.id), i: 0 };
      var q = a.tagName.toLowerCase();
      if (a.getAttribute("href")) q += '[href="' + CSS.escape(a.getAttribute("href")) + '"]';
      else if (a.getAttribute("name")) q += '[name="' + CSS.escape(a.getAttribute("name")) + '"]';
      return { q: q, i: Array.prototype.indexOf.call(target.querySelectorAll(q), a) };
    }
    function swap(html) {
      var key = focusKey(), x = window.scrollX, y = window.scrollY;
      target.innerHTML = html;
      if (key) {
        var again = target.querySelectorAll(key.q)[Math.max(key.i, 0)];
        if (again) again.focus({ preventScroll: true });
      }
      window.scrollTo(x, y);
    }
    function open() {
      es = new EventSource(el.getAttribute("data-live"));
      var first = true;
      es.addEventListener("update", function (ev) {
        retries = 0;
        swap(ev.data);
        if (!first) say("data-live-updated", new Date());
        first = false;
      });
      es.addEventListener("error", function () {
        if (es.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
        es.close();
        if (retries >= 5) { say("data-live-paused"); return; }
        retries++;
        timer = setTimeout(open, (5 + Math.random() * 10) * 1000 * retries);
      });
    }
    window.addEventListener("pagehide", function () { clearTimeout(timer); if (es) es.close(); });
    open();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), liveScreen);
    var reload = document.querySelector("input[data-reload]");
    if (reload) autoReload(reload);
    var imp = document.querySelector("[data-import-status]");
    if (imp && window.fetch) pollImport(imp);
    var cal = document.querySelector("[data-calendar]");
    if (cal && window.fetch && window.history) enhanceCalendar(cal);
    var hold = document.querySelector("[data-hold-expires]");
    if (hold) holdWarning(hold);
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
