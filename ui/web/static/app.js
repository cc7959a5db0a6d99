// madoguchi progressive enhancement. Every flow works without this file; it only
// (1) changes calendar months without a full reload, moving focus to the new month's caption, and
// (2) warns before a held time runs out, (3) keeps live screens (data-live) current, and (4) solves
// the login form's proof of work (without scripts the server accepts the form after a short wait).
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

  // The first 32 bits of SHA-256 of an ASCII string (FIPS 180-4), enough to count leading zeros.
  var K = [0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2];
  var W = new Int32Array(64);
  function sha256First(str) {
    var n = str.length, words = ((n + 9 + 63) >> 6) << 4, m = new Int32Array(words), i, j;
    for (i = 0; i < n; i++) m[i >> 2] |= (str.charCodeAt(i) & 0xff) << (24 - (i % 4) * 8);
    m[n >> 2] |= 0x80 << (24 - (n % 4) * 8);
    m[words - 1] = n * 8;
    var h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a,
      h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    for (j = 0; j < words; j += 16) {
      var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
      for (i = 0; i < 64; i++) {
        if (i < 16) W[i] = m[j + i];
        else {
          var x = W[i - 15], y = W[i - 2];
          W[i] = (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
            (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + W[i - 7] + W[i - 16] | 0;
        }
        var t1 = h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & f) ^ (~e & g)) + K[i] + W[i] | 0;
        var t2 = (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) ^ (a & c) ^ (b & c)) | 0;
        h = g; g = f; f = e; e = d + t1 | 0; d = c; c = b; b = a; a = t1 + t2 | 0;
      }
      h0 = h0 + a | 0; h1 = h1 + b | 0; h2 = h2 + c | 0; h3 = h3 + d | 0;
      h4 = h4 + e | 0; h5 = h5 + f | 0; h6 = h6 + g | 0; h7 = h7 + h | 0;
    }
    return h0 >>> 0;
  }

  // The login form's proof of work: find a nonce such that SHA-256(token ":" nonce) starts with
  // the asked number of zero bits, in slices so the page stays responsive. A form sent before it
  // is found goes without a nonce, which the server accepts once a few seconds have passed.
  function solvePow(tokenInput) {
    var nonceInput = tokenInput.form && tokenInput.form.elements.pow_nonce;
    var bits = parseInt(tokenInput.getAttribute("data-pow-bits"), 10);
    if (!nonceInput || !tokenInput.value || !(bits >= 0 && bits <= 32)) return;
    var prefix = tokenInput.value + ":", limit = Math.pow(2, 32 - bits), i = 0;
    function slice() {
      for (var end = i + 20000; i < end; i++) {
        if (sha256First(prefix + i) < limit) {
          nonceInput.value = String(i);
          return;
        }
      }
      setTimeout(slice, 0);
    }
    setTimeout(slice, 0);
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
    Array.prototype.forEach.call(document.querySelectorAll("input[data-pow-bits]"), solvePow);
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
