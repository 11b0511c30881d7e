// The scorecard designer: remove a measure row, and show the fields of the chosen mapping.
(function () {
  "use strict";

  function showMapping(row) {
    var select = row.querySelector("select[name$='-mapping']");
    if (!select) return;
    row.querySelectorAll("[data-mapping]").forEach(function (part) {
      part.classList.toggle("unused", part.dataset.mapping !== select.value);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-measure]");
    if (!button) return;
    var row = button.closest("[data-measure-row]");
    var remove = row.querySelector("input[name$='-DELETE']");
    if (remove) remove.value = "true";
    row.hidden = true;
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name$='-mapping']")) showMapping(event.target.closest("[data-measure-row]"));
  });
})();
