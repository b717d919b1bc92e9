// Tillit consent form: submits in place and shows the answer. No cookies, no storage; without
// this script the form still posts and the answer is a page.
(function () {
  "use strict";
  function wire(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var out = form.querySelector("[data-tillit-result]");
      var body = new URLSearchParams(new FormData(form));
      body.set("page_url", location.origin + location.pathname);
      fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "omit" })
        .then(function (res) {
          return res.json().then(function (data) { return { ok: res.ok, data: data }; });
        })
        .then(function (r) {
          if (out) { out.textContent = r.ok ? r.data.message : r.data.error; }
          if (r.ok) { form.reset(); }
        })
        .catch(function () { if (out) { out.textContent = "Network error; please try again."; } });
    });
  }
  var forms = document.querySelectorAll("form[data-tillit-consent]");
  for (var i = 0; i < forms.length; i++) { wire(forms[i]); }
})();
