// Progressive enhancement only: every form works without this script.
(function () {
  "use strict";

  // Confirm before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // One alt-text box per chosen image.
  var files = document.getElementById("images");
  var altBox = document.getElementById("alt-fields");
  if (files && altBox) {
    var previews = [];
    files.addEventListener("change", function () {
      var kept = {};
      altBox.querySelectorAll("textarea").forEach(function (t) { kept[t.name] = t.value; });
      previews.forEach(function (url) { URL.revokeObjectURL(url); });
      previews = [];
      altBox.textContent = "";
      Array.prototype.forEach.call(files.files, function (file, i) {
        // A small preview (a blob: URL, allowed by the CSP) so the artist sees which image they describe.
        if (window.URL && URL.createObjectURL && /^image\//.test(file.type)) {
          var img = document.createElement("img");
          img.className = "alt-preview"; img.alt = ""; img.src = URL.createObjectURL(file);
          previews.push(img.src);
          altBox.appendChild(img);
        }
        var label = document.createElement("label");
        label.htmlFor = "alt_" + i;
        label.textContent = "Alt text for " + file.name;
        var text = document.createElement("textarea");
        text.id = "alt_" + i; text.name = "alt_" + i; text.rows = 2; text.value = kept["alt_" + i] || "";
        text.placeholder = "Describe the image for people who cannot see it";
        altBox.appendChild(label); altBox.appendChild(text);
      });
    });
  }

  // Upload with a progress bar, then follow the processing state.
  var form = document.getElementById("upload-form");
  if (form && window.XMLHttpRequest && window.FormData) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      // Alt text nudge: name the images that have no description, once; the artist may still publish.
      var missing = [];
      form.querySelectorAll("#alt-fields textarea").forEach(function (t, i) {
        if (!t.value.trim()) {
          var label = form.querySelector("label[for='" + t.id + "']");
          missing.push(label ? label.textContent.replace(/^Alt text for /, "") : "image " + (i + 1));
        }
      });
      if (missing.length && form.dataset.altNudged !== "1") {
        form.dataset.altNudged = "1";
        alertBox("No description yet for: " + missing.join(", ") + ". People who use screen readers will not " +
                 "know what " + (missing.length > 1 ? "these images show" : "this image shows") +
                 ". Add alt text below, or press Publish anyway.");
        form.querySelector("button[type=submit]").textContent = "Publish anyway";
        var empty = Array.prototype.filter.call(form.querySelectorAll("#alt-fields textarea"),
                                                function (t) { return !t.value.trim(); });
        if (empty.length) { empty[0].focus(); }
        return;
      }
      var box = document.getElementById("upload-progress");
      var bar = document.getElementById("progress-bar");
      var label = document.getElementById("progress-label");
      var button = form.querySelector("button[type=submit]");
      box.hidden = false; button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round(e.loaded * 100 / e.total); label.textContent = "Uploading… " + bar.value + "%"; }
      });
      xhr.addEventListener("load", function () {
        var reply = {};
        try { reply = JSON.parse(xhr.responseText); } catch (err) { reply = {}; }
        if (xhr.status === 202 && reply.url) {
          label.textContent = "Uploaded. Processing…"; bar.removeAttribute("value");
          window.location.assign(reply.url);
        } else if (reply.errors) {
          button.disabled = false; box.hidden = true;
          var first = Object.keys(reply.errors)[0];
          alertBox(Object.keys(reply.errors).map(function (k) { return reply.errors[k]; }).join(" "));
          var input = document.getElementById(first);
          if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
        } else {
          button.disabled = false; box.hidden = true; alertBox("The upload failed (" + xhr.status + "). Please try again.");
        }
      });
      xhr.addEventListener("error", function () { button.disabled = false; box.hidden = true; alertBox("The upload failed: network error."); });
      xhr.send(new FormData(form));
    });
  }

  function alertBox(message) {
    var p = document.getElementById("form-alert");
    if (!p) { p = document.createElement("p"); p.id = "form-alert"; p.className = "error"; p.setAttribute("role", "alert"); form.prepend(p); }
    p.textContent = message;
  }

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
