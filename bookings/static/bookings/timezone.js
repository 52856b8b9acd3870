// Shows the calendar in the browser's timezone: once, and only while the address names none.
// A `tz` in the address (picked in the select, or put there by this script) always wins,
// so the student can still choose another zone. Without JavaScript the select does the same job.
(function () {
  "use strict";
  var form = document.querySelector("form[data-detect-timezone]");
  if (!form || !window.Intl) return;
  var params = new URLSearchParams(window.location.search);
  if (params.has("tz")) return;
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  var select = form.querySelector("select[name=tz]");
  if (!zone || !select || zone === select.value) return;
  var known = Array.prototype.some.call(select.options, function (option) {
    return option.value === zone;
  });
  if (!known) return;
  params.set("tz", zone);
  window.location.replace(window.location.pathname + "?" + params.toString() + window.location.hash);
})();
