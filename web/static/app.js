/* 一企一码 page: sign in, act through forms (JSON to the API), keep working offline.
 * Every form with class "act" says where it goes (data-method, data-url) and what to say after
 * (data-ok); its field names are the API's. Submissions made offline wait in an outbox (localStorage)
 * and are sent when the phone is back online. No framework, no CDN. */
(function () {
  'use strict';
  var TOKEN = 'rg-token';
  var OUTBOX = 'rg-outbox';
  var code = document.body.getAttribute('data-code');
  var statusBox = document.getElementById('status');
  var MESSAGES = {
    400: '提交的内容有误，请检查后重试', 401: '请先登录（或登录已过期）', 403: '您无权执行此操作',
    404: '未找到相关记录', 409: '状态已经变化，请刷新后重试', 413: '照片太大，请压缩后再试',
    415: '照片格式不支持，请使用 JPEG、PNG 或 WebP', 422: '提交的内容有误，请检查后重试',
    429: '操作过于频繁，请稍后再试'
  };

  function say(text, bad) {
    statusBox.textContent = text;
    statusBox.className = bad ? 'status bad' : 'status';
    statusBox.hidden = false;
    window.scrollTo(0, 0);
  }
  function message(status) { return MESSAGES[status] || '服务暂时不可用，请稍后再试'; }
  function token() { return sessionStorage.getItem(TOKEN); }
  function headers(extra) {
    var h = extra || {};
    var t = token();
    if (t) { h.Authorization = 'Bearer ' + t; }
    return h;
  }

  /* ------------------------------------------------------------------ the panel */
  function loadPanel() {
    if (!token()) { return Promise.resolve(); }
    return fetch('/m/panel/' + encodeURIComponent(code), { headers: headers() }).then(function (r) {
      if (r.status === 401) { sessionStorage.removeItem(TOKEN); say('登录已过期，请重新登录', true); return null; }
      if (!r.ok) { say(message(r.status), true); return null; }
      return r.text();
    }).then(function (html) {
      if (html !== null && html !== undefined) { document.getElementById('panel').innerHTML = html; }
    }).catch(function () { say('网络不可用：显示的是上次的内容', true); });
  }

  function signIn(form) {
    var data = new URLSearchParams(new FormData(form));
    return fetch('/auth/token', { method: 'POST', body: data }).then(function (r) {
      if (!r.ok) { say(r.status === 401 ? '账号或密码不正确' : message(r.status), true); return null; }
      return r.json();
    }).then(function (body) {
      if (!body) { return; }
      sessionStorage.setItem(TOKEN, body.access_token);
      say('登录成功');
      return loadPanel();
    }).catch(function () { say('网络不可用，无法登录', true); });
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN);
    var done = window.caches ? caches.delete('rg-pages') : Promise.resolve();
    Promise.resolve(done).then(function () { window.location.reload(); });
  }

  /* ------------------------------------------------------------------ forms → JSON */
  function put(body, name, value) {
    var parts = name.split('.');
    var at = body;
    for (var i = 0; i < parts.length - 1; i++) { at = at[parts[i]] = at[parts[i]] || {}; }
    at[parts[parts.length - 1]] = value;
  }
  function lines(text) {
    return text.split('\n').map(function (s) { return s.trim(); }).filter(Boolean);
  }
  function collect(form, submitter) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === 'file' || el.tagName === 'BUTTON') { return; }
      if (el.hasAttribute('data-skip') || el.closest('fieldset[hidden]')) { return; }
      if (el.type === 'checkbox') {
        if (el.hasAttribute('data-array')) {
          body[el.name] = body[el.name] || [];
          if (el.checked) { body[el.name].push(el.value); }
        } else if (el.checked) { put(body, el.name, el.value); }
        return;
      }
      var value = el.value;
      if (value === '') { return; }
      var list = el.getAttribute('data-list');
      if (list === 'lines') { value = lines(value); }
      else if (list === 'dangers') {
        var grade = form.elements.dangerGrade ? form.elements.dangerGrade.value : 'GENERAL';
        value = lines(value).map(function (n) { return { name: n, grade: grade }; });
      } else if (el.getAttribute('data-type') === 'number') { value = Number(value); }
      put(body, el.name, value);
    });
    if (submitter && submitter.name) { put(body, submitter.name, submitter.value); }
    return body;
  }
  function files(form) {
    var out = [];
    Array.prototype.forEach.call(form.querySelectorAll('input[type=file]'), function (input) {
      if (input.closest('fieldset[hidden]')) { return; }
      Array.prototype.forEach.call(input.files || [], function (f) { out.push(f); });
    });
    return out;
  }
  function dataUrl(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }
  function upload(file) {
    var data = new FormData();
    data.append('file', file, file.name || 'photo.jpg');
    return fetch('/photos', { method: 'POST', headers: headers(), body: data }).then(function (r) {
      if (!r.ok) { var e = new Error('upload'); e.status = r.status; throw e; }
      return r.json();
    }).then(function (p) { return p.id; });
  }
  function photos(list) {
    if (!list.length) { return Promise.resolve([]); }
    if (!navigator.onLine) { return Promise.all(list.map(dataUrl)); }
    return Promise.all(list.map(upload)).catch(function (e) {
      if (e && e.status) { throw e; }
      return Promise.all(list.map(dataUrl));  // the network went away: the photos travel inline
    });
  }

  function send(item) {
    return fetch(item.url, {
      method: item.method, headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(item.body)
    });
  }
  function queue(item) {
    var items = JSON.parse(localStorage.getItem(OUTBOX) || '[]');
    items.push(item);
    localStorage.setItem(OUTBOX, JSON.stringify(items));
  }
  function uploadInline(item) {
    /* photos kept inline while offline go up as uploads first: a write's body stays small */
    var list = (item.body && item.body.photos) || [];
    return Promise.all(list.map(function (p) {
      if (typeof p !== 'string' || p.indexOf('data:') !== 0) { return p; }
      return fetch(p).then(function (r) { return r.blob(); }).then(upload);
    })).then(function (ids) { if (list.length) { item.body.photos = ids; } return item; });
  }
  function flush() {
    var items = JSON.parse(localStorage.getItem(OUTBOX) || '[]');
    if (!items.length || !navigator.onLine) { return Promise.resolve(); }
    localStorage.setItem(OUTBOX, '[]');
    var kept = [];
    var refused = 0;
    return items.reduce(function (chain, item) {
      return chain.then(function () {
        return uploadInline(item).then(send).then(function (r) { if (!r.ok) { refused += 1; } })
          .catch(function (e) { if (e && e.status) { refused += 1; } else { kept.push(item); } });
      });
    }, Promise.resolve()).then(function () {
      var now = JSON.parse(localStorage.getItem(OUTBOX) || '[]');
      localStorage.setItem(OUTBOX, JSON.stringify(kept.concat(now)));
      say(refused ? '离线期间的提交中有 ' + refused + ' 项未被接受，请重新办理' : '离线期间的提交已发送', refused > 0);
      return loadPanel();
    });
  }

  function act(form, submitter) {
    var buttons = form.querySelectorAll('button');
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    var body = collect(form, submitter);
    var item = { method: form.getAttribute('data-method'), url: form.getAttribute('data-url'), body: body };
    return photos(files(form)).then(function (ids) {
      if (ids.length) { body.photos = ids; }
      return send(item).then(function (r) {
        if (!r.ok) { say(message(r.status), true); return; }
        say(form.getAttribute('data-ok') || '已提交');
        form.reset();
        return loadPanel();
      }, function () {
        queue(item);
        say('网络不可用：已保存，联网后自动提交');
      });
    }).catch(function (e) {
      say(e && e.status ? message(e.status) : '照片无法读取', true);
    }).then(function () {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    });
  }

  /* ------------------------------------------------------------------ events */
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (form.id === 'signin') { ev.preventDefault(); signIn(form); return; }
    if (!form.classList.contains('act')) { return; }
    ev.preventDefault();
    act(form, ev.submitter);
  });
  document.addEventListener('click', function (ev) {
    var el = ev.target.closest('[data-signout],[data-toggle],[data-fragment]');
    if (!el) { return; }
    if (el.hasAttribute('data-signout')) { signOut(); return; }
    if (el.hasAttribute('data-toggle')) {
      var box = document.getElementById(el.getAttribute('data-toggle'));
      if (box) { box.hidden = !box.hidden; }
      return;
    }
    var target = el.nextElementSibling;
    fetch(el.getAttribute('data-fragment'), { headers: headers() }).then(function (r) {
      if (!r.ok) { say(message(r.status), true); return null; }
      return r.text();
    }).then(function (html) { if (html !== null && target) { target.innerHTML = html; } })
      .catch(function () { say('网络不可用', true); });
  });
  function online() {
    document.getElementById('offline').hidden = navigator.onLine;
    if (navigator.onLine) { flush(); }
  }
  window.addEventListener('online', online);
  window.addEventListener('offline', online);

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () { /* the page works without it */ });
  }
  document.getElementById('offline').hidden = navigator.onLine;
  loadPanel().then(flush);
}());
