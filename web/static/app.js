// Progressive enhancement only: every form works without this script.
(function () {
  "use strict";

  // Confirm before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // The upload form (chosen images, progress) lives in upload.js.

  // Full-size viewer: each image links to its largest copy; here it opens in a modal dialog instead, with its alt
  // text shown, Previous/Next (also the arrow keys and a swipe), and Esc or Close to go back where you were.
  var lightbox = document.getElementById("lightbox");
  var zooms = Array.prototype.slice.call(document.querySelectorAll("a.zoom"));
  if (lightbox && zooms.length && typeof lightbox.showModal === "function") {
    var shown = 0, opener = null, touchX = null;
    var big = document.getElementById("lightbox-img");
    var show = function (index) {
      shown = (index + zooms.length) % zooms.length;
      var link = zooms[shown];
      big.src = link.href; big.alt = link.dataset.alt || "";
      big.width = Number(link.dataset.width); big.height = Number(link.dataset.height);
      document.getElementById("lightbox-pos").textContent = zooms.length > 1 ? (shown + 1) + " / " + zooms.length : "";
      document.getElementById("lightbox-alt").textContent = link.dataset.alt || "No description was given for this image.";
      lightbox.querySelectorAll("[data-step]").forEach(function (b) { b.hidden = zooms.length < 2; });
    };
    zooms.forEach(function (link, index) {
      link.addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey) { return; }  // a new tab still gets the file
        event.preventDefault(); opener = link; show(index); lightbox.showModal();
        lightbox.querySelector("[data-close-viewer]").focus();
      });
    });
    lightbox.querySelectorAll("[data-step]").forEach(function (button) {
      button.addEventListener("click", function () { show(shown + Number(button.dataset.step)); });
    });
    lightbox.querySelector("[data-close-viewer]").addEventListener("click", function () { lightbox.close(); });
    lightbox.addEventListener("keydown", function (event) {
      if (event.key === "ArrowRight") { show(shown + 1); } else if (event.key === "ArrowLeft") { show(shown - 1); }
    });
    lightbox.addEventListener("touchstart", function (e) { touchX = e.changedTouches[0].clientX; }, { passive: true });
    lightbox.addEventListener("touchend", function (e) {
      if (touchX === null) { return; }
      var dx = e.changedTouches[0].clientX - touchX; touchX = null;
      if (Math.abs(dx) > 50) { show(shown + (dx < 0 ? 1 : -1)); }
    });
    lightbox.addEventListener("close", function () { big.removeAttribute("src"); if (opener) { opener.focus(); } });
  }

  // On an artwork still processing, poll its status and reload when it settles.
  var viewer = document.querySelector("[data-status-url]");
  if (viewer) {
    var tries = 0;
    var poll = function () {
      tries += 1;
      fetch(viewer.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          var states = s ? s.images.map(function (i) { return i.state; }).join(",") : "";
          // data-states: the images' states when the page was rendered. Compared with that (not with the
          // first poll), a change that happened between the render and the first poll (e.g. processing ->
          // cloaking, which brings the progress block) still reloads the page.
          if (s && viewer.dataset.states === undefined) { viewer.dataset.states = states; }
          if (s && (s.state !== "processing" || states !== viewer.dataset.states)) { window.location.reload(); return; }
          if (s) { showCloakProgress(s.images); }
          if (tries < 2000) { window.setTimeout(poll, Math.min(500 * tries, 3000)); }
        })
        .catch(function () { if (tries < 200) { window.setTimeout(poll, 3000); } });
    };
    window.setTimeout(poll, 500);
  }
  // Follow / like from anywhere: the visitor's buttons open a dialog asking for their home server; we
  // ask our server where to send them (JSON) and go there. Without JavaScript the buttons are plain links to
  // /interact, the same form on a page of its own.
  var HOME_COOKIE = "cara_home_server";
  function rememberedHome() {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(HOME_COOKIE + "=") === 0; })[0];
    if (!found) { return ""; }
    try { return decodeURIComponent(found.slice(HOME_COOKIE.length + 1)); } catch (err) { return ""; }
  }

  var dialog = document.getElementById("interact-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    var dialogForm = document.getElementById("interact-form");
    var handle = document.getElementById("interact-handle");
    var problem = document.getElementById("interact-error");
    var submit = dialogForm.querySelector("button[type=submit]");
    var opener = null;
    var showProblem = function (message) {
      problem.textContent = message; problem.hidden = !message;
      if (message) { handle.setAttribute("aria-invalid", "true"); } else { handle.removeAttribute("aria-invalid"); }
    };
    document.querySelectorAll("a[data-interact]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        opener = link;
        document.getElementById("interact-title").textContent = link.dataset.interact;
        dialogForm.querySelectorAll("input[type=hidden]").forEach(function (input) { input.remove(); });
        new URL(link.href, window.location.href).searchParams.forEach(function (value, name) {
          var input = document.createElement("input");
          input.type = "hidden"; input.name = name; input.value = value;
          dialogForm.prepend(input);
        });
        showProblem("");
        handle.value = handle.value || rememberedHome();
        submit.disabled = false;
        dialog.showModal();
        handle.focus();
        handle.select();
      });
    });
    dialog.addEventListener("close", function () { if (opener) { opener.focus(); } });
    dialog.querySelector("[data-close]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { dialog.close(); } });
    dialogForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = new URLSearchParams(new FormData(dialogForm)).toString();
      // getAttribute: the hidden input named "action" shadows the form's .action property.
      var fallback = dialogForm.getAttribute("action") + "?" + query;
      submit.disabled = true; showProblem("");
      fetch(fallback, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json().catch(function () { return { error: "Something went wrong (" + r.status + ")." }; }); })
        .then(function (reply) {
          if (reply.url) { window.location.assign(reply.url); return; }
          submit.disabled = false; showProblem(reply.error || "That did not work."); handle.focus();
        })
        .catch(function () { window.location.assign(fallback); });  // the page version shows what went wrong
    });
  }

  // Copy buttons (shown only with JavaScript; the readonly field beside them can always be selected).
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.copy + "-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { if (status) { status.textContent = "Copied: " + field.value; } };
      field.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else { document.execCommand("copy"); done(); }
    });
  });

  // A remote artwork we are still fetching for /authorize_interaction: look again shortly, a bounded number of times.
  if (document.querySelector("[data-reload-while-fetching]")) {
    var key = "reloads:" + window.location.href;
    var reloads = Number(sessionStorage.getItem(key) || 0);
    if (reloads < 30) {
      window.setTimeout(function () { sessionStorage.setItem(key, String(reloads + 1)); window.location.reload(); }, 1000);
    }
  }

  // Cloaking: percent and time left, updated in place.
  function showCloakProgress(images) {
    images.forEach(function (image) {
      var row = document.querySelector('[data-image-id="' + image.id + '"]');
      if (!row || image.state !== "cloaking") { return; }
      var bar = row.querySelector(".cloak-progress");
      var text = row.querySelector(".cloak-text");
      if (bar) { bar.value = image.progress; bar.textContent = image.progress + "%"; }
      if (text) {
        var eta = image.eta_seconds;
        text.textContent = image.progress + "% · " + (eta === null ? "estimating time left" :
          eta < 60 ? "less than a minute left" : "about " + Math.ceil(eta / 60) + " min left");
      }
    });
  }
})();
