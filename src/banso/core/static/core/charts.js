// Draws every <canvas data-chart="ID"> with the Chart.js configuration in the JSON script element ID
// (rendered by Django's json_script), on page load and after htmx swaps. Configurations are built on
// the server (see core/charts.py), so pages need no chart code of their own.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.chart);
      if (!source || typeof Chart === "undefined") return;
      var config = JSON.parse(source.textContent);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      canvas.chart = new Chart(canvas, config);
      canvas.dataset.drawn = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
