/* onetime: small enhancements. Every page works without this file; it only adds comfort:
   copy buttons, the passphrase show/hide toggle, the language and theme switches, local times.
   It stores nothing in the browser and talks to no one but this server. */
(function () {
  "use strict";

  var announcer = document.getElementById("announcer");

  function announce(text) {
    if (!announcer || !text) return;
    // Clear first, so that the same words twice in a row are read out twice.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 60);
  }

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  /* Copy buttons: <button data-copy="field-id" hidden>. */
  function selectAll(field) {
    field.focus();
    field.select();
    try { field.setSelectionRange(0, field.value.length); } catch (ignored) { /* not a text field */ }
  }

  function copyBySelecting(field) {
    selectAll(field);
    try { return document.execCommand("copy"); } catch (ignored) { return false; }
  }

  function confirmCopy(button, copied) {
    if (!copied) {
      announce(announcer && announcer.getAttribute("data-selected"));
      return;
    }
    var words = announcer && announcer.getAttribute("data-copied");
    announce(words);
    button.classList.add("is-done");
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () { button.classList.remove("is-done"); }, 2000);
  }

  each("button[data-copy]", function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = field.value;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { confirmCopy(button, true); },
          function () { confirmCopy(button, copyBySelecting(field)); }
        );
      } else {
        confirmCopy(button, copyBySelecting(field));
      }
    });
  });

  /* A click in a read-only link or password selects all of it, ready to copy by hand. */
  each("input[readonly], textarea#generated-password", function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });

  /* Show or hide a passphrase: <button data-toggle-password="input-id" hidden>. */
  each("button[data-toggle-password]", function (button) {
    var input = document.getElementById(button.getAttribute("data-toggle-password"));
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = button.getAttribute(show ? "data-hide" : "data-show");
    });
    if (input.form) {
      // Never hand a visible passphrase to the browser's form history.
      input.form.addEventListener("submit", function () {
        input.type = "password";
        button.textContent = button.getAttribute("data-show");
      });
    }
  });

  /* The language switch applies as soon as a language is picked. */
  var langForm = document.getElementById("lang-form");
  if (langForm) {
    var langSubmit = document.getElementById("lang-submit");
    var langSelect = document.getElementById("lang");
    if (langSubmit) langSubmit.hidden = true;
    if (langSelect) {
      langSelect.addEventListener("change", function () {
        if (langForm.requestSubmit) langForm.requestSubmit(); else langForm.submit();
      });
    }
  }

  /* The theme switch applies at once, without leaving the page; the choice is still posted
     so that the server remembers it (the cookie is set only because the visitor chose). */
  var themeForm = document.getElementById("theme-form");
  if (themeForm) {
    themeForm.hidden = false; // pages shown only once keep it hidden unless this script runs

    var applyTheme = function (value) {
      var root = document.documentElement;
      if (value === "light" || value === "dark") root.setAttribute("data-theme", value);
      else root.removeAttribute("data-theme");
      each("#theme-form button[name=theme]", function (button) {
        button.setAttribute("aria-pressed", button.value === value ? "true" : "false");
      });
    };

    themeForm.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || button.name !== "theme" || !window.fetch || !window.URLSearchParams) return;
      event.preventDefault();
      applyTheme(button.value);
      var body = new URLSearchParams();
      body.set("theme", button.value);
      body.set("next", "/");
      var csrf = themeForm.querySelector("input[name=csrf]");
      if (csrf) body.set("csrf", csrf.value); // signed-in people's forms carry their token
      window.fetch(themeForm.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        redirect: "manual"
      }).catch(function () { /* the page already shows the theme; it is just not remembered */ });
    });
  }

  /* Times are written in UTC by the server; show them in the reader's own time zone. */
  var lang = document.documentElement.getAttribute("lang") || undefined;
  each("time[data-local]", function (element) {
    var when = new Date(element.getAttribute("datetime"));
    if (isNaN(when.getTime()) || !window.Intl) return;
    try {
      element.textContent = new Intl.DateTimeFormat(lang, {
        year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
        timeZoneName: "short"
      }).format(when);
    } catch (ignored) { /* keep the UTC time */ }
  });
})();
