// The live strength meter: an enhancement only. For each form marked
// data-meter ("flow", "reset" or "account"), the new password's input
// gets a meter under it; what is typed goes, with the form's CSRF token,
// to the portal, which answers with the words to show.
(function () {
  "use strict";
  function attach(form) {
    var input = form.querySelector('input[autocomplete="new-password"][name$=".password"]');
    var csrf = form.querySelector('input[name="csrf"]');
    if (!input || !csrf || !window.fetch) { return; }
    var box = document.createElement("div");
    box.className = "meter";
    var meter = document.createElement("meter");
    meter.min = 0; meter.max = 4; meter.low = 2; meter.high = 3; meter.optimum = 4; meter.value = 0;
    meter.id = input.id + "-meter";
    var status = document.createElement("p");
    status.setAttribute("aria-live", "polite");
    status.id = input.id + "-strength";
    var problems = document.createElement("ul");
    problems.className = "problems";
    box.appendChild(meter); box.appendChild(status); box.appendChild(problems);
    input.parentNode.insertBefore(box, input.nextSibling);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + status.id);
    var timer = null, asked = 0;
    function ask() {
      var sent = ++asked;
      var body = new URLSearchParams();
      body.set("csrf", csrf.value);
      body.set("for", form.getAttribute("data-meter"));
      body.set("candidate", input.value);
      fetch(form.getAttribute("data-meter-url"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (answer) {
        if (!answer || sent !== asked) { return; }
        meter.value = answer.score;
        meter.setAttribute("aria-label", answer.title);
        status.textContent = answer.title + " " + answer.label;
        status.className = answer.acceptable ? "acceptable" : "";
        problems.textContent = "";
        answer.problems.forEach(function (text) {
          var li = document.createElement("li");
          li.textContent = text;
          problems.appendChild(li);
        });
      }).catch(function () {});
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      if (input.value === "") { status.textContent = ""; problems.textContent = ""; meter.value = 0; return; }
      timer = setTimeout(ask, 250);
    });
  }
  var forms = document.querySelectorAll("form[data-meter]");
  for (var i = 0; i < forms.length; i++) { attach(forms[i]); }
})();
