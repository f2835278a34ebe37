// Behaviour the pages used to write inline, so the Content-Security-Policy can forbid inline script.
// <select data-autosubmit> submits its form on change; <form data-confirm="question"> asks before submitting,
// and so does a submit button with data-confirm (for the button pressed).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = event.submitter;
  var question = (button && button.getAttribute("data-confirm")) || (form.getAttribute && form.getAttribute("data-confirm"));
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A "Print" button on an ordinary page: the Content-Security-Policy forbids an inline onclick.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
