/* The workflow picture: fit it to its box, zoom (buttons, + and − keys, Ctrl and the wheel, a pinch),
 * pan (drag with the mouse; fingers scroll the box), and bring the highlighted stage (where the case is,
 * what a diff changed) into view on load. Without this script the box scrolls and the picture is full size. */
(function () {
  "use strict";
  var STEP = 1.25;
  var SMALLEST = 0.2;
  var LARGEST = 3;
  //: Below this the text is too small to read, so the first view is no smaller (the box scrolls instead).
  var READABLE = 0.7;

  function setUp(root) {
    var canvas = root.querySelector(".workflow-canvas");
    var tools = root.querySelector(".workflow-zoom-tools");
    var level = root.querySelector(".zoom-level");
    if (!canvas || !tools) { return; }
    var scale = null;

    function picture() { return canvas.querySelector("svg.workflow-svg"); }

    function size(svg) {
      var box = svg.viewBox && svg.viewBox.baseVal;
      if (box && box.width) { return { width: box.width, height: box.height }; }
      return { width: parseFloat(svg.getAttribute("width")), height: parseFloat(svg.getAttribute("height")) };
    }

    function fitScale(svg) {
      var room = Math.max(canvas.clientWidth - 4, 100);  // a hidden box has no width: do not shrink to nothing
      return Math.max(SMALLEST, Math.min(LARGEST, room / size(svg).width));
    }

    function show(svg) {
      var natural = size(svg);
      svg.setAttribute("width", String(Math.round(natural.width * scale)));
      svg.setAttribute("height", String(Math.round(natural.height * scale)));
      if (level) { level.textContent = Math.round(scale * 100) + "%"; }
    }

    // Zoom to a new scale keeping the point (x, y) of the box where it is (the box's middle by default).
    function zoomTo(next, x, y) {
      var svg = picture();
      if (!svg) { return; }
      next = Math.max(SMALLEST, Math.min(LARGEST, next));
      if (x === undefined) { x = canvas.clientWidth / 2; y = canvas.clientHeight / 2; }
      var pictureX = (canvas.scrollLeft + x) / scale;
      var pictureY = (canvas.scrollTop + y) / scale;
      scale = next;
      show(svg);
      canvas.scrollLeft = pictureX * scale - x;
      canvas.scrollTop = pictureY * scale - y;
    }

    // Bring the highlighted stage (else the start) to the middle of the box, as far as the box scrolls.
    function focusStage(svg) {
      var stage = svg.querySelector(".stage.highlighted .box") || svg.querySelector(".stage.start .box");
      if (!stage) { return; }
      var x = parseFloat(stage.getAttribute("x")) + parseFloat(stage.getAttribute("width")) / 2;
      var y = parseFloat(stage.getAttribute("y")) + parseFloat(stage.getAttribute("height")) / 2;
      canvas.scrollLeft = x * scale - canvas.clientWidth / 2;
      canvas.scrollTop = y * scale - canvas.clientHeight / 2;
    }

    function start() {
      var svg = picture();
      tools.hidden = !svg;
      if (!svg) { return; }
      if (scale === null) {
        scale = Math.max(Math.min(fitScale(svg), 1), Math.min(READABLE, 1));
        show(svg);
        focusStage(svg);
      } else {
        show(svg);  // the designer drew a new picture: keep the reader's zoom
      }
    }

    root.classList.add("is-zoomable");
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("[data-zoom]");
      if (!button || scale === null) { return; }
      var action = button.getAttribute("data-zoom");
      if (action === "in") { zoomTo(scale * STEP); }
      if (action === "out") { zoomTo(scale / STEP); }
      if (action === "actual") { zoomTo(1); }
      if (action === "fit") {
        zoomTo(fitScale(picture()));
        focusStage(picture());
      }
    });
    canvas.addEventListener("keydown", function (event) {
      if (scale === null || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (event.key === "+" || event.key === "=") { zoomTo(scale * STEP); event.preventDefault(); }
      if (event.key === "-" || event.key === "−") { zoomTo(scale / STEP); event.preventDefault(); }
      if (event.key === "0") { zoomTo(fitScale(picture())); event.preventDefault(); }
    });
    // Ctrl (or ⌘) and the wheel, and a touchpad's pinch, zoom around the pointer; the plain wheel scrolls.
    canvas.addEventListener("wheel", function (event) {
      if (scale === null || !(event.ctrlKey || event.metaKey)) { return; }
      event.preventDefault();
      var place = canvas.getBoundingClientRect();
      var factor = Math.exp(-event.deltaY / 300);
      zoomTo(scale * factor, event.clientX - place.left, event.clientY - place.top);
    }, { passive: false });

    // Drag with the mouse to pan; fingers and pens scroll the box as usual.
    var drag = null;
    canvas.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "mouse" || event.button !== 0) { return; }
      drag = { x: event.clientX, y: event.clientY, left: canvas.scrollLeft, top: canvas.scrollTop, id: event.pointerId };
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drag || event.pointerId !== drag.id) { return; }
      var dx = event.clientX - drag.x;
      var dy = event.clientY - drag.y;
      if (!canvas.classList.contains("dragging") && Math.abs(dx) + Math.abs(dy) < 4) { return; }
      if (!canvas.classList.contains("dragging")) {
        canvas.classList.add("dragging");
        canvas.setPointerCapture(drag.id);
      }
      canvas.scrollLeft = drag.left - dx;
      canvas.scrollTop = drag.top - dy;
    });
    function stop() {
      drag = null;
      canvas.classList.remove("dragging");
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);

    if (window.MutationObserver) {
      new MutationObserver(start).observe(canvas, { childList: true });
    }
    start();
  }

  function all() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-workflow-picture]"), setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
}());
