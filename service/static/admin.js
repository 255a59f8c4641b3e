// Administration pages, progressively: without this file every control still works.
// 1. The manager list shows only people of the chosen agency (the server checks it anyway).
// 2. A reset link gets a "Copy" button.
(function () {
  "use strict";

  function followAgency(agency, manager) {
    function apply() {
      var chosen = agency.value;
      var groups = manager.querySelectorAll("optgroup");
      for (var i = 0; i < groups.length; i++) {
        var mine = groups[i].getAttribute("data-agency") === chosen;
        groups[i].hidden = !mine;
        groups[i].disabled = !mine;
      }
      var picked = manager.options[manager.selectedIndex];
      if (picked && picked.parentNode.tagName === "OPTGROUP" && picked.parentNode.disabled) {
        manager.value = "";
      }
    }
    agency.addEventListener("change", apply);
    apply();
  }

  function copyButton(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var said = document.querySelector(".copied");
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () { said.textContent = "Copied."; },
        function () { field.select(); said.textContent = "Select the link and copy it."; }
      );
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var agency = document.getElementById("agency");
    var manager = document.getElementById("manager");
    if (agency && manager) followAgency(agency, manager);
    var buttons = document.querySelectorAll("button.copy-link");
    for (var i = 0; i < buttons.length; i++) copyButton(buttons[i]);
  });
})();
