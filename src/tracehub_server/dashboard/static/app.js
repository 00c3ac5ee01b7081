// TraceHub dashboard behaviour. Plain script, no dependencies; every page works without it.
// Rows added here come as HTML rendered (and escaped) by the server; this script never builds
// markup from data, it only sets textContent.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // A <select> inside a form[data-autosubmit] submits the form when it changes.
  function autosubmit() {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
  }

  // <button data-copy="element-id"> copies that element's text.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var target = document.getElementById(btn.getAttribute("data-copy"));
        if (!target) return;
        var text = target.textContent;
        var done = function () {
          var old = btn.textContent;
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = old; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { selectText(target); });
        } else {
          selectText(target);
        }
      });
    });
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // Parse server-rendered rows and add those not already shown (live tail may resend some).
  function insertRows(tbody, html, where) {
    var tpl = document.createElement("template");
    tpl.innerHTML = "<table><tbody>" + html + "</tbody></table>";
    var rows = Array.prototype.slice.call(tpl.content.querySelectorAll("tr"));
    var added = 0;
    if (where === "afterbegin") rows.reverse();
    rows.forEach(function (row) {
      var id = row.getAttribute("data-event-id");
      if (id && tbody.querySelector('tr[data-event-id="' + CSS.escape(id) + '"]')) return;
      if (where === "afterbegin") { row.classList.add("fresh"); tbody.insertBefore(row, tbody.firstChild); }
      else tbody.appendChild(row);
      added++;
    });
    var empty = document.getElementById("no-results");
    if (empty && tbody.rows.length) empty.hidden = true;
    return added;
  }

  // "Load more": fetch the next page's rows and append them; the link keeps working without JS.
  function loadMore() {
    var link = document.getElementById("load-more");
    var tbody = document.getElementById("log-rows");
    if (!link || !tbody) return;
    link.addEventListener("click", function (ev) {
      ev.preventDefault();
      link.setAttribute("aria-busy", "true");
      fetch(link.href, { headers: { "X-Fragment": "rows" }, credentials: "same-origin" })
        .then(function (resp) {
          if (!resp.ok) throw new Error("HTTP " + resp.status);
          var next = resp.headers.get("X-Next-Url");
          var searched = resp.headers.get("X-Searched-Back-To");
          return resp.text().then(function (html) { return { html: html, next: next, searched: searched }; });
        })
        .then(function (page) {
          insertRows(tbody, page.html, "beforeend");
          // A search that spent its scan budget says how far back it looked; continuing
          // resumes from there.
          var status = document.getElementById("scan-status");
          if (status) status.textContent = page.searched ? "Searched back to " + page.searched + " UTC \u2014" : "";
          if (page.next) {
            link.href = page.next;
            link.textContent = page.searched ? "Continue searching" : "Load more";
            link.removeAttribute("aria-busy");
          } else {
            link.parentNode.textContent = "No older entries.";
          }
        })
        .catch(function () { link.removeAttribute("aria-busy"); link.textContent = "Retry loading"; });
    });
  }

  // Live tail: Server-Sent Events carrying rendered rows of entries newer than the last seen.
  function liveTail() {
    var toggle = document.getElementById("live-tail");
    var tbody = document.getElementById("log-rows");
    var status = document.getElementById("live-status");
    if (!toggle || !tbody) return;
    var source = null;
    function stop() {
      if (source) { source.close(); source = null; }
      toggle.setAttribute("aria-pressed", "false");
      toggle.classList.remove("live-on");
      status.textContent = "Live tail off";
    }
    function start() {
      source = new EventSource(toggle.getAttribute("data-src"));
      toggle.setAttribute("aria-pressed", "true");
      toggle.classList.add("live-on");
      status.textContent = "Live tail on: new entries appear at the top";
      source.addEventListener("rows", function (ev) {
        var data = JSON.parse(ev.data);
        var added = insertRows(tbody, data.html, "afterbegin");
        if (added) status.textContent = "Live: " + added + " new at " + new Date().toLocaleTimeString();
      });
      source.addEventListener("error", function () {
        if (source && source.readyState === EventSource.CLOSED) stop();
      });
    }
    toggle.addEventListener("click", function () { if (source) stop(); else start(); });
    if (toggle.getAttribute("data-autostart") === "1") start();
  }

  // On a narrow window the top bar's links fold behind a "Menu" button (CSS shows the button;
  // without this script the links simply stay visible).
  function topMenu() {
    document.documentElement.classList.add("js");
    var toggle = document.querySelector(".menu-toggle");
    var menu = document.getElementById("topmenu");
    if (!toggle || !menu) return;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
    });
  }

  // <details data-fold-narrow> (the log filters) starts folded on a phone-sized window.
  function foldOnPhones() {
    if (!window.matchMedia("(max-width: 640px)").matches) return;
    document.querySelectorAll("details[data-fold-narrow]").forEach(function (d) { d.open = false; });
  }

  // The onboarding page asks every few seconds whether the first event has arrived, and
  // then turns into the overview by itself.
  function waitForFirstEvent() {
    var box = document.querySelector("[data-poll]");
    if (!box) return;
    var tries = 0;
    function check() {
      if (++tries > 1200) return;  // an hour of asking is enough; reloading starts again
      fetch(box.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (resp) { return resp.ok ? resp.json() : { ready: false }; })
        .then(function (data) {
          if (data.ready) window.location.assign(box.getAttribute("data-then"));
          else setTimeout(check, 3000);
        })
        .catch(function () { setTimeout(check, 3000); });
    }
    setTimeout(check, 1500);
  }

  // Drag across the explorer's histogram to zoom to that time range (each bar is also a
  // link to its own range, for the keyboard and without this script).
  function histogramZoom() {
    var box = document.getElementById("histogram");
    if (!box) return;
    var since = Date.parse(box.getAttribute("data-since"));
    var until = Date.parse(box.getAttribute("data-until"));
    var sel = document.createElement("div");
    sel.className = "zoom-sel";
    sel.hidden = true;
    box.appendChild(sel);
    var drag = null, dragged = false;
    function timeAt(svg, clientX) {
      var r = svg.getBoundingClientRect();
      var vb = svg.viewBox.baseVal;
      var left = +svg.getAttribute("data-plot-left"), right = +svg.getAttribute("data-plot-right");
      var x = (clientX - r.left) / r.width * vb.width;
      var f = Math.min(1, Math.max(0, (x - left) / (right - left)));
      return since + f * (until - since);
    }
    box.addEventListener("pointerdown", function (ev) {
      var svg = ev.target.closest && ev.target.closest("svg.chart");
      if (!svg || ev.button !== 0) return;
      drag = { svg: svg, x0: ev.clientX, moved: false };
      ev.preventDefault();
    });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      if (Math.abs(ev.clientX - drag.x0) > 4) drag.moved = true;
      var b = box.getBoundingClientRect(), r = drag.svg.getBoundingClientRect();
      var x1 = Math.min(drag.x0, ev.clientX), x2 = Math.max(drag.x0, ev.clientX);
      sel.hidden = !drag.moved;
      sel.style.left = (x1 - b.left) + "px";
      sel.style.width = (x2 - x1) + "px";
      sel.style.top = (r.top - b.top) + "px";
      sel.style.height = r.height + "px";
    });
    window.addEventListener("pointerup", function (ev) {
      if (!drag) return;
      var d = drag;
      drag = null;
      sel.hidden = true;
      if (!d.moved) return;
      dragged = true;
      var a = timeAt(d.svg, Math.min(d.x0, ev.clientX)), z = timeAt(d.svg, Math.max(d.x0, ev.clientX));
      var url = box.getAttribute("data-zoom-url");
      url += (url.indexOf("?") >= 0 && !/[?&]$/.test(url) ? "&" : "") +
        "since=" + encodeURIComponent(new Date(a).toISOString()) +
        "&until=" + encodeURIComponent(new Date(z).toISOString());
      window.location.assign(url);
    });
    // A drag that ends over a bar must not also follow that bar's link.
    box.addEventListener("click", function (ev) {
      if (dragged) { ev.preventDefault(); dragged = false; }
    }, true);
  }

  onReady(function () {
    histogramZoom();
    waitForFirstEvent();
    topMenu();
    foldOnPhones();
    autosubmit();
    copyButtons();
    loadMore();
    liveTail();
  });
})();
