/* The service worker of the 一企一码 page (served at /sw.js): the page's assets from the cache, the scan
 * pages and their fragments from the network when there is one and from the last copy when there is
 * not. Writes are never cached: app.js keeps them in its outbox until the phone is online. */
'use strict';
var STATIC = 'rg-static-v1';
var PAGES = 'rg-pages';
var ASSETS = ['/m/static/app.css', '/m/static/app.js', '/m/static/icon.svg', '/m/static/manifest.webmanifest'];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf('rg-static-') === 0 && k !== STATIC; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function remembered(request) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) {
      return hit || new Response('<p>当前离线，且此前没有打开过这一页。</p>',
        { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
    });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf('/m/static/') === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  var page = request.mode === 'navigate' && /^\/q\//i.test(url.pathname);
  var fragment = /^\/m\/(panel|history|analysis)\//.test(url.pathname);
  if (page || fragment) { event.respondWith(remembered(request)); }
});
