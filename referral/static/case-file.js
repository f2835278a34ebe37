// The print view's button: the Content-Security-Policy forbids an inline onclick, so it is wired here.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
