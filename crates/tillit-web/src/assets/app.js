// Tillit's pages work without this script; it only adds conveniences: keyboard shortcuts, copy
// buttons, a graph read-out that follows the pointer and the arrow keys, a live campaign URL, and
// menus that close when you click elsewhere. No framework, no build step, no third party.
"use strict";
(function () {
  var body = document.body;

  // Keyboard shortcuts: any link marked data-key="d" (or "ArrowLeft", "Escape"…) is followed when
  // that key is pressed outside a form field.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
    if (e.key === "/") {
      var search = document.querySelector("[data-key-focus='/']");
      if (search) { e.preventDefault(); search.focus(); }
      return;
    }
    var key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    var link = document.querySelector("a[data-key='" + key.replace(/'/g, "") + "']");
    if (link && link.getAttribute("href").charAt(0) !== "#") {
      e.preventDefault();
      window.location.href = link.href;
    } else if (key === "c") {
      var period = document.getElementById("period");
      if (period) { period.open = true; var from = period.querySelector("input[name=from]"); if (from) from.focus(); }
    }
  });

  // Copy buttons after every element marked data-copy.
  var copyLabel = body.getAttribute("data-copy-label") || "Copy";
  var copiedLabel = body.getAttribute("data-copied-label") || "Copied";
  document.querySelectorAll("[data-copy]").forEach(function (el) {
    if (!navigator.clipboard) return;
    var b = document.createElement("button");
    b.type = "button";
    b.className = "copy";
    b.textContent = copyLabel;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(el.textContent.trim()).then(function () {
        b.textContent = copiedLabel;
        setTimeout(function () { b.textContent = copyLabel; }, 1500);
      });
    });
    el.insertAdjacentElement("afterend", b);
  });

  // Selects that apply themselves (the language menu).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    var button = s.form && s.form.querySelector("button[type=submit]");
    if (button) button.hidden = true;
    s.addEventListener("change", function () { s.form.submit(); });
  });

  // Graph read-out: the value under the pointer, or of the focused point.
  document.querySelectorAll("svg[data-series]").forEach(function (svg) {
    var series;
    try { series = JSON.parse(svg.getAttribute("data-series")); } catch (_) { return; }
    var out = svg.parentNode.querySelector(".readout");
    if (!out || !series.length) return;
    var ns = "http://www.w3.org/2000/svg";
    var guide = document.createElementNS(ns, "line");
    guide.setAttribute("class", "guide");
    guide.setAttribute("y1", "0");
    guide.setAttribute("y2", "150");
    guide.style.display = "none";
    svg.appendChild(guide);
    function show(i) {
      i = Math.max(0, Math.min(series.length - 1, i));
      var x = series.length > 1 ? (600 * i) / (series.length - 1) : 0;
      guide.setAttribute("x1", x);
      guide.setAttribute("x2", x);
      guide.style.display = "";
      out.textContent = series[i][0] + ": " + series[i][1];
    }
    svg.addEventListener("pointermove", function (e) {
      var box = svg.getBoundingClientRect();
      // The viewBox runs from -50 to 610; the line from 0 to 600.
      var x = ((e.clientX - box.left) / box.width) * 660 - 50;
      show(Math.round((x / 600) * (series.length - 1)));
    });
    svg.addEventListener("pointerleave", function () { guide.style.display = "none"; });
    svg.querySelectorAll("circle").forEach(function (c, i) {
      c.addEventListener("focus", function () { show(i); });
    });
  });

  // The campaign URL builder updates its result as one types.
  var utm = document.querySelector("form[data-utm]");
  var result = document.getElementById("utm-result");
  if (utm && result) {
    utm.addEventListener("input", function () {
      try {
        var u = new URL(utm.elements.url.value.trim());
        ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (k) {
          var v = utm.elements[k].value.trim();
          u.searchParams.delete(k);
          if (v) u.searchParams.append(k, v);
        });
        result.textContent = u.toString();
      } catch (_) {
        result.textContent = "";
      }
    });
  }

  // Menus close when one clicks elsewhere or presses Escape inside them.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.open = false;
    });
  });
})();
