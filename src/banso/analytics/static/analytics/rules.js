// The segment rule builder: remove a condition, show the key box for custom attributes, suggest values
// for attributes with fixed choices, and switch between the conditions and the JSON editor.
(function () {
  "use strict";

  function setUpRow(row) {
    var target = row.querySelector("select[name$='-target']");
    var keyBox = row.querySelector("[data-rule-key]");
    var value = row.querySelector("input[name$='-value']");
    if (!target) return;
    var choice = target.value;
    if (keyBox) keyBox.classList.toggle("unused", choice !== "attr:attributes.");
    if (value) {
      var list = choice.indexOf("attr:") === 0 ? "values-" + choice.slice(5) : "";
      if (list && document.getElementById(list)) value.setAttribute("list", list);
      else value.removeAttribute("list");
    }
  }

  function setUpAll(root) {
    root.querySelectorAll("[data-rule-row]").forEach(setUpRow);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-rule]");
    if (!button) return;
    var row = button.closest("[data-rule-row]");
    var remove = row.querySelector("input[name$='-DELETE']");
    if (remove) remove.value = "true";
    row.hidden = true;
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name$='-target']")) {
      setUpRow(event.target.closest("[data-rule-row]"));
    }
    if (event.target.matches("input[name='mode']")) {
      document.querySelectorAll("fieldset[data-mode]").forEach(function (fieldset) {
        fieldset.hidden = fieldset.dataset.mode !== event.target.value;
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { setUpAll(event.target); });
})();
