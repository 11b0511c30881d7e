// Coverage plan board: drag a target row onto a CSM's day to move it there (POST to the move endpoint).
(function () {
  "use strict";
  var board = document.querySelector("table.board[data-move-url]");
  if (!board) return;
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");

  document.querySelectorAll("tr[data-target]").forEach(function (row) {
    row.addEventListener("dragstart", function (event) {
      event.dataTransfer.setData("text/plain", row.dataset.target);
      event.dataTransfer.effectAllowed = "move";
    });
  });

  board.querySelectorAll("td.drop").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      event.preventDefault();
      cell.classList.add("over");
    });
    cell.addEventListener("dragleave", function () { cell.classList.remove("over"); });
    cell.addEventListener("drop", function (event) {
      event.preventDefault();
      cell.classList.remove("over");
      var target = event.dataTransfer.getData("text/plain");
      if (!target) return;
      var body = new URLSearchParams({target: target, assignee: cell.dataset.assignee, planned_on: cell.dataset.day});
      fetch(board.dataset.moveUrl, {
        method: "POST",
        headers: {"X-CSRFToken": csrf ? csrf.value : "", "Accept": "application/json"},
        body: body,
        credentials: "same-origin",
      }).then(function (response) { return response.json(); }).then(function (answer) {
        if (answer.ok) { window.location.reload(); } else { window.alert(answer.error); }
      });
    });
  });
})();
