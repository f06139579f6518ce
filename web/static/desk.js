/* The bureau's desk pages (web/desk.py): every page is filled from the JSON API with the signed-in
 * user's token (sessionStorage 'rg-token', shared with the scan page), so it shows exactly what the API
 * gives that user. Chinese names come from /pages/labels.json (the ontology); charts are ECharts,
 * served by the service (no CDN). */
(function () {
  'use strict';
  var TOKEN = 'rg-token';
  var main = document.getElementById('main');
  var content = document.getElementById('content');
  var ARGS = JSON.parse(main.getAttribute('data-args'));
  var L = null;                       // the ontology's labels
  var ME = { role: 'public', regions: [] };
  var PENDING = [];                   // loads a page starts after its first render (graph, QR): done before data-ready

  // ------------------------------------------------------------------ plumbing
  function token() { return sessionStorage.getItem(TOKEN); }
  function api(path, opts) {
    opts = opts || {};
    var headers = opts.headers || {};
    if (token()) { headers.Authorization = 'Bearer ' + token(); }
    if (opts.json !== undefined) { headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(opts.json); }
    return fetch(path, { method: opts.method || 'GET', headers: headers, body: opts.body }).then(function (r) {
      if (opts.raw && r.ok) { return r; }
      return r.text().then(function (t) {
        var body = t ? JSON.parse(t) : null;
        if (!r.ok) {
          var err = new Error((body && body.error && body.error.message) || ('HTTP ' + r.status));
          err.status = r.status; throw err;
        }
        return body;
      });
    });
  }
  function qs(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== null && params[k] !== '') { parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(params[k])); }
    });
    return parts.length ? '?' + parts.join('&') : '';
  }
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) { return; }
      if (k === 'text') { node.textContent = v; } else if (k === 'on') { Object.keys(v).forEach(function (e) { node.addEventListener(e, v[e]); }); }
      else if (k === 'style') { node.setAttribute('style', v); } else { node.setAttribute(k, v === true ? '' : v); }
    });
    for (var i = 2; i < arguments.length; i++) { add(node, arguments[i]); }
    return node;
  }
  function add(node, child) {
    if (child === undefined || child === null || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { add(node, c); }); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  function say(text, error) {
    var s = document.getElementById('status');
    s.textContent = text; s.hidden = false; s.className = 'status' + (error ? ' error' : '');
  }
  function heading() {  // the page's h1: text and chips (null parts left out)
    var h = document.getElementById('title');
    h.replaceChildren();
    add(h, Array.prototype.slice.call(arguments));
  }
  function card(title, body, wide) { return el('section', { 'class': 'card' + (wide ? ' wide' : '') }, el('h2', { text: title }), body); }
  function empty(text) { return el('p', { 'class': 'muted', text: text || '暂无数据' }); }
  function signedIn(roles) { return roles.indexOf(ME.role) >= 0; }
  function needs(roles) {
    if (signedIn(roles)) { return true; }
    content.replaceChildren(empty(ME.role === 'public' ? '请先登录（右上角）。' : '当前账号的角色无权查看本页。'));
    return false;
  }

  // ------------------------------------------------------------------ labels (the ontology's)
  var UNKNOWN = '—';
  function cls(label) { return (L.classes[label]) || UNKNOWN; }
  function prop(label, name) { return ((L.properties[label] || {})[name]) || UNKNOWN; }
  function concept(scheme, notation) {
    var v = L.vocabularies[scheme];
    return (v && v.concepts[notation]) || UNKNOWN;
  }
  function value(label, name, v) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) { return UNKNOWN; }
    var scheme = (L.vocabularyOf[label] || {})[name];
    if (name === 'tags') { return [].concat(v).map(function (t) { return L.tags[t] || t; }).join('、'); }
    if (scheme) { return [].concat(v).map(function (x) { return concept(scheme, x); }).join('、'); }
    if (typeof v === 'boolean') { return v ? '是' : '否'; }
    if (Array.isArray(v)) { return v.some(function (x) { return x && typeof x === 'object'; }) ? UNKNOWN : v.join('、'); }
    if (typeof v === 'object') { return UNKNOWN; }
    var t = String(v);
    if (t.length >= 19 && t.charAt(10) === 'T') { return t.slice(0, 16).replace('T', ' '); }
    if (typeof v === 'number' && !Number.isInteger(v)) { return String(Math.round(v * 100) / 100); }
    return t;
  }
  function colour(notation) {
    for (var i = 0; i < L.colours.length; i++) { if (L.colours[i].notation === notation) { return L.colours[i]; } }
    return { notation: null, label: '未评定', hex: L.neutral };
  }
  function chip(notation, suffix) {
    var c = colour(notation);
    return el('span', { 'class': 'chip', style: '--chip:' + c.hex, 'data-colour': c.notation || '' }, c.label + (suffix || ''));
  }
  function props(label, p, skip) {
    var dl = el('dl', { 'class': 'props' });
    var hidden = L.hidden.concat(L.internal[label] || [], skip || []);
    Object.keys(L.properties[label] || {}).forEach(function (name) {
      if (hidden.indexOf(name) >= 0 || !(name in p) || p[name] === null || p[name] === '' || typeof p[name] === 'object' && !Array.isArray(p[name])) { return; }
      var dd = el('dd', { 'data-prop': name, text: value(label, name, p[name]) });
      if (name === 'regionCode') { regionName(String(p[name]), dd); }
      add(dl, [el('dt', { text: prop(label, name) }), dd]);
    });
    return dl.childNodes.length ? dl : empty();
  }
  var REGIONS = {};
  function regionName(code, node) {  // a GB/T 2260 code is shown as the region's name (its node's, via the API)
    if (!REGIONS[code]) { REGIONS[code] = api('/regions/' + encodeURIComponent(code) + '/risk').then(function (r) { return r.subject.properties.name || code; }, function () { return code; }); }
    PENDING.push(REGIONS[code].then(function (name) { node.textContent = name; }));
  }
  function title(label, p) {
    if (p.name) { return String(p.name); }
    var parts = [cls(label)];
    var vocab = L.vocabularyOf[label] || {};
    for (var name in vocab) { if (p[name] && L.hidden.indexOf(name) < 0) { parts.push(value(label, name, p[name])); break; } }
    return parts.join(' · ');
  }
  var PAGE_OF = { Enterprise: 'enterprises', RiskPoint: 'risk-points', NaturalDisasterRiskPoint: 'disaster-points',
                  RescueTeam: 'rescue-teams', Warehouse: 'warehouses', Shelter: 'shelters', Region: 'regions', Industry: 'industries' };
  function link(label, key, text) {
    var page = PAGE_OF[label];
    return page && key ? el('a', { href: '/pages/' + page + '/' + encodeURIComponent(key), text: text }) : el('span', { text: text });
  }
  function table(heads, rows) {
    return el('table', {}, el('thead', {}, el('tr', {}, heads.map(function (h) { return el('th', { text: h }); }))),
      el('tbody', {}, rows.map(function (r) { return el('tr', {}, r.map(function (c) { return el('td', {}, c); })); })));
  }
  function chart(option, tall) {
    var box = el('div', { 'class': 'chart' + (tall ? ' tall' : '') });
    var wall = document.body.getAttribute('data-page') === 'dashboard';  // the wall screen is dark: ECharts' own dark theme
    if (wall) { option.backgroundColor = 'transparent'; }
    setTimeout(function () { echarts.init(box, wall ? 'dark' : null).setOption(option); }, 0);
    return box;
  }
  function chartFont() { return { fontFamily: 'WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif' }; }

  // ------------------------------------------------------------------ sign-in and navigation
  function account() {
    var who = document.getElementById('who'), form = document.getElementById('signin'), out = document.getElementById('signout');
    if (ME.username) { who.textContent = ME.username + '（' + roleName(ME.role) + '）'; out.hidden = false; form.hidden = true; }
    else { who.textContent = '未登录'; form.hidden = false; out.hidden = true; }
    document.querySelectorAll('[data-roles]').forEach(function (a) { a.hidden = a.getAttribute('data-roles').split(' ').indexOf(ME.role) < 0; });
    form.onsubmit = function (ev) {
      ev.preventDefault();
      fetch('/auth/token', { method: 'POST', body: new URLSearchParams(new FormData(form)) }).then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) { say('登录失败：账号或密码错误', true); return; }
          sessionStorage.setItem(TOKEN, b.access_token); location.reload();
        });
      });
    };
    out.onclick = function () { sessionStorage.removeItem(TOKEN); location.reload(); };
  }
  var ROLE_ZH = { 'public': '公众', enterprise: '企业', inspector: '监管人员', analyst: '分析人员', admin: '管理员' };
  function roleName(r) { return ROLE_ZH[r] || r; }
  function covers(region) {
    if (ME.role === 'admin' || ME.role === 'analyst') { return true; }
    if (ME.role !== 'inspector' || !region) { return false; }
    return ME.regions.some(function (code) { return String(region).indexOf(code.replace(/(00)+$/, '')) === 0; });
  }

  // ------------------------------------------------------------------ pages
  var PAGES = {};

  PAGES.search = function () {
    var q = ARGS.query, facetNames = { colour: '风险颜色', industry: '监管行业', region: '所在区县', tag: '分类监管标签', scale: '企业规模' };
    var params = { q: q.q, colour: q.colour, industry: q.industry, region: q.region, tag: q.tag, scale: q.scale, page: q.page || 1, size: 20 };
    var form = el('form', { 'class': 'toolbar', method: 'get', action: '/pages/search' },
      el('input', { type: 'text', name: 'q', value: q.q || '', placeholder: '企业名称（模糊）' }), el('button', { type: 'submit', 'class': 'primary' }, '查询'),
      el('a', { href: '/pages/search' }, '清除条件'));
    return api('/enterprises' + qs(params)).then(function (body) {
      var facets = el('div', { 'class': 'facets', id: 'facets' });
      Object.keys(facetNames).forEach(function (name) {
        var values = body.facets[name];
        if (!values) { return; }
        facets.appendChild(el('div', { 'class': 'card facet', 'data-facet': name }, el('h2', { text: facetNames[name] }),
          el('ul', {}, values.map(function (v) {
            var next = Object.assign({}, q, { page: 1 }); next[name] = q[name] === v.value ? '' : v.value;
            return el('li', {}, el('a', { href: '/pages/search' + qs(next), 'class': q[name] === v.value ? 'on' : '', 'data-value': v.value }, v.label),
              el('span', { 'class': 'count', text: v.count }));
          }))));
      });
      var regionNames = {};
      (body.facets.region || []).forEach(function (v) { regionNames[v.value] = v.label; });
      var rows = body.items.map(function (n) {
        var p = n.properties;
        return [link('Enterprise', n.key, p.name || n.key), chip(p.riskColour), value('Enterprise', 'supervisionIndustry', p.supervisionIndustry),
          regionNames[p.regionCode] || p.regionCode || UNKNOWN, n.key];
      });
      var pager = el('div', { 'class': 'toolbar' }, '共 ' + body.total + ' 家，第 ' + body.page + ' / ' + Math.max(body.pages, 1) + ' 页',
        body.page > 1 ? el('a', { href: '/pages/search' + qs(Object.assign({}, q, { page: body.page - 1 })) }, '上一页') : null,
        body.page < body.pages ? el('a', { href: '/pages/search' + qs(Object.assign({}, q, { page: body.page + 1 })) }, '下一页') : null);
      content.replaceChildren(form, facets, card('查询结果', [pager, rows.length ? table([prop('Enterprise', 'name'), prop('Enterprise', 'riskColour'),
        prop('Enterprise', 'supervisionIndustry'), prop('Enterprise', 'regionCode'), prop('Enterprise', 'uscc')], rows) : empty('没有符合条件的企业')], true));
    });
  };

  function ratingChart(assessment) {
    var c = assessment.properties.components || {};
    var details = c.details || {}, sections = details.sections || {};
    var names = [], found = [], open = [], met = [];
    Object.keys(sections).forEach(function (k) {
      var s = sections[k];
      names.push(s.label); found.push(s.deducted); open.push(s.open); met.push(Math.max(0, s.cap - s.deducted - s.open));
    });
    (c.components || []).forEach(function (comp) {  // dynamic factors: deductions found in the data
      if (sections[comp.name]) { return; }
      names.push((comp.note || comp.name).split(':')[0]); found.push(-comp.contribution); open.push(0); met.push(0);
    });
    var range = details.score_range || [];
    var head = el('p', {}, '得分 ', el('b', { text: value('Assessment', 'score', assessment.properties.score) }),
      range.length ? '（未能评估部分可能使得分低至 ' + value('Assessment', 'score', range[0]) + '）' : '', ' · 评估时间 ',
      value('Assessment', 'computedAt', assessment.properties.computedAt));
    var series = [['已查明扣分', found, '#E02020'], ['未能评估（未知）', open, '#9aa5b1'], ['未见扣分项', met, '#3b9b5b']].map(function (s) {
      return { name: s[0], type: 'bar', stack: 'all', data: s[1], itemStyle: { color: s[2] } };
    });
    return [head, chart({ textStyle: chartFont(), tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 150, right: 20, top: 30, bottom: 20 },
      xAxis: { type: 'value', name: '分' }, yAxis: { type: 'category', data: names, inverse: true }, series: series }, true)];
  }

  function graphView(label, key) {
    var box = el('div', {}, empty('加载关系图…'));
    PENDING.push(api('/nodes/' + label + '/' + encodeURIComponent(key) + '/subgraph?depth=1&limit=60').then(function (g) {
      var kinds = [], nodes = g.nodes.map(function (n) {
        if (kinds.indexOf(n.label) < 0) { kinds.push(n.label); }
        return { id: n.id, name: title(n.label, n.properties || {}), category: kinds.indexOf(n.label), symbolSize: n.id === g.centre ? 36 : 18,
                 value: n.label + '/' + n.key, itemStyle: n.properties && n.properties.riskColour ? { color: colour(n.properties.riskColour).hex } : undefined };
      });
      var edges = g.edges.map(function (e) { return { source: e.source, target: e.target, value: L.relationTypes[e.type] || '' }; });
      var view = chart({ textStyle: chartFont(), tooltip: { formatter: function (p) { return p.dataType === 'edge' ? p.data.value : p.data.name; } },
        legend: { data: kinds.map(cls), bottom: 0 },
        series: [{ type: 'graph', layout: 'force', roam: true, draggable: true, label: { show: true, fontSize: 11 }, force: { repulsion: 160, edgeLength: 90 },
          categories: kinds.map(function (k) { return { name: cls(k) }; }), data: nodes, links: edges }] }, true);
      box.replaceChildren(view, el('p', { 'class': 'muted' }, '共 ' + g.nodes.length + ' 个节点' + (g.truncated ? '（已截断）' : '')));
      setTimeout(function () {
        var inst = echarts.getInstanceByDom(view);
        if (inst) { inst.on('click', function (p) { if (p.dataType === 'node') { var parts = p.data.value.split('/'); if (PAGE_OF[parts[0]] && p.data.id !== g.centre) { location.href = '/pages/' + PAGE_OF[parts[0]] + '/' + encodeURIComponent(parts.slice(1).join('/')); } } }); }
      }, 50);
    }).catch(function (e) { box.replaceChildren(empty('关系图无法加载：' + e.message)); }));
    return box;
  }

  function relationCards(label, relations, skip) {
    var out = [];
    Object.keys(relations || {}).forEach(function (rel) {
      if ((skip || []).indexOf(rel) >= 0) { return; }
      var items = (relations[rel] || []).filter(function (i) { return !i.ref && i.properties; });
      if (!items.length) { return; }
      var name = L.relations[rel.replace(/^\^/, '')] || cls(items[0].label);
      out.push(card(name + '（' + items.length + '）', table(['名称', '信息'], items.slice(0, 30).map(function (i) {
        return [link(i.label, i.key, title(i.label, i.properties)), props(i.label, i.properties, ['name'])];
      }))));
    });
    return out;
  }

  function qrCard(label, key, region) {
    var box = el('div', { 'class': 'qr' });
    if (ME.role === 'admin' || (ME.role === 'inspector' && covers(region))) {
      PENDING.push(api('/qr/' + label + '/' + encodeURIComponent(key) + '.svg', { raw: true }).then(function (r) { return r.blob(); }).then(function (b) {
        box.replaceChildren(el('img', { src: URL.createObjectURL(b), alt: '一企一码' }), el('p', { 'class': 'muted', text: '扫码查看本企业档案（按扫码人权限显示）' }));
      }).catch(function (e) { box.replaceChildren(empty('码牌无法生成：' + e.message)); }));
    } else {
      add(box, empty('码牌由辖区监管部门签发，登录监管账号后可查看。'));
    }
    return card('一企一码', box);
  }

  PAGES.enterprises = function () {
    var uscc = ARGS.key;
    return api('/enterprises/' + encodeURIComponent(uscc)).then(function (e) {
      var p = e.properties, colours = e.colours || {};
      heading(p.name || uscc, chip(colours.official ? colours.official.colour : p.riskColour),
        el('span', { 'class': 'muted', style: 'font-size:14px' }, '官方风险颜色'));
      document.title = (p.name || uscc) + ' · 企业档案';
      var cards = [];
      var colourRows = [['官方', colours.official], ['参考', colours.secondary]].filter(function (r) { return r[1]; }).map(function (r) {
        return [r[0], chip(r[1].colour), r[1].method || UNKNOWN];
      });
      cards.push(card('基本信息', [props('Enterprise', p, ['name', 'riskColour', 'secondaryRiskColour', 'riskColourMethod', 'secondaryRiskColourMethod']),
        colourRows.length ? table(['风险颜色', '等级', '评估方法'], colourRows) : null,
        el('p', {}, el('a', { href: '/map' }, '在一张图中查看'))]));
      cards.push(qrCard('Enterprise', uscc, p.regionCode));
      var official = colours.official && colours.official.method;
      var rating = (e.assessments || []).filter(function (a) { return a.properties.method === (official || 'mem-2018-19') && a.properties.components; })[0];
      cards.push(card('风险评估诊断分级（已知 / 未知）', rating ? ratingChart(rating) : empty('暂无评分或当前账号无权查看评分明细'), true));
      var recs = (e.recommendations || []).map(function (r) {
        var rp = r.properties;
        return el('li', {}, el('b', { text: rp.name }), ' ', rp.hierarchyLevel ? el('span', { 'class': 'muted', text: '［' + value('Recommendation', 'hierarchyLevel', rp.hierarchyLevel) + '］' }) : null,
          rp.citation ? el('div', { 'class': 'cite', text: '依据：' + rp.citation }) : null, rp.explanation ? el('div', { 'class': 'cite', text: rp.explanation }) : null);
      });
      cards.push(card('推荐管控措施', recs.length ? el('ol', { 'class': 'measures' }, recs) : empty('暂无推荐措施')));
      var alarms = (e.recentAlarms || []).map(function (a) {
        var ap = a.properties;
        return [value('MonitoringAlarm', 'occurredAt', ap.occurredAt), chip(ap.alarmLevel), value('MonitoringAlarm', 'value', ap.value)];
      });
      cards.push(card('近期监测报警', alarms.length ? table([prop('MonitoringAlarm', 'occurredAt'), prop('MonitoringAlarm', 'alarmLevel'), prop('MonitoringAlarm', 'value')], alarms) : empty('无报警记录')));
      var hd = (e.summary || {}).hiddenDangers, dangers = (e.relations || {}).hasHiddenDanger || [];
      var loop = [];
      if (hd) {
        loop.push(el('p', {}, '共 ' + hd.total + ' 项，未闭环 ' + hd.open + ' 项，逾期 ' + hd.overdue + ' 项，重大隐患 ' + hd.major + ' 项'));
        var states = Object.keys(hd.byState || {});
        if (states.length) {
          loop.push(chart({ textStyle: chartFont(), tooltip: {}, grid: { left: 40, right: 10, top: 10, bottom: 30 },
            xAxis: { type: 'category', data: states.map(function (s) { return value('HiddenDanger', 'state', s); }) }, yAxis: { type: 'value', minInterval: 1 },
            series: [{ type: 'bar', data: states.map(function (s) { return hd.byState[s]; }), itemStyle: { color: '#1d4ed8' } }] }));
        }
      }
      loop.push(dangers.filter(function (d) { return d.properties; }).length ? table([prop('HiddenDanger', 'name'), prop('HiddenDanger', 'grade'), prop('HiddenDanger', 'state'), prop('HiddenDanger', 'deadline'), '逾期'],
        dangers.filter(function (d) { return d.properties; }).map(function (d) {
          var dp = d.properties, dv = d.derived || {};
          return [dp.name || UNKNOWN, value('HiddenDanger', 'grade', dp.grade), value('HiddenDanger', 'state', dp.state), value('HiddenDanger', 'deadline', dp.deadline),
            dv.overdue ? '逾期 ' + dv.daysOverdue + ' 天' : (dv.overdue === false ? '否' : UNKNOWN)];
        })) : empty('无隐患记录'));
      cards.push(card('隐患排查治理闭环', loop, true));
      cards.push(card('关系图谱', graphView('Enterprise', uscc), true));
      content.replaceChildren(el('div', { 'class': 'grid' }, cards, relationCards('Enterprise', e.relations, ['hasHiddenDanger', '^assesses', '^recommendedFor', 'locatedIn', 'inIndustry'])));
    });
  };

  PAGES['risk-points'] = function () {
    return api('/risk-points/' + encodeURIComponent(ARGS.key)).then(function (n) {
      var p = n.properties;
      heading(p.name || ARGS.key, chip(p.riskColour || p.reportedColour));
      content.replaceChildren(el('div', { 'class': 'grid' }, card('基本信息', props('RiskPoint', p, ['name'])),
        card('关系图谱', graphView('RiskPoint', ARGS.key), true), relationCards('RiskPoint', n.relations, ['^assesses'])));
    });
  };

  function nodePage() {
    var label = ARGS.label, key = ARGS.key;
    return api('/nodes/' + label + '/' + encodeURIComponent(key) + '/subgraph?depth=1&limit=80').then(function (g) {
      var centre = g.nodes.filter(function (n) { return n.id === g.centre; })[0];
      var p = centre.properties || {};
      heading(title(label, p), el('span', { 'class': 'muted', style: 'font-size:14px', text: cls(label) }),
        p.riskColour ? chip(p.riskColour) : null);
      var near = g.nodes.filter(function (n) { return n.id !== g.centre; }).map(function (n) {
        return [cls(n.label), link(n.label, n.key, title(n.label, n.properties || {})), props(n.label, n.properties || {}, ['name'])];
      });
      content.replaceChildren(el('div', { 'class': 'grid' }, card('基本信息', [props(label, p, ['name']), el('p', {}, el('a', { href: '/map' }, '在一张图中查看'))]),
        card('关系图谱', graphView(label, key)), card('关联信息', near.length ? table(['类别', '名称', '信息'], near) : empty('无关联信息'), true)));
    });
  }
  ['disaster-points', 'rescue-teams', 'warehouses', 'shelters'].forEach(function (k) { PAGES[k] = nodePage; });

  function indexCharts(assessments) {
    var out = [];
    assessments.forEach(function (a) {
      var ap = a.properties, comps = (ap.components || {}).components || [];
      var top = comps.filter(function (c) { return c.name.indexOf('.') < 0; }), sub = comps.filter(function (c) { return c.name.indexOf('.') >= 0; });
      var name = function (c) { return (c.note || c.name).split(':')[0]; };
      var body = [el('p', {}, '得分 ', el('b', { text: value('Assessment', 'score', ap.score) }), ' · ', ap.level || UNKNOWN, ' ', ap.riskColour ? chip(ap.riskColour) : null,
        ' · ', el('span', { 'class': 'muted', text: ap.method + ' ' + (ap.methodVersion || '') + ' · ' + value('Assessment', 'computedAt', ap.computedAt) }))];
      if (top.length) {
        body.push(chart({ textStyle: chartFont(), tooltip: {}, grid: { left: 130, right: 20, top: 10, bottom: 20 }, xAxis: { type: 'value' },
          yAxis: { type: 'category', data: top.map(name), inverse: true }, series: [{ type: 'bar', data: top.map(function (c) { return Math.round(c.value * 1000) / 1000; }), itemStyle: { color: '#1d4ed8' } }] }));
      }
      if (sub.length) { body.push(table(['指标', '值', '权重', '说明'], sub.map(function (c) { return [name(c), value('Assessment', 'score', c.value), value('Assessment', 'score', c.weight), c.note || '']; }))); }
      out.push(card(methodName(ap.method), body, true));
    });
    return out.length ? out : [card('评估结果', empty('模型尚未运行或无结果'), true)];
  }
  var METHOD_ZH = { 'inform-2024': '综合风险指数（INFORM）', 'nk-coupling': 'N-K 耦合风险', 'ccd': '耦合协调度', 'spatial-coupling': '空间耦合', 'temporal-seasonal': '时度风险',
                    'mem-2018-19': '风险评估诊断分级', 'enterprise-residual-risk': '剩余风险' };
  function methodName(m) { return METHOD_ZH[m] || m; }

  function provinceCode() {
    return api('/enterprises?size=1').then(function (b) {
      var r = (b.facets.region || [])[0];
      return r ? r.value.slice(0, 2) + '0000' : null;
    });
  }

  PAGES.regions = function () {
    var start = ARGS.key ? Promise.resolve(ARGS.key) : provinceCode();
    return start.then(function (code) {
      if (!code) { content.replaceChildren(empty('没有区域数据')); return null; }
      return Promise.all([api('/regions/' + code + '/risk'), api('/nodes/Region/' + code + '/subgraph?depth=1&labels=Region&limit=200')]).then(function (res) {
        var risk = res[0], g = res[1], sp = risk.subject.properties;
        heading((sp.name || code) + ' · 区域风险', sp.riskColour ? chip(sp.riskColour) : null);
        var children = g.nodes.filter(function (n) { return g.edges.some(function (e) { return e.source === n.id && e.target === g.centre; }); });
        var parent = g.nodes.filter(function (n) { return g.edges.some(function (e) { return e.target === n.id && e.source === g.centre; }); })[0];
        var cards = [card('区域信息', [props('Region', sp, ['name']), parent ? el('p', {}, '上级：', link('Region', parent.key, parent.properties.name)) : null,
          el('p', {}, el('a', { href: '/pages/dashboard?region=' + code }, '看板'), ' · ', el('a', { href: '/pages/search?region=' + code }, '辖区企业'),
            ' · ', el('a', { href: '/pages/focus?region=' + code, 'data-roles': 'inspector analyst admin' }, '重点监管名单'))])];
        cards = cards.concat(indexCharts(risk.assessments));
        var box = el('div', {}, empty());
        cards.push(card('下级区域', box, true));
        content.replaceChildren(el('div', { 'class': 'grid' }, cards));
        if (!children.length) { return null; }
        return Promise.all(children.map(function (c) { return api('/regions/' + c.key + '/risk'); })).then(function (rs) {
          var rows = rs.map(function (r) {
            var inform = r.assessments.filter(function (a) { return a.properties.method === 'inform-2024'; })[0];
            return { key: r.subject.key, name: r.subject.properties.name || r.subject.key, colour: r.subject.properties.riskColour, score: inform ? inform.properties.score : null };
          }).sort(function (a, b) { return (b.score || 0) - (a.score || 0); });
          box.replaceChildren(chart({ textStyle: chartFont(), tooltip: {}, grid: { left: 90, right: 20, top: 10, bottom: 20 }, xAxis: { type: 'value', name: '风险指数' },
            yAxis: { type: 'category', data: rows.map(function (r) { return r.name; }), inverse: true },
            series: [{ type: 'bar', data: rows.map(function (r) { return { value: r.score === null ? 0 : Math.round(r.score * 100) / 100, itemStyle: { color: colour(r.colour).hex } }; }) }] }),
          table(['区域', '风险颜色', '风险指数'], rows.map(function (r) { return [link('Region', r.key, r.name), chip(r.colour), r.score === null ? UNKNOWN : value('Assessment', 'score', r.score)]; })));
        });
      });
    });
  };

  PAGES.industries = function () {
    if (!ARGS.key) {
      var inds = L.vocabularies.SupervisionIndustry.concepts;
      content.replaceChildren(card('监管行业', el('ul', {}, Object.keys(inds).map(function (k) { return el('li', {}, link('Industry', k, inds[k])); })), true));
      return Promise.resolve();
    }
    return api('/industries/' + encodeURIComponent(ARGS.key) + '/risk').then(function (risk) {
      var sp = risk.subject.properties;
      heading((sp.name || ARGS.key) + ' · 行业风险', sp.riskColour ? chip(sp.riskColour) : null);
      content.replaceChildren(el('div', { 'class': 'grid' }, card('行业', [props('Industry', sp, ['name']), el('a', { href: '/pages/search?industry=' + encodeURIComponent(ARGS.key) }, '本行业企业')]),
        indexCharts(risk.assessments)));
    }).catch(function (e) {
      if (e.status === 404) { content.replaceChildren(empty('该行业尚无风险评估（' + concept('SupervisionIndustry', ARGS.key) + '）')); return; }
      throw e;
    });
  };

  function subjectCell(s) { return s ? link(s.label, s.key, s.name || s.key) : UNKNOWN; }

  PAGES.coupling = function () {
    return api('/coupling?size=200').then(function (b) {
      var groups = {};
      b.items.forEach(function (a) { (groups[a.properties.method] = groups[a.properties.method] || []).push(a); });
      var cards = Object.keys(groups).map(function (m) {
        var items = groups[m];
        return card(methodName(m) + '（' + items.length + '）', [chart({ textStyle: chartFont(), tooltip: {}, grid: { left: 110, right: 20, top: 10, bottom: 20 }, xAxis: { type: 'value' },
          yAxis: { type: 'category', inverse: true, data: items.map(function (a) { return a.subject ? (a.subject.name || a.subject.key) : a.key; }) },
          series: [{ type: 'bar', data: items.map(function (a) { return Math.round(a.properties.score * 1000) / 1000; }), itemStyle: { color: '#7c3aed' } }] }),
        table(['对象', '得分', '等级'], items.map(function (a) { return [subjectCell(a.subject), value('Assessment', 'score', a.properties.score), a.properties.level || UNKNOWN]; }))], true);
      });
      content.replaceChildren(el('div', { 'class': 'grid' }, cards.length ? cards : card('耦合风险', empty('模型尚未运行或无结果'), true)));
    });
  };

  PAGES.temporal = function () {
    return api('/temporal-risk?size=200').then(function (b) {
      var by = { year: '按年', quarter: '按季度', month: '按月' }, cards = [];
      var groups = {};
      b.items.forEach(function (a) {
        var par = ((a.properties.components || {}).parameters) || {};
        var k = (par.by || 'other') + '|' + (a.subject ? a.subject.key : '') + '|' + (par.group || '');
        (groups[k] = groups[k] || { by: par.by, subject: a.subject, group: par.group, items: [] }).items.push({ period: par.period, score: a.properties.score, level: a.properties.level });
      });
      ['year', 'quarter', 'month', undefined].forEach(function (kind) {
        Object.keys(groups).forEach(function (k) {
          var g = groups[k];
          if (g.by !== kind) { return; }
          g.items.sort(function (x, y) { return (x.period || 0) - (y.period || 0); });
          var name = (g.subject ? (g.subject.name || g.subject.key) : '') + ' · ' + (g.group ? concept('DisasterType', g.group) : '灾害') + ' · ' + (by[g.by] || '时段');
          cards.push(card(name, chart({ textStyle: chartFont(), tooltip: { trigger: 'axis' }, grid: { left: 40, right: 10, top: 10, bottom: 30 },
            xAxis: { type: 'category', data: g.items.map(function (i) { return i.period === undefined ? '—' : String(i.period); }) }, yAxis: { type: 'value' },
            series: [{ type: g.by === 'year' ? 'line' : 'bar', data: g.items.map(function (i) { return Math.round(i.score * 1000) / 1000; }), itemStyle: { color: '#0e7490' } }] })));
        });
      });
      content.replaceChildren(el('div', { 'class': 'grid' }, cards.length ? cards : card('时度风险', empty('模型尚未运行或无结果'), true)));
    });
  };

  PAGES.focus = function () {
    if (!needs(['inspector', 'analyst', 'admin'])) { return Promise.resolve(); }
    return api('/focus-inspections' + qs({ region: ARGS.query.region })).then(function (b) {
      var cards = b.counties.map(function (c) {
        return card((c.countyName || c.county) + '（' + c.total + ' 家）', table(['企业', '得分', '得分下限', '官方颜色', '参考颜色', '原因'], c.enterprises.map(function (e) {
          return [link('Enterprise', e.uscc, e.name || e.uscc), value('Assessment', 'score', e.score), value('Assessment', 'score', e.scoreMin),
            chip((e.officialColour || {}).colour), chip((e.secondaryColour || {}).colour), el('ul', {}, e.reasons.map(function (r) { return el('li', { text: r }); }))];
        })), true);
      });
      content.replaceChildren(el('p', { 'class': 'muted' }, '诊断分级得分低于 ' + b.below + ' 分或自动判定为红色的企业，共 ' + b.total + ' 家'),
        el('div', { 'class': 'grid' }, cards.length ? cards : card('重点监管', empty('没有需要重点监管的企业'), true)));
    });
  };

  PAGES.dashboard = function () {
    var start = ARGS.query.region ? Promise.resolve(ARGS.query.region) : provinceCode();
    return start.then(function (code) {
      if (!code) { content.replaceChildren(empty('没有区域数据')); return null; }
      var jobs = [api('/enterprises' + qs({ region: code, size: 1 })), api('/regions/' + code + '/risk'),
        api('/nodes/Region/' + code + '/subgraph?depth=1&labels=Region&limit=200'),
        signedIn(['inspector', 'analyst', 'admin']) ? api('/focus-inspections' + qs({ region: code })) : Promise.resolve(null),
        signedIn(['inspector', 'analyst', 'admin']) ? api('/warnings' + qs({ region: code, state: 'draft', size: 1 })) : Promise.resolve(null),
        signedIn(['inspector', 'analyst', 'admin']) ? api('/warnings' + qs({ region: code, state: 'published', size: 1 })) : Promise.resolve(null)];
      return Promise.all(jobs).then(function (r) {
        var ents = r[0], risk = r[1], g = r[2], focus = r[3], drafts = r[4], published = r[5], sp = risk.subject.properties;
        var inform = risk.assessments.filter(function (a) { return a.properties.method === 'inform-2024'; })[0];
        heading((sp.name || code) + ' · 安全生产与自然灾害风险看板');
        var colours = ents.facets.colour || [], kpi = function (label, v, extra) { return el('div', { 'class': 'kpi' }, el('span', { 'class': 'muted', text: label }), el('b', { text: v }), extra); };
        var red = colours.filter(function (c) { return c.value === 'RED'; })[0];
        var kpis = el('div', { 'class': 'kpis' }, kpi('企业总数', ents.total), kpi('红色（重大风险）企业', red ? red.count : 0),
          kpi('区域风险指数', inform ? value('Assessment', 'score', inform.properties.score) : UNKNOWN, inform ? chip(inform.properties.riskColour) : null),
          focus ? kpi('重点监管企业', focus.total) : null, drafts ? kpi('待审核预警', drafts.total) : null, published ? kpi('已发布预警', published.total) : null);
        var pie = chart({ textStyle: Object.assign({ color: '#e6eefc' }, chartFont()), tooltip: {}, legend: { bottom: 0, textStyle: { color: '#e6eefc' } },
          series: [{ type: 'pie', radius: ['35%', '65%'], data: colours.map(function (c) { return { name: c.label, value: c.count, itemStyle: { color: colour(c.value).hex } }; }) }] });
        var inds = ents.facets.industry || [];
        var bars = chart({ textStyle: Object.assign({ color: '#e6eefc' }, chartFont()), tooltip: {}, grid: { left: 120, right: 20, top: 10, bottom: 20 }, xAxis: { type: 'value' },
          yAxis: { type: 'category', inverse: true, data: inds.map(function (i) { return i.label; }), axisLabel: { color: '#e6eefc' } },
          series: [{ type: 'bar', data: inds.map(function (i) { return i.count; }), itemStyle: { color: '#38bdf8' } }] });
        var children = g.nodes.filter(function (n) { return g.edges.some(function (e) { return e.source === n.id && e.target === g.centre; }); });
        var sub = table(['下级区域', '风险颜色'], children.map(function (c) { return [el('a', { href: '/pages/dashboard?region=' + c.key, text: c.properties.name || c.key }), chip(c.properties.riskColour)]; }));
        content.replaceChildren(kpis, el('div', { 'class': 'grid' }, card('企业风险颜色分布', pie), card('监管行业企业数', bars),
          card('下级区域', children.length ? sub : empty()), inform ? indexCharts([inform])[0] : null));
        return null;
      });
    });
  };

  // ------------------------------------------------------------------ inboxes
  PAGES.warnings = function () {
    if (!needs(['inspector', 'enterprise', 'analyst', 'admin'])) { return Promise.resolve(); }
    var state = ARGS.query.state || '';
    var states = L.vocabularies.WarningState.concepts;
    var bar = el('div', { 'class': 'toolbar' }, el('a', { href: '/pages/warnings', 'class': state ? '' : 'on' }, '全部'),
      Object.keys(states).map(function (s) { return el('a', { href: '/pages/warnings?state=' + s, 'class': state === s ? 'on' : '' }, states[s]); }));
    return api('/warnings' + qs({ state: state, size: 100 })).then(function (b) {
      var rows = b.items.map(function (w) {
        return [el('a', { href: '/pages/warning/' + encodeURIComponent(w.id), 'class': 'warning-link', text: w.title || w.id }), chip(w.level),
          el('span', { 'data-state': w.state, text: concept('WarningState', w.state) }), w.enterprise ? link('Enterprise', w.enterprise, w.enterprise) : UNKNOWN,
          value('Warning', 'issuedAt', w.lastTriggeredAt)];
      });
      content.replaceChildren(bar, card('预警（' + b.total + '）', rows.length ? table(['预警', '级别', '状态', '责任企业', '最近触发'], rows) : empty('没有预警'), true));
    });
  };

  PAGES.warning = function () {
    if (!needs(['inspector', 'enterprise', 'analyst', 'admin'])) { return Promise.resolve(); }
    var id = ARGS.key;
    return api('/warnings/' + encodeURIComponent(id)).then(function (w) {
      heading(w.title || id, chip(w.level), el('span', { id: 'warning-state', 'data-state': w.state, text: concept('WarningState', w.state) }));
      var note = el('textarea', { name: 'note', rows: 2, cols: 50, placeholder: '审核意见（驳回时必填）' });
      var act = function (action, done) {
        return function () {
          var body = action === 'publish' ? {} : { note: note.value || null };
          api('/warnings/' + encodeURIComponent(id) + '/' + action, { method: 'POST', json: body }).then(function () { sessionStorage.setItem('rg-desk-said', done); location.reload(); })
            .catch(function (e) { say('操作失败：' + e.message, true); });
        };
      };
      var buttons = el('div', { 'class': 'toolbar', id: 'warning-actions' });
      if (signedIn(['inspector', 'admin'])) {
        if (w.state === 'draft') { add(buttons, [el('button', { 'class': 'primary', 'data-action': 'approve', on: { click: act('approve', '预警已审核通过') } }, '审核通过'),
          el('button', { 'class': 'danger', 'data-action': 'reject', on: { click: act('reject', '预警已驳回') } }, '驳回')]); }
        if (w.state === 'approved') { add(buttons, [el('button', { 'class': 'primary', 'data-action': 'publish', on: { click: act('publish', '预警已发布') } }, '发布'),
          el('button', { 'class': 'danger', 'data-action': 'reject', on: { click: act('reject', '预警已驳回') } }, '驳回')]); }
        if (w.state === 'published' || w.state === 'acknowledged') { add(buttons, el('button', { 'data-action': 'close', on: { click: act('close', '预警已关闭') } }, '关闭')); }
      }
      if (ME.role === 'enterprise' && w.state === 'published') { add(buttons, el('button', { 'class': 'primary', 'data-action': 'ack', on: { click: act('ack', '已签收') } }, '签收')); }
      var plan = (w.pushPlan || {}).recipients || [];
      var KIND = { enterprise: '企业', person: '责任人', bureau: '监管部门', webhook: '接口推送' }, CH = { web: '站内', webhook: '接口', wechat: '微信', mobile: '手机推送' };
      var cards = [card('预警信息', [el('p', { text: w.description || '' }), el('dl', { 'class': 'props' },
        el('dt', { text: '级别' }), el('dd', {}, chip(w.level)), el('dt', { text: '状态' }), el('dd', { text: concept('WarningState', w.state) }),
        el('dt', { text: '责任企业' }), el('dd', {}, w.enterprise ? link('Enterprise', w.enterprise, w.enterprise) : UNKNOWN),
        el('dt', { text: '责任人' }), el('dd', { text: w.responsiblePerson || UNKNOWN }), el('dt', { text: '触发次数' }), el('dd', { text: w.triggerCount || UNKNOWN }),
        el('dt', { text: '首次触发' }), el('dd', { text: value('Warning', 'issuedAt', w.firstTriggeredAt) }), el('dt', { text: '发布时间' }), el('dd', { text: value('Warning', 'issuedAt', w.publishedAt) })),
        w.state === 'draft' || w.state === 'approved' || w.state === 'published' || w.state === 'acknowledged' ? note : null, buttons])];
      cards.push(card('推送计划预览（' + plan.length + '）', plan.length ? table(['接收方', '类别', '渠道'], plan.map(function (p) {
        return [p.name || p.id, KIND[p.kind] || p.kind, (p.channels || []).map(function (c) { return CH[c] || c; }).join('、') || '无可用渠道'];
      })) : empty('当前账号无权查看推送计划或计划为空')));
      var ev = ((w.evidence || {}).items || []).map(function (i) { return [cls(i.label), link(i.label, i.key, i.key), value('Warning', 'issuedAt', i.at)]; });
      cards.push(card('证据', ev.length ? table(['类别', '编号', '时间'], ev) : empty()));
      var tr = (w.transitions || []).map(function (t) { return [value('Warning', 'issuedAt', t.at), concept('WarningState', t.from), concept('WarningState', t.to), t.actor || UNKNOWN, t.note || '']; });
      cards.push(card('流转记录', tr.length ? table(['时间', '从', '到', '操作人', '说明'], tr) : empty(), true));
      if (w.deliveries && Object.keys(w.deliveries).length) { cards.push(card('投递', table(['状态', '数量'], Object.keys(w.deliveries).map(function (k) { return [k, w.deliveries[k]]; })))); }
      content.replaceChildren(el('div', { 'class': 'grid' }, cards));
    });
  };

  PAGES.review = function () {
    if (!needs(['inspector', 'analyst', 'admin'])) { return Promise.resolve(); }
    var status = ARGS.query.status || 'open', ST = { open: '待审核', linked: '已关联', rejected: '无匹配', settled: '导入时自动关联' };
    var bar = el('div', { 'class': 'toolbar' }, Object.keys(ST).map(function (s) { return el('a', { href: '/pages/review?status=' + s, 'class': s === status ? 'on' : '' }, ST[s]); }));
    var decide = function (item, action, uscc, note) {
      return api('/review/' + encodeURIComponent(item.id) + '/decision', { method: 'POST', json: { action: action, uscc: uscc || null, note: note || null } })
        .then(function () { sessionStorage.setItem('rg-desk-said', { link: '已关联到企业', reject: '已标记为无匹配', reopen: '已重新打开' }[action]); location.reload(); })
        .catch(function (e) { say('操作失败：' + e.message, true); });
    };
    return api('/review' + qs({ status: status, size: 50 })).then(function (b) {
      var items = b.items.map(function (item) {
        var note = el('input', { type: 'text', name: 'note', placeholder: '说明' }), other = el('input', { type: 'text', name: 'uscc', placeholder: '其他企业的统一社会信用代码' });
        var cands = table(['候选企业', '得分', '理由', ''], item.candidates.map(function (c) {
          return [link('Enterprise', c.uscc, (c.name || c.uscc) + '（' + c.uscc + '）'), value('Assessment', 'score', c.score), (c.reasons || []).join('；'),
            item.status === 'open' ? el('button', { 'class': 'primary', 'data-action': 'link', 'data-uscc': c.uscc, on: { click: function () { decide(item, 'link', c.uscc, note.value); } } }, '关联') : ''];
        }));
        var fields = Object.keys(item.writtenFields || {}).map(function (k) { return k + '：' + item.writtenFields[k]; }).join('；');
        var actions = item.status === 'open'
          ? el('div', { 'class': 'toolbar' }, note, other, el('button', { 'data-action': 'link-other', on: { click: function () { decide(item, 'link', other.value, note.value); } } }, '关联到此企业'),
            el('button', { 'class': 'danger', 'data-action': 'reject', on: { click: function () { decide(item, 'reject', null, note.value); } } }, '无匹配'))
          : el('div', { 'class': 'toolbar' }, note, el('button', { 'data-action': 'reopen', on: { click: function () { decide(item, 'reopen', null, note.value); } } }, '重新打开'));
        var hist = (item.history || []).map(function (h) { return [value('Warning', 'issuedAt', h.at), h.action, h.by, h.uscc || '', h.note || '']; });
        return el('section', { 'class': 'card wide review-item', 'data-id': item.id }, el('h2', { text: cls(item.subjectLabel) + ' ' + item.subjectKey + '：' + (item.writtenName || UNKNOWN) }),
          el('p', { 'class': 'muted', text: [item.reason, fields, item.sourceSystem, item.sourceFile && (item.sourceFile + (item.rowNumber ? ' 第 ' + item.rowNumber + ' 行' : ''))].filter(Boolean).join(' · ') }),
          item.decidedUscc ? el('p', {}, '已关联：', link('Enterprise', item.decidedUscc, item.decidedUscc)) : null, cands, actions,
          hist.length ? table(['时间', '操作', '操作人', '企业', '说明'], hist) : null);
      });
      content.replaceChildren(bar, el('div', { 'class': 'grid' }, items.length ? items : card('审核队列', empty('队列为空'), true), splitCard()));
    });
  };

  function splitCard() {
    var uscc = el('input', { type: 'text', name: 'split-uscc', placeholder: '被错误合并的企业（统一社会信用代码）' });
    var to = el('input', { type: 'text', name: 'split-to', placeholder: '实际所属企业（可空）' });
    var list = el('div', { id: 'split-facts' }), note = el('input', { type: 'text', name: 'split-note', placeholder: '说明' });
    var FACTS = ['hasPenalty', 'hasInspection', 'hasHiddenDanger', 'hadAccident', 'hasLicence', 'hasCreditRecord'];
    var load = function () {
      api('/enterprises/' + encodeURIComponent(uscc.value.trim())).then(function (e) {
        var boxes = [];
        FACTS.forEach(function (rel) {
          ((e.relations || {})[rel] || []).forEach(function (i) {  // a fact shown elsewhere in the portrait comes as a ref
            boxes.push(el('label', { style: 'display:block' }, el('input', { type: 'checkbox', 'data-label': i.label, 'data-key': i.key }), ' ',
              cls(i.label) + ' ' + i.key + (i.properties ? ' ' + title(i.label, i.properties) : '')));
          });
        });
        list.replaceChildren(el('div', {}, boxes.length ? boxes : empty('该企业没有可拆分的记录')), boxes.length ? el('div', { 'class': 'toolbar' }, to, note,
          el('button', { 'class': 'danger', 'data-action': 'split', on: { click: split } }, '拆分到审核队列')) : null);
      }).catch(function (e) { say('无法读取企业：' + e.message, true); });
    };
    var split = function () {
      var facts = Array.prototype.map.call(list.querySelectorAll('input[type=checkbox]:checked'), function (c) { return { label: c.getAttribute('data-label'), key: c.getAttribute('data-key') }; });
      if (!facts.length) { say('请选择要拆分的记录', true); return; }
      api('/review/split', { method: 'POST', json: { uscc: uscc.value.trim(), facts: facts, to: to.value.trim() || null, note: note.value || null } })
        .then(function () { sessionStorage.setItem('rg-desk-said', '已拆分，记录已回到审核队列'); location.reload(); })
        .catch(function (e) { say('拆分失败：' + e.message, true); });
    };
    return card('拆分错误合并', [el('div', { 'class': 'toolbar' }, uscc, el('button', { 'data-action': 'split-load', on: { click: load } }, '读取企业记录')), list], true);
  }

  // ------------------------------------------------------------------ the census review queue (应急资源普查审核)
  var CENSUS_STATE = { pending: '待审核', approved: '已通过', rejected: '已驳回' };
  var CENSUS_SAID = { approve: '登记已审核通过', reject: '登记已驳回', apply: '更新已应用', discard: '更新已放弃' };
  function pl(label, name, zh) { var t = prop(label, name); return t === UNKNOWN ? zh : t; }
  function censusDetails(item) {
    var lb = item.label, rows = [[pl(lb, 'regionCode', '行政区划'), item.regionCode || UNKNOWN], [pl(lb, 'address', '地址'), item.address || UNKNOWN]];
    if (lb === 'RescueTeam') { rows.push([pl(lb, 'teamType', '队伍类型'), item.teamType || UNKNOWN], [pl(lb, 'members', '人数'), item.members === null ? UNKNOWN : item.members + ' 人'], [pl(lb, 'equipment', '主要装备'), item.equipment || UNKNOWN]); }
    if (lb === 'Warehouse' || lb === 'Shelter') { rows.push([pl(lb, 'areaM2', '面积'), item.areaM2 === null ? UNKNOWN : item.areaM2 + ' m²']); }
    if (lb === 'Shelter') { rows.push([pl(lb, 'capacityPeople', '容纳人数'), item.capacityPeople === null ? UNKNOWN : item.capacityPeople + ' 人'], [pl(lb, 'shelterType', '场所类型'), item.shelterType || UNKNOWN], [pl(lb, 'facilities', '设施'), item.facilities.length ? item.facilities.join('、') : UNKNOWN]); }
    if (lb === 'Supply') { rows.push([pl('Warehouse', 'name', '所属储备库'), item.warehouseName || item.warehouse || UNKNOWN], [pl(lb, 'quantity', '现有数量'), item.quantity === null ? UNKNOWN : item.quantity + (item.unit || '')]); }
    if (item.reviewNote) { rows.push([pl(lb, 'reviewNote', '审核意见'), item.reviewNote]); }
    if (item.handledBy && item.state !== 'pending') { rows.push(['经办人', item.handledBy]); }
    return el('dl', { 'class': 'props' }, rows.map(function (r) { return [el('dt', { text: r[0] }), el('dd', {}, r[1])]; }));
  }
  function censusUpdate(label, update) {
    return Object.keys(update || {}).map(function (k) { var v = update[k]; return pl(label, k, k) + '：' + (Array.isArray(v) ? v.join('、') : v); }).join('；');
  }
  PAGES.census = function () {
    if (!needs(['inspector', 'analyst', 'admin'])) { return Promise.resolve(); }
    var state = ARGS.query.state || 'pending', mayDecide = signedIn(['inspector', 'admin']);
    var tabs = { pending: '待审核登记与更新', approved: '已通过', rejected: '已驳回' };
    var bar = el('div', { 'class': 'toolbar' }, Object.keys(tabs).map(function (s) { return el('a', { href: '/pages/census?state=' + s, 'class': s === state ? 'on' : '' }, tabs[s]); }));
    var decide = function (item, action, note) {
      var reject = action === 'reject' || action === 'discard';
      if (reject && !note) { say('请填写驳回或放弃的理由', true); return; }
      api('/resources/' + encodeURIComponent(item.id) + (reject ? '/reject' : '/approve'), { method: 'POST', json: reject ? { note: note } : { decision: 'approved', note: note || null } })
        .then(function () { sessionStorage.setItem('rg-desk-said', CENSUS_SAID[action]); location.reload(); })
        .catch(function (e) { say('操作失败：' + e.message, true); });
    };
    var render = function (item, held) {
      var note = el('input', { type: 'text', name: 'note', placeholder: held ? '说明（放弃时必填）' : '审核意见（驳回时必填）' });
      var actions = !mayDecide ? null : held
        ? el('div', { 'class': 'toolbar' }, note, el('button', { 'class': 'primary', 'data-action': 'apply', on: { click: function () { decide(item, 'apply', note.value.trim()); } } }, '应用更新'),
          el('button', { 'class': 'danger', 'data-action': 'discard', on: { click: function () { decide(item, 'discard', note.value.trim()); } } }, '放弃更新'))
        : item.state === 'pending' ? el('div', { 'class': 'toolbar' }, note, el('button', { 'class': 'primary', 'data-action': 'approve', on: { click: function () { decide(item, 'approve', note.value.trim()); } } }, '通过'),
          el('button', { 'class': 'danger', 'data-action': 'reject', on: { click: function () { decide(item, 'reject', note.value.trim()); } } }, '驳回')) : null;
      var supplies = item.supplies.length ? table([pl('Supply', 'name', '物资名称'), pl('Supply', 'category', '类别'), pl('Supply', 'quantity', '数量'), pl('Supply', 'unit', '单位'), '待审更新'],
        item.supplies.map(function (s) { return [s.name || s.id, s.category || UNKNOWN, s.quantity === null ? UNKNOWN : s.quantity, s.unit || UNKNOWN, censusUpdate('Supply', s.pendingUpdate) || UNKNOWN]; })) : null;
      var page = { RescueTeam: 'rescue-teams', Warehouse: 'warehouses', Shelter: 'shelters' }[item.label];
      var name = item.state === 'approved' && page ? el('a', { href: '/pages/' + page + '/' + encodeURIComponent(item.id) }, item.name || item.id) : (item.name || item.id);
      return el('section', { 'class': 'card wide census-item', 'data-id': item.id, 'data-state': item.state },
        el('h2', {}, cls(item.label) + '：', name, ' ', el('span', { 'class': 'chip', text: CENSUS_STATE[item.state] || item.state })),
        el('p', { 'class': 'muted', text: item.id + (item.reviewedAt ? ' · 审核时间 ' + value('Warning', 'issuedAt', item.reviewedAt) : '') }),
        censusDetails(item), supplies,
        held ? el('p', { 'class': 'census-update' }, '待审更新：', censusUpdate(item.label, item.pendingUpdate)) : null, actions);
    };
    var lists = state === 'pending' ? [api('/resources?state=pending'), api('/resources?state=held')] : [api('/resources' + qs({ state: state, limit: 100 }))];
    return Promise.all(lists).then(function (res) {
      var cards = [];
      if (state === 'pending') {
        cards.push(el('h2', { 'class': 'section', text: '待审核登记（' + res[0].items.length + '）' }));
        cards.push(res[0].items.length ? res[0].items.map(function (i) { return render(i, false); }) : card('待审核登记', empty('没有待审核的登记'), true));
        cards.push(el('h2', { 'class': 'section', text: '待审更新（' + res[1].items.length + '）' }));
        cards.push(res[1].items.length ? res[1].items.map(function (i) { return render(i, true); }) : card('待审更新', empty('没有待审的更新'), true));
      } else {
        cards.push(res[0].items.length ? res[0].items.map(function (i) { return render(i, false); }) : card(tabs[state], empty('暂无记录'), true));
      }
      content.replaceChildren(bar, el('div', { 'class': 'grid' }, cards));
    });
  };

  PAGES.sources = function () {
    if (ARGS.apiMissing) { content.replaceChildren(empty('本服务未提供数据来源接口（' + ARGS.apiMissing + '）。')); return Promise.resolve(); }
    if (!needs(['analyst', 'admin'])) { return Promise.resolve(); }
    var REASON = 'QuarantineReason';
    return api('/sources').then(function (b) {
      var rows = b.sources.map(function (s) {
        var reasons = Object.keys(s.quarantined || {}).map(function (r) { return (concept(REASON, r) !== UNKNOWN ? concept(REASON, r) : r) + ' ' + s.quarantined[r]; }).join('；');
        var changed = (s.changed || []).slice(0, 6).map(function (c) { return cls(c.label) + '·' + prop(c.label, c.property) + ' ' + c.count; }).join('；');
        return [el('span', { 'data-source': s.source }, (s.title || s.source)), value('Warning', 'issuedAt', s.lastLoadedAt),
          s.lastLoadOk === false ? el('span', { 'class': 'chip', style: '--chip:#b91c1c', text: '失败' }) : (s.stale ? el('span', { 'class': 'chip', style: '--chip:#c2410c', text: '超时未更新' }) : (s.lastSuccessAt ? '正常' : '未加载')),
          s.rowsRead, s.rowsLoaded, s.rowsUnchanged, s.rowsQuarantined, reasons || UNKNOWN, s.changes, changed || UNKNOWN];
      });
      var loaded = b.sources.filter(function (s) { return s.loads > 0; });
      content.replaceChildren(el('div', { 'class': 'grid' }, card('各源系统最近一次加载（截至 ' + value('Warning', 'issuedAt', b.asOf) + '）',
        table(['源系统', '最近加载', '状态', '读取', '入库', '未变化', '隔离', '隔离原因', '变更数', '变更内容'], rows), true),
        loaded.length ? card('读取 / 入库 / 隔离行数', chart({ textStyle: chartFont(), tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 130, right: 20, top: 30, bottom: 20 },
          xAxis: { type: 'value' }, yAxis: { type: 'category', inverse: true, data: loaded.map(function (s) { return s.title || s.source; }) },
          series: [['入库', 'rowsLoaded', '#3b9b5b'], ['未变化', 'rowsUnchanged', '#9aa5b1'], ['隔离', 'rowsQuarantined', '#E02020']].map(function (x) {
            return { name: x[0], type: 'bar', stack: 'rows', data: loaded.map(function (s) { return s[x[1]]; }), itemStyle: { color: x[2] } };
          }) }, true), true) : null));
    });
  };

  // ------------------------------------------------------------------ start
  function start() {
    var said = sessionStorage.getItem('rg-desk-said');
    if (said) { sessionStorage.removeItem('rg-desk-said'); say(said); }
    Promise.all([fetch('/pages/labels.json').then(function (r) { return r.json(); }),
      api('/auth/me').catch(function (e) { if (e.status === 401) { sessionStorage.removeItem(TOKEN); say('登录已过期，请重新登录', true); } return { role: 'public', regions: [] }; })])
      .then(function (r) {
        L = r[0]; ME = r[1]; account();
        var run = PAGES[ARGS.page];
        return run ? run() : null;
      })
      .then(function () { return Promise.all(PENDING); })
      .then(function () { document.body.setAttribute('data-ready', '1'); })
      .catch(function (e) { content.replaceChildren(empty('无法加载：' + e.message)); document.body.setAttribute('data-ready', 'error'); });
  }
  start();
}());
