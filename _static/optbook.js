/* The book's own script (Jupyter Book 1.x loads every .js file in _static/).
 * On a phone a wide figure is shrunk to the screen, which makes its tick labels tiny: a tap on a
 * figure (or an interactive figure's frame, which keeps its size as the sliders swap it) shows it at
 * twice the width, in a box that scrolls sideways; a second tap shrinks it back. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".bd-article .cell_output img, .bd-article figure img").forEach(function (img) {
    img.classList.add("optbook-zoomable");
    img.addEventListener("click", function () {
      if (window.innerWidth > 720) return;
      img.classList.toggle("optbook-zoomed");
      var box = img.closest(".cell_output") || img.parentElement;
      box.classList.toggle("optbook-zoom-box", img.classList.contains("optbook-zoomed"));
    });
  });
});
