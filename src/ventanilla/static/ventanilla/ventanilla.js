// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary so screen-reader and keyboard users hear it first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }

    // Selects that submit their form on change (language switcher, filters).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });

    // A select whose options follow another select: <select data-filter-by="id_region">,
    // each <option data-parent="13">. Options of other parents are hidden and disabled.
    document.querySelectorAll("select[data-filter-by]").forEach(function (child) {
      var parent = document.getElementById(child.getAttribute("data-filter-by"));
      if (!parent) { return; }
      var apply = function () {
        var value = parent.value;
        Array.prototype.forEach.call(child.options, function (option) {
          var owner = option.getAttribute("data-parent");
          if (owner === null) { return; }
          var visible = !value || owner === value;
          option.hidden = !visible;
          option.disabled = !visible;
        });
        // Hide whole <optgroup>s left without a visible option.
        Array.prototype.forEach.call(child.querySelectorAll("optgroup"), function (group) {
          var anyVisible = Array.prototype.some.call(group.children, function (o) { return !o.hidden; });
          group.hidden = !anyVisible;
        });
        var selected = child.options[child.selectedIndex];
        if (selected && selected.disabled) {
          child.value = "";
          // Setting a value from code fires no event: tell selects that follow this one.
          child.dispatchEvent(new Event("change"));
        }
      };
      parent.addEventListener("change", apply);
      apply();
    });
  });
})();
