// Print views (/admin/print/*): shows the 「印刷する」 button, which opens the browser's print
// dialog. Without this script the page says to use Ctrl+P; nothing else depends on it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () { window.print(); });
    }
  });
})();
