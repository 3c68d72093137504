/* The flows page, enhanced: pointing at (or focusing) a corridor in any view highlights it in all of
   them (map arc, Sankey band, table row, matrix cell), and arcs and bands show a tooltip.
   Without this file the page is complete: the SVG has <title>s and the tables carry every figure. */
(function () {
  "use strict";
  function marked(key) {
    return document.querySelectorAll('[data-key="' + CSS.escape(key) + '"]');
  }
  function highlight(key, on) {
    marked(key).forEach(function (el) { el.classList.toggle("hi", on); });
  }
  function wire(el) {
    var key = el.dataset.key;
    el.addEventListener("mouseenter", function () { highlight(key, true); });
    el.addEventListener("mouseleave", function () { highlight(key, false); });
    el.addEventListener("focus", function () { highlight(key, true); });
    el.addEventListener("blur", function () { highlight(key, false); });
  }
  function tooltip(svg) {
    var tip = svg.parentNode.querySelector(".map-tip");
    if (!tip) { return; }
    svg.addEventListener("mousemove", function (e) {
      var p = e.target.closest("[data-label]");
      if (!p) { tip.style.display = "none"; return; }
      var box = svg.parentNode.getBoundingClientRect();
      tip.textContent = p.dataset.label;
      tip.style.left = (e.clientX - box.left + 12) + "px";
      tip.style.top = (e.clientY - box.top + 12) + "px";
      tip.style.display = "block";
    });
    svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  }
  document.querySelectorAll("[data-key]").forEach(wire);
  document.querySelectorAll("svg.flowmap, svg.sankey").forEach(tooltip);
})();
