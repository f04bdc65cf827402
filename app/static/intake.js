// The error summary (when the page came back with errors) takes the focus, so a screen reader
// reads it first and a keyboard user starts there.
(function () {
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
})();

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

// Optional enhancement: a KK photo over the upload limit is made smaller in the browser before
// it is sent (phone cameras often take 6-12 MB photos). Without JavaScript, or when the photo
// cannot be read, the file is sent as chosen and the server refuses it on a page that keeps
// everything typed.
(function () {
  var input = document.getElementById("f-kk_file");
  var note = document.getElementById("kk-shrunk");
  if (!input || !window.DataTransfer || !window.createImageBitmap || !HTMLCanvasElement.prototype.toBlob) { return; }
  var max = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file || !max || file.size <= max || !/^image\/(jpeg|png)$/.test(file.type)) { return; }
    createImageBitmap(file).then(function (img) {
      var scale = Math.min(1, 2400 / Math.max(img.width, img.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(img.width * scale);
      canvas.height = Math.round(img.height * scale);
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (!blob || blob.size > max) { return; }
        var smaller = new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
        var list = new DataTransfer();
        list.items.add(smaller);
        input.files = list.files;
        if (note) {
          note.textContent = (note.getAttribute("data-text") || "").replace("{size}", (blob.size / 1048576).toFixed(1) + " MB");
          note.hidden = false;
        }
      }, "image/jpeg", 0.85);
    }).catch(function () { /* not readable here: the server decides */ });
  });
})();
