// Operator console: drafts saved while typing (server + this browser), keyboard helpers.
// Progressive enhancement: every form works without this file (then a draft is kept only
// when a submitted form has errors).
(function () {
  "use strict";

  var SAVE_DELAY_MS = 1000;
  var MAX_BYTES = 64 * 1024;
  // Local copies hold personal data: on a shared counter computer they must not linger.
  var LOCAL_TTL_MS = 12 * 60 * 60 * 1000;
  var PREFIX = "ventanilla:operator:";

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function readLocal(key) {
    var store = storage();
    if (!store || !key) { return null; }
    try {
      var value = JSON.parse(store.getItem(key) || "null");
      return value && typeof value.savedAt === "number" && value.fields ? value : null;
    } catch (e) { return null; }
  }

  function writeLocal(key, value) {
    var store = storage();
    if (!store || !key) { return; }
    try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* full or disabled */ }
  }

  function removeLocal(key) {
    var store = storage();
    if (store && key) { try { store.removeItem(key); } catch (e) { /* ignore */ } }
  }

  function purgeExpired() {
    var store = storage();
    if (!store) { return; }
    var now = Date.now();
    for (var i = store.length - 1; i >= 0; i -= 1) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) {
        var value = readLocal(key);
        if (!value || now - value.savedAt > LOCAL_TTL_MS) { removeLocal(key); }
      }
    }
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(ms) { var d = new Date(ms); return pad(d.getHours()) + ":" + pad(d.getMinutes()); }

  function draftable(element) {
    return element.name && element.name !== "csrfmiddlewaretoken" && element.type !== "file" &&
      element.type !== "submit" && element.type !== "button" && !element.disabled;
  }

  function readFields(form) {
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!draftable(element)) { return; }
      if (element.type === "radio" || element.type === "checkbox") {
        if (element.checked) { fields[element.name] = element.value; }
        else if (!(element.name in fields)) { fields[element.name] = ""; }
      } else {
        fields[element.name] = element.value;
      }
    });
    return fields;
  }

  function applyFields(form, fields) {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!draftable(element) || !(element.name in fields)) { return; }
      var value = fields[element.name];
      if (element.type === "radio" || element.type === "checkbox") {
        element.checked = element.value === value;
      } else if (element.value !== value) {
        element.value = value;
        // Selects that filter others (region → comuna → establishment) must hear it.
        element.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  function setupDraftForm(form) {
    var key = form.getAttribute("data-draft-key");
    var url = form.getAttribute("data-draft-url");
    var status = form.querySelector("[data-draft-status]");
    var notice = document.querySelector("[data-draft-notice]");
    var serverSavedAt = parseInt(form.getAttribute("data-draft-saved-at") || "0", 10) || 0;
    var tokenInput = form.querySelector("input[name=csrfmiddlewaretoken]");
    var timer = null;
    var dirty = false;
    var submitting = false;
    var inFlight = false;

    function say(text) { if (status) { status.textContent = text; } }

    function showNotice(ms) {
      if (!notice) { return; }
      var time = notice.querySelector("[data-draft-notice-time]");
      if (time) { time.textContent = clock(ms); }
      notice.hidden = false;
    }

    function remember(synced) {
      var value = { savedAt: Date.now(), fields: readFields(form), synced: synced };
      writeLocal(key, value);
      return value;
    }

    function send() {
      timer = null;
      if (submitting || inFlight) { return; }
      var local = readLocal(key) || remember(false);
      var body = JSON.stringify({
        kind: form.getAttribute("data-draft-kind"),
        citizen: form.getAttribute("data-draft-citizen") || null,
        fields: local.fields
      });
      if (body.length > MAX_BYTES) { say(form.getAttribute("data-msg-too-large")); return; }
      if (navigator.onLine === false) {
        say(form.getAttribute("data-msg-local") + " " + clock(local.savedAt));
        return;
      }
      inFlight = true;
      dirty = false;
      fetch(url, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "Content-Type": "application/json", "X-CSRFToken": tokenInput ? tokenInput.value : "" }
      }).then(function (response) {
        inFlight = false;
        if (response.status === 413) { say(form.getAttribute("data-msg-too-large")); return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        if (!data || !data.saved) { return; }
        var current = readLocal(key);
        // Typing may have continued meanwhile: only a copy that was sent is marked synced.
        if (dirty) { schedule(); return; }
        if (current) { current.synced = true; writeLocal(key, current); }
        say(form.getAttribute("data-msg-saved") + " " + data.saved_at_label);
      }).catch(function () {
        inFlight = false;
        dirty = true;
        say(form.getAttribute("data-msg-local") + " " + clock(local.savedAt));
      });
    }

    function schedule() {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(send, SAVE_DELAY_MS);
    }

    function changed() {
      if (submitting) { return; }
      dirty = true;
      remember(false);
      say(form.getAttribute("data-msg-saving"));
      schedule();
    }

    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("focusout", function () {
      if (dirty && !submitting) { if (timer) { clearTimeout(timer); } send(); }
    });
    form.addEventListener("submit", function () {
      submitting = true;
      if (timer) { clearTimeout(timer); timer = null; }
      // The local copy stays until the next page confirms the submission worked.
    });
    window.addEventListener("online", function () {
      var local = readLocal(key);
      if (local && !local.synced) { send(); }
    });

    var discard = document.querySelector("[data-draft-discard]");
    if (discard) {
      discard.addEventListener("submit", function () { submitting = true; removeLocal(key); });
    }

    // Restore: the server copy is already in the fields; a newer local one wins.
    if (!form.hasAttribute("data-draft-bound")) {
      var local = readLocal(key);
      // Unsent typing on this browser, or a copy newer than the server's.
      if (local && (!local.synced || local.savedAt > serverSavedAt) &&
          JSON.stringify(local.fields) !== JSON.stringify(readFields(form))) {
        applyFields(form, local.fields);
        showNotice(local.savedAt);
        if (!local.synced) { dirty = true; schedule(); }
      }
    }
  }

  function setupResults() {
    var list = document.querySelector("[data-operator-results]");
    var search = document.getElementById("operator-lookup-q");
    if (!list) { return; }
    var links = Array.prototype.slice.call(list.querySelectorAll("a"));
    if (!links.length) { return; }
    if (search) {
      search.addEventListener("keydown", function (event) {
        if (event.key === "ArrowDown") { event.preventDefault(); links[0].focus(); }
      });
    }
    list.addEventListener("keydown", function (event) {
      var index = links.indexOf(document.activeElement);
      if (index < 0) { return; }
      if (event.key === "ArrowDown" && index < links.length - 1) {
        event.preventDefault(); links[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (index > 0) { links[index - 1].focus(); } else if (search) { search.focus(); }
      }
    });
  }

  // Access keys behave differently per browser (Alt, Alt+Shift, Control+Option): Alt+letter
  // works everywhere here. Links are followed, fields get the focus.
  function setupAccessKeys() {
    document.addEventListener("keydown", function (event) {
      if (!event.altKey || event.ctrlKey || event.metaKey) { return; }
      var match = /^Key([A-Z])$/.exec(event.code || "");
      if (!match) { return; }
      var target = document.querySelector("[accesskey='" + match[1].toLowerCase() + "']");
      if (!target || target.offsetParent === null) { return; }
      event.preventDefault();
      if (target.tagName === "A") { target.click(); } else { target.focus(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupAccessKeys();
    purgeExpired();
    var page = document.querySelector("[data-operator-page]");
    if (page && page.getAttribute("data-clear-drafts")) {
      page.getAttribute("data-clear-drafts").split(" ").forEach(removeLocal);
    }
    document.querySelectorAll("form[data-operator-draft]").forEach(setupDraftForm);
    setupResults();
  });
})();
