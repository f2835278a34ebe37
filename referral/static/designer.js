/* The workflow editor: check as you type, keep the tables and the text in step, redraw the picture.
 * Without this script the page works by its Check and Save draft buttons. */
(function () {
  "use strict";
  var editor = document.getElementById("designer-editor");
  if (!editor || !window.fetch) { return; }
  var tableForm = document.getElementById("table-form");
  var textForm = document.getElementById("text-form");
  var textArea = document.getElementById("definition-text");
  var formatSelect = document.getElementById("text-format");
  var tables = document.getElementById("tables");
  var canvas = document.getElementById("workflow-canvas");
  var status = document.getElementById("check-status");
  var timer = null;
  var sequence = 0;

  function problemItem(problem) {
    var item = document.createElement("li");
    item.className = "problem problem-" + problem.severity;
    item.setAttribute("data-code", problem.code);
    var badge = document.createElement("span");
    badge.className = "badge " + (problem.severity === "error" ? "text-bg-danger" : "text-bg-warning");
    badge.textContent = problem.severity_label;
    item.appendChild(badge);
    item.appendChild(document.createTextNode(" " + problem.message));
    return item;
  }

  function placeProblems(problems) {
    var lists = editor.querySelectorAll("[data-problems]");
    var byName = {};
    Array.prototype.forEach.call(lists, function (list) {
      list.textContent = "";
      byName[list.getAttribute("data-problems")] = list;
    });
    var worst = {};
    problems.forEach(function (problem) {
      var places = problem.stage_rows.map(function (i) { return "stage-" + i; })
        .concat(problem.transition_rows.map(function (i) { return "transition-" + i; }));
      places.forEach(function (name) {
        if (byName[name]) { byName[name].appendChild(problemItem(problem)); }
        if (worst[name] !== "error") { worst[name] = problem.severity; }
      });
    });
    Object.keys(byName).forEach(function (name) {
      var row = editor.querySelector('[data-problems-row="' + name + '"]');
      if (row) { row.hidden = !byName[name].children.length; }
      var parts = name.split("-");
      var body = editor.querySelector("[data-" + parts[0] + '-row="' + parts[1] + '"]');
      if (body) {
        body.classList.toggle("row-error", worst[name] === "error");
        body.classList.toggle("row-warning", worst[name] === "warning");
      }
    });
    var all = document.getElementById("text-problems");
    all.textContent = "";
    problems.forEach(function (problem) { all.appendChild(problemItem(problem)); });
  }

  function updateStageKeys(keys) {
    var list = document.getElementById("stage-keys");
    if (!list) { return; }
    list.textContent = "";
    keys.forEach(function (key) {
      var option = document.createElement("option");
      option.value = key;
      list.appendChild(option);
    });
  }

  function apply(result, source) {
    document.getElementById("summary").innerHTML = result.summary;
    if (result.svg) {
      canvas.innerHTML = result.svg;
      canvas.classList.remove("stale");
    } else {
      canvas.classList.add("stale");
    }
    if (source === "form" && result.text !== null && document.activeElement !== textArea) {
      textArea.value = result.text;
    }
    if (source === "text") {
      if (result.tables !== null) {
        tables.innerHTML = result.tables;
        tables.classList.remove("stale");
      } else {
        tables.classList.add("stale");
      }
    }
    placeProblems(result.problems);
    updateStageKeys(result.stage_keys);
    status.textContent = "";
    editor.setAttribute("data-checked", String(sequence));
  }

  function check(source) {
    var data = new FormData(source === "text" ? textForm : tableForm);
    data.delete("csrf_token");  // the header carries it
    data.delete("action");
    data.set("format", formatSelect.value);
    var mine = ++sequence;
    editor.setAttribute("data-checking", String(mine));
    fetch(editor.getAttribute("data-check-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: {"X-CSRFToken": editor.getAttribute("data-csrf"), "Accept": "application/json"}
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (result) {
      if (mine === sequence) { apply(result, source); }
    }).catch(function () {
      if (mine === sequence) { status.textContent = editor.getAttribute("data-failed"); }
    });
  }

  function later(source) {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { check(source); }, 350);
  }

  tableForm.addEventListener("input", function () { later("form"); });
  tableForm.addEventListener("change", function () { later("form"); });
  textArea.addEventListener("input", function () { later("text"); });
  formatSelect.addEventListener("change", function () {
    tableForm.elements.format.value = formatSelect.value;
    check(tables.classList.contains("stale") ? "text" : "form");
  });
  // The tables' buttons post the tables; after editing the text, post what the text says instead.
  tableForm.addEventListener("submit", function (event) {
    if (tables.classList.contains("stale")) {
      event.preventDefault();
      var action = event.submitter ? event.submitter.value : "check";
      textForm.requestSubmit(document.getElementById(action === "save" ? "save-text" : "check-text"));
    }
  });
})();
