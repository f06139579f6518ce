// The census form (GET /m/census): builds the JSON of POST /resources from the fields of the chosen kind.
(function () {
  "use strict";
  var form = document.getElementById("census");
  var kind = document.getElementById("kind");
  var result = document.getElementById("result");

  function show() {
    form.querySelectorAll("fieldset[data-for]").forEach(function (fs) { fs.hidden = fs.dataset.for !== kind.value; });
  }
  function num(name) {
    var v = form.elements[name].value.trim();
    return v === "" ? null : Number(v);
  }
  function text(name) {
    var v = form.elements[name].value.trim();
    return v === "" ? null : v;
  }
  function supplies() {
    return form.elements.supplies.value.split("\n").map(function (line) { return line.trim(); })
      .filter(function (line) { return line; }).map(function (line) {
        var p = line.split(/[,，]/).map(function (s) { return s.trim(); });
        return { name: p[0], category: p[1] || null, quantity: Number(p[2] || 0), unit: p[3] || null };
      });
  }
  function body() {
    var b = { kind: kind.value, name: text("name"), region: form.elements.region.value, address: text("address"),
              lon: num("lon"), lat: num("lat") };
    if (kind.value === "team") {
      b.teamType = text("teamType"); b.members = num("members"); b.equipment = text("equipment");
    } else if (kind.value === "warehouse") {
      b.areaM2 = num("areaM2"); b.supplies = supplies();
    } else {
      b.shelterType = text("shelterType"); b.capacityPeople = num("capacityPeople"); b.areaM2 = num("shelterArea");
      var f = text("facilities");
      b.facilities = f ? f.split(/[、,，]/).map(function (s) { return s.trim(); }).filter(Boolean) : [];
    }
    Object.keys(b).forEach(function (k) { if (b[k] === null) { delete b[k]; } });
    return b;
  }
  kind.addEventListener("change", show);
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    result.hidden = false;
    result.textContent = "提交中…";
    fetch("/resources", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body()) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (res.ok) {
          result.dataset.id = res.body.id;
          result.textContent = "已提交，登记编号 " + res.body.id + "，等待所在地应急管理部门审核。";
        } else {
          result.textContent = "未能提交：" + ((res.body.error && res.body.error.message) || "请检查填写内容");
        }
      })
      .catch(function () { result.textContent = "网络不可用，请稍后再试。"; });
  });
  show();
})();
