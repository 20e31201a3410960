// The upload page (and "Add images" on the edit page): progressive enhancement only, the plain file input and
// form work without this script.
//
// Chosen files become a list the artist can reorder (Move up / Move down) and trim (Remove) before sending, each
// with its preview and its own alt text box, which moves with its image. The list is the truth: the file input's
// FileList is rebuilt from it (DataTransfer) after every change, and the upload sends files and alt_0, alt_1, …
// in list order, so the order the artist sees is the order the images are stored in.
(function () {
  "use strict";

  var input = document.getElementById("images");
  var altBox = document.getElementById("alt-fields");
  var form = document.getElementById("upload-form");
  var chosen = [];  // {file, url, item}: one per listed image, in the order shown
  var list = null, status = null, unreadableCount = 0;

  function alertBox(message) {
    var p = document.getElementById("form-alert");
    if (!p) {
      p = document.createElement("p"); p.id = "form-alert"; p.className = "error"; p.setAttribute("role", "alert");
      form.prepend(p);
    }
    p.textContent = message;
  }

  // Put the listed files back into the input (a plain submit, e.g. the edit page, then sends them in this order).
  function syncInput() {
    if (typeof DataTransfer !== "function") { return; }
    try {
      var transfer = new DataTransfer();
      chosen.forEach(function (entry) { transfer.items.add(entry.file); });
      input.files = transfer.files;
    } catch (err) { /* an old browser: the XHR upload below still sends the list's order */ }
  }

  function button(text, label, onClick) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "button small"; b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  // Number the rows, name the alt boxes after their place (alt_0 is the first image) and set which moves exist.
  function renumber() {
    chosen.forEach(function (entry, i) {
      var item = entry.item, name = entry.file.name;
      item.querySelector(".chosen-place").textContent = "Image " + (i + 1) + " of " + chosen.length;
      var text = item.querySelector("textarea");
      text.id = "alt_" + i; text.name = "alt_" + i;
      item.querySelector("label").htmlFor = text.id;
      item.querySelector("[data-move='-1']").disabled = i === 0;
      item.querySelector("[data-move='1']").disabled = i === chosen.length - 1;
      item.querySelector("[data-move='-1']").setAttribute("aria-label", "Move up: " + name);
      item.querySelector("[data-move='1']").setAttribute("aria-label", "Move down: " + name);
    });
    list.hidden = chosen.length === 0;
    syncInput();
  }

  function move(entry, step) {
    var at = chosen.indexOf(entry), to = at + step;
    if (to < 0 || to >= chosen.length) { return; }
    chosen.splice(at, 1); chosen.splice(to, 0, entry);
    // Move the row itself: its preview and the alt text typed into it go along.
    list.insertBefore(entry.item, step < 0 ? chosen[to + 1].item : chosen[to - 1].item.nextSibling);
    renumber();
    status.textContent = entry.file.name + " is now image " + (to + 1) + " of " + chosen.length + ".";
    // Keep the focus on the moved image's button (or its other one at the end of the list), so a keyboard
    // user can press it again.
    var again = entry.item.querySelector("[data-move='" + step + "']");
    (again.disabled ? entry.item.querySelector("[data-move='" + -step + "']") : again).focus();
  }

  function remove(entry) {
    var at = chosen.indexOf(entry);
    chosen.splice(at, 1);
    entry.item.remove();
    if (entry.url) { URL.revokeObjectURL(entry.url); }
    renumber();
    status.textContent = entry.file.name + " removed; " + chosen.length + (chosen.length === 1 ? " image" : " images") +
      " left.";
    var next = chosen[Math.min(at, chosen.length - 1)];
    (next ? next.item.querySelector("[data-remove]") : input).focus();
  }

  function unreadable(entry, preview) {
    entry.bad = true;
    var note = document.createElement("p");
    unreadableCount += 1;
    note.className = "error chosen-bad"; note.id = "unreadable-" + unreadableCount;
    note.textContent = "This file is not an image we can read. Remove it, or choose another file.";
    if (preview) { preview.remove(); }
    entry.item.querySelector(".chosen-place").after(note);
    entry.item.classList.add("bad");
    entry.item.querySelector("textarea").setAttribute("aria-describedby", note.id);
  }

  function add(file, altText) {
    var entry = { file: file, url: null, item: document.createElement("li"), bad: false };
    var item = entry.item;
    item.className = "chosen";
    var figure = document.createElement("div");
    figure.className = "chosen-figure";
    var body = document.createElement("div");
    body.className = "chosen-body";
    var place = document.createElement("p");
    place.className = "chosen-place help";
    var label = document.createElement("label");
    label.textContent = "Alt text for " + file.name;
    var text = document.createElement("textarea");
    text.rows = 2; text.value = altText || "";
    text.placeholder = "Describe the image for people who cannot see it";
    var controls = document.createElement("div");
    controls.className = "chosen-controls";
    controls.appendChild(button("Move up", "Move up: " + file.name, function () { move(entry, -1); }));
    controls.appendChild(button("Move down", "Move down: " + file.name, function () { move(entry, 1); }));
    var drop = button("Remove", "Remove " + file.name, function () { remove(entry); });
    drop.dataset.remove = "1"; drop.classList.add("danger");
    controls.appendChild(drop);
    controls.children[0].dataset.move = "-1"; controls.children[1].dataset.move = "1";
    body.appendChild(place); body.appendChild(label); body.appendChild(text); body.appendChild(controls);
    item.appendChild(figure); item.appendChild(body);
    list.appendChild(item);
    chosen.push(entry);
    // A small preview (a blob: URL, allowed by the CSP). A file that does not decode (a text file renamed .png)
    // says so on its row instead of showing a broken image; the server refuses it with its reason too.
    if (window.URL && URL.createObjectURL && /^image\//.test(file.type)) {
      var img = document.createElement("img");
      img.className = "alt-preview"; img.alt = "";
      img.addEventListener("error", function () { unreadable(entry, img); });
      entry.url = img.src = URL.createObjectURL(file);
      figure.appendChild(img);
    } else {
      unreadable(entry, null);
    }
  }

  if (input && altBox) {
    var typed = altBox.querySelector("textarea");  // typed before the script ran: goes to the first image
    var kept = typed ? typed.value : "";
    altBox.textContent = "";
    list = document.createElement("ol");
    list.className = "chosen-images"; list.hidden = true;
    list.setAttribute("aria-label", "Chosen images, in the order they will appear");
    status = document.createElement("p");
    status.className = "sr-only"; status.setAttribute("role", "status");
    altBox.appendChild(list); altBox.appendChild(status);
    input.addEventListener("change", function () {
      // Choosing again adds to the list; Remove takes one out.
      Array.prototype.forEach.call(input.files, function (file) { add(file, chosen.length ? "" : kept); });
      renumber();
      status.textContent = chosen.length + (chosen.length === 1 ? " image" : " images") + " chosen.";
    });
    var help = document.getElementById("images-help") || document.getElementById("add-help");
    if (help) {
      var more = document.createElement("span");
      more.textContent = " Choosing again adds to the list; reorder or remove images below before publishing.";
      help.appendChild(more);
    }
  }

  // Upload with a progress bar, then follow the processing state.
  if (form && window.XMLHttpRequest && window.FormData) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var bad = chosen.filter(function (entry) { return entry.bad; });
      if (bad.length) {
        alertBox("Not an image we can read: " + bad.map(function (e) { return e.file.name; }).join(", ") +
                 ". Remove it to publish.");
        bad[0].item.querySelector("[data-remove]").focus();
        return;
      }
      // Alt text nudge: name the images that have no description, once; the artist may still publish.
      var missing = chosen.filter(function (entry) { return !entry.item.querySelector("textarea").value.trim(); })
        .map(function (entry) { return entry.file.name; });
      if (missing.length && form.dataset.altNudged !== "1") {
        form.dataset.altNudged = "1";
        alertBox("No description yet for: " + missing.join(", ") + ". People who use screen readers will not " +
                 "know what " + (missing.length > 1 ? "these images show" : "this image shows") +
                 ". Add alt text below, or press Publish anyway.");
        form.querySelector("button[type=submit]").textContent = "Publish anyway";
        var empty = chosen.filter(function (entry) { return !entry.item.querySelector("textarea").value.trim(); });
        if (empty.length) { empty[0].item.querySelector("textarea").focus(); }
        return;
      }
      var box = document.getElementById("upload-progress");
      var bar = document.getElementById("progress-bar");
      var label = document.getElementById("progress-label");
      var submit = form.querySelector("button[type=submit]");
      box.hidden = false; submit.disabled = true;
      var data = new FormData(form);
      if (list) {  // the files in the list's order (alt_N already follow it)
        data.delete("images");
        chosen.forEach(function (entry) { data.append("images", entry.file, entry.file.name); });
      }
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
          submit.disabled = false; box.hidden = true;
          var first = Object.keys(reply.errors)[0];
          alertBox(Object.keys(reply.errors).map(function (k) { return reply.errors[k]; }).join(" "));
          var field = document.getElementById(first);
          if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
        } else {
          submit.disabled = false; box.hidden = true; alertBox("The upload failed (" + xhr.status + "). Please try again.");
        }
      });
      xhr.addEventListener("error", function () { submit.disabled = false; box.hidden = true; alertBox("The upload failed: network error."); });
      xhr.send(data);
    });
  }
})();
