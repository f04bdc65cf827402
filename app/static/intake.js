// Optional enhancement: fill latitude/longitude from the phone's location. The form works without it.
(function () {
  var button = document.getElementById("use-location");
  if (!button || !navigator.geolocation) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("f-lat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("f-lon").value = pos.coords.longitude.toFixed(6);
    }, function () { button.disabled = true; }, { enableHighAccuracy: true, timeout: 15000 });
  });
})();
