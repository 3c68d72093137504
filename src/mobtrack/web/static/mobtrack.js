/* mobtrack pages: progressive enhancement only. Every page works without this file:
   - dashboard selectors update the dashboard in place (fetch with X-Partial) instead of a full reload;
   - the map shows a tooltip under the pointer;
   - trend charts and forecast fans become interactive uPlot charts when uPlot is loaded (vendor/uPlot.iife.min.js). */
(function () {
  "use strict";

  function hideSubmitButtons(root) {
    root.querySelectorAll("form[data-partial] .js-hide").forEach(function (b) { b.hidden = true; });
  }

  function formUrl(form) {
    var params = new URLSearchParams(new FormData(form));
    return form.action.split("?")[0] + "?" + params.toString();
  }

  function updatePartial(form, focusId) {
    var target = document.getElementById(form.dataset.partial);
    var url = formUrl(form);
    target.setAttribute("aria-busy", "true");
    fetch(url, { headers: { "X-Partial": "1" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        target.innerHTML = html;
        target.removeAttribute("aria-busy");
        history.replaceState(null, "", url);
        // the language switcher returns to the view as it is now
        var back = document.querySelector("header input[name=next]");
        if (back) { back.value = url.replace(/^[a-z]+:\/\/[^/]+/, ""); }
        enhance(target);
        var again = focusId && document.getElementById(focusId);
        if (again) { again.focus(); }
      })
      .catch(function () { window.location.href = url; });  // fall back to a normal page load
  }

  function wireForms(root) {
    root.querySelectorAll("form[data-partial]").forEach(function (form) {
      if (!form.dataset.partial) { return; }
      form.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
        select.addEventListener("change", function () { updatePartial(form, select.id); });
      });
      form.addEventListener("submit", function (e) { e.preventDefault(); updatePartial(form); });
    });
  }

  function wireMap(root) {
    root.querySelectorAll("svg.map").forEach(function (svg) {
      var tip = svg.parentNode.querySelector(".map-tip");
      if (!tip) { return; }
      svg.addEventListener("mousemove", function (e) {
        var p = e.target.closest("path[data-pcode]");
        if (!p) { tip.style.display = "none"; return; }
        var box = svg.parentNode.getBoundingClientRect();
        tip.textContent = p.dataset.name + ": " + p.dataset.value;
        tip.style.left = (e.clientX - box.left + 12) + "px";
        tip.style.top = (e.clientY - box.top + 12) + "px";
        tip.style.display = "block";
      });
      svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    });
  }

  function wireCharts(root) {
    if (typeof window.uPlot !== "function") { return; }
    root.querySelectorAll("figure.chart[data-chart]").forEach(function (fig) {
      var d = JSON.parse(fig.dataset.chart);
      var xs = [], ys = [];
      d.x.forEach(function (iso, i) {
        if (iso) { xs.push(Date.parse(iso) / 1000); ys.push(d.y[i]); }
      });
      if (xs.length < 2) { return; }
      var svg = fig.querySelector("svg.line");
      var width = Math.max(fig.clientWidth, 200);
      var lang = document.documentElement.lang;
      var day = function (t) { return new Date(t * 1000).toLocaleDateString(lang, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }); };
      var count = function (v) { return v == null ? "–" : v.toLocaleString(lang); };
      var chart = new window.uPlot({
        width: width, height: 220,
        padding: [12, 40, 0, 0],  // room for the last date label
        legend: { show: true },
        series: [{ label: d.x_label, value: function (u, t) { return t == null ? "–" : day(t); } },
                 { label: d.label, stroke: "#2c7fb8", width: 2, points: { size: 6 }, spanGaps: false,
                   value: function (u, v) { return count(v); } }],
        // One tick per round (thinned when they would crowd), labelled in the page's language.
        axes: [{ splits: function () { var step = Math.ceil(xs.length / Math.max(1, Math.floor(width / 90)));
                   return xs.filter(function (x, i) { return (xs.length - 1 - i) % step === 0; }); },
                 values: function (u, ticks) { return ticks.map(function (t) {
                   return new Date(t * 1000).toLocaleDateString(lang, { day: "numeric", month: "short", year: "2-digit", timeZone: "UTC" }); }); } },
               { size: 70, values: function (u, vals) { return vals.map(count); } }],
        scales: { y: { range: function (u, min, max) { return [0, max * 1.05 || 1]; } } }
      }, [xs, ys], fig);
      if (svg) { svg.remove(); }
      fig.appendChild(fig.querySelector("figcaption"));
      window.addEventListener("resize", function () { chart.setSize({ width: Math.max(fig.clientWidth, 200), height: 220 }); });
    });
  }

  // Forecast fans: history, the forecast and its 80% / 95% bands (uPlot bands between the bound series).
  function wireFans(root) {
    if (typeof window.uPlot !== "function") { return; }
    root.querySelectorAll("figure.fan[data-fan]").forEach(function (fig) {
      var d = JSON.parse(fig.dataset.fan);
      var lang = document.documentElement.lang;
      var top = 0;
      [d.history, d.point, d.hi80, d.hi95].forEach(function (a) { a.forEach(function (v) { if (v != null && v > top) { top = v; } }); });
      top = top * 1.1 || 1;
      // An open upper bound (null where the lower one exists) is drawn to the top of the chart.
      var bound = function (a) { return a.map(function (v, i) { return v == null && d.lo95[i] != null ? top : v; }); };
      var count = function (u, v) { return v == null ? "–" : Math.round(v).toLocaleString(lang); };
      var month = function (u, t) { return t == null ? "–" : new Date(t * 1000).toLocaleDateString(lang, { month: "short", year: "numeric", timeZone: "UTC" }); };
      // The legend shows each band once, as "low–high" on its upper series (the lower one is hidden by CSS).
      var band = function (label, colour, lows) {
        return { label: label, stroke: colour, width: 1, points: { show: false },
                 value: lows ? function (u, v, s, i) { return i == null || v == null ? "–" : count(u, lows[i]) + "–" + count(u, v); } : count };
      };
      var svg = fig.querySelector("svg.fan-svg");
      var width = function () { return Math.max(fig.clientWidth, 200); };
      var chart = new window.uPlot({
        width: width(), height: 190, padding: [8, 16, 0, 0], legend: { show: true },
        series: [{ label: d.labels.x, value: month },
                 { label: d.labels.history, stroke: "#1b1f24", width: 2, value: count, spanGaps: true },
                 { label: d.labels.point, stroke: "#c2410c", width: 2, dash: [6, 4], value: count },
                 band(d.labels.b80, "#e66101"), band(d.labels.b80, "#e66101", d.lo80),
                 band(d.labels.b95, "#fdb863"), band(d.labels.b95, "#fdb863", d.lo95)],
        bands: [{ series: [4, 3], fill: "rgba(230, 97, 1, 0.30)" }, { series: [6, 5], fill: "rgba(253, 184, 99, 0.30)" }],
        axes: [{ values: function (u, ticks) { return ticks.map(function (t) { return month(u, t); }); } },
               { size: 60, values: function (u, vals) { return vals.map(function (v) { return count(u, v); }); } }],
        scales: { y: { range: function () { return [0, top]; } } }
      }, [d.x, d.history, d.point, d.lo80, bound(d.hi80), d.lo95, bound(d.hi95)], fig);
      if (svg) { svg.remove(); }
      fig.appendChild(fig.querySelector("figcaption"));
      window.addEventListener("resize", function () { chart.setSize({ width: width(), height: 190 }); });
    });
  }

  function enhance(root) {
    hideSubmitButtons(root);
    wireForms(root);
    wireMap(root);
    wireCharts(root);
    wireFans(root);
  }

  function start() {
    enhance(document);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
