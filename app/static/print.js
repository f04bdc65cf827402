// The flyer's "print" button (no inline handlers: the Content-Security-Policy allows only scripts from /static).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
