// madoguchi progressive enhancement. Every flow works without this file; it only
// (1) changes calendar months without a full reload, moving focus to the new month's caption, and
// (2) warns before a held time runs out.
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

  function holdWarning(el) {
    var expires = parseInt(el.getAttribute("data-hold-expires"), 10) * 1000;
    var warned = false;
    var timer = setInterval(function () {
      var left = expires - Date.now();
      if (!warned && left < 2 * 60 * 1000) {
        warned = true;
        el.setAttribute("role", "alert");
        el.classList.add("warn");
        // Change the text after the role, so screen readers announce it as an alert.
        setTimeout(function () {
          el.textContent = el.textContent + " " + (document.documentElement.lang === "en"
            ? "Less than two minutes are left."
            : "残り2分を切りました。");
        }, 100);
      }
      if (left <= 0) clearInterval(timer);
    }, 5000);
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

  document.addEventListener("DOMContentLoaded", function () {
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
