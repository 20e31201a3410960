// The edit page's thumbnail focus (templates/_focus.html): choosing a cell moves the square tile preview at once.
// The form works without this; it only mirrors the choice as the fx-/fy- classes of the focal macro (the CSP
// forbids style="").
(function () {
  "use strict";
  function classes(value) {
    const [x, y] = value.split(",").map(Number);
    const step = (v) => Math.min(10, Math.max(0, Math.round(v * 5)));
    return ["fx-" + step(x + 1), "fy-" + step(1 - y)];
  }
  document.querySelectorAll(".focus-picker").forEach((picker) => {
    const tile = picker.querySelector(".focus-tile");
    if (!tile) return;
    picker.addEventListener("change", (event) => {
      if (event.target.type !== "radio") return;
      tile.classList.remove(...[...tile.classList].filter((c) => /^f[xy]-\d+$/.test(c)));
      tile.classList.add(...classes(event.target.value));
    });
  });
})();
