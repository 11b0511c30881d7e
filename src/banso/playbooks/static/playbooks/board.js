// Task board: drag a card onto another column to change its status (an htmx POST that redraws the board).
// Without JavaScript each card's status select and its button do the same.
(function () {
  "use strict";
  function column(event) { return event.target.closest ? event.target.closest(".board-column") : null; }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".task-card[data-move-url]") : null;
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.dataset.moveUrl);
    event.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (event) {
    var col = column(event);
    if (!col) return;
    event.preventDefault();
    col.classList.add("over");
  });
  document.addEventListener("dragleave", function (event) {
    var col = column(event);
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("over");
  });
  document.addEventListener("drop", function (event) {
    var col = column(event);
    if (!col) return;
    event.preventDefault();
    col.classList.remove("over");
    var url = event.dataTransfer.getData("text/plain");
    if (!url) return;
    htmx.ajax("POST", url, {source: col, target: "#task-board", swap: "outerHTML", values: {status: col.dataset.status}});
  });
})();
