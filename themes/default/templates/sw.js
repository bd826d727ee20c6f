{#- The service worker newshub publishes at /sw.js (generator/outputs/offline.py).
    C holds the build's settings:
      version   a digest of everything saved ahead: a new build that changes any of it
                gives a new cache, and the old one is deleted once the new worker runs
      caches    the start of this site's cache names (sites may share an origin)
      scope     the site's root path
      default   the default language
      shell     the stylesheet every page loads, the favicon and the logo
      budget    bytes of HTML of a language's newest articles saved ahead
      pages     how many opened pages are kept (the oldest go first)
      media     how many image renditions and hashed files are kept
      timeout   ms to wait for the network before showing a saved copy
      languages code → {root, offline: [its offline page, revision], saved: its newest
                articles, newest first, as [path under root, revision]}; a revision
                is a digest of the output's key: equal revisions, equal bytes
    Jinja comments like this one are not published. -#}
"use strict";
const C = {{ settings }};
const PRE = C.caches + "pre-" + C.version, PAGES = C.caches + "pages", MEDIA = C.caches + "media";
const REV = "x-newshub-rev", BYTES = "x-newshub-bytes";
const HASHED = /(\.[0-9a-f]{10}|-\d+w-[0-9a-f]{8})\.\w+$/;
const filling = {};

function languageOf(path) {
  for (const code in C.languages) {
    const root = C.languages[code].root;
    if (root !== C.scope && path.startsWith(root)) return code;
  }
  return C.default;
}

{# Pages and unhashed files are checked with the server (a new build changes them);
   hashed files may come from the browser's own cache, as the page just loaded them. #}
function fresh(path) {
  return new Request(path, {cache: HASHED.test(path) ? "force-cache" : "no-cache"});
}

{# Keep a copy with its size (the budget is counted without reading bodies again) and,
   for what is saved ahead, its revision. #}
async function put(cache, key, response, rev) {
  const body = await response.blob();
  const headers = new Headers(response.headers);
  headers.set(BYTES, String(body.size));
  if (rev) headers.set(REV, rev);
  await cache.put(key, new Response(body, {status: response.status, statusText: response.statusText, headers}));
  return body.size;
}

async function save(cache, path, rev) {
  const r = await fetch(fresh(path));
  if (!r.ok || r.redirected) throw new Error(path);
  return put(cache, path, r, rev);
}

async function trim(name, bound) {
  const cache = await caches.open(name);
  const keys = await cache.keys();
  for (let i = 0; i < keys.length - bound; i++) await cache.delete(keys[i]);
}

{# What an earlier build's worker saved ahead and this build did not change (the same
   revision) is copied into the new cache, not downloaded again. #}
async function carryOver(cache) {
  const revs = new Map();
  for (const code in C.languages) {
    const language = C.languages[code];
    revs.set(language.offline[0], language.offline[1]);
    for (const [path, rev] of language.saved) revs.set(language.root + path, rev);
  }
  for (const name of await caches.keys()) {
    if (!name.startsWith(C.caches + "pre-") || name === PRE) continue;
    const old = await caches.open(name);
    for (const request of await old.keys()) {
      const path = new URL(request.url).pathname, kept = await old.match(request);
      if (revs.has(path) && revs.get(path) === kept.headers.get(REV)) await cache.put(path, kept);
    }
  }
}

self.addEventListener("install", event => {
  event.waitUntil((async () => {
    const windows = await clients.matchAll({type: "window", includeUncontrolled: true});
    const langs = new Set(windows.map(w => languageOf(new URL(w.url).pathname)));
    if (!langs.size) langs.add(C.default);
    const cache = await caches.open(PRE);
    await carryOver(cache);
    {# Without its offline page the worker would be of no use: it must be saved. #}
    await Promise.all([...langs].map(async code => {
      const [path, rev] = C.languages[code].offline;
      if (!await cache.match(path)) await save(cache, path, rev);
    }));
    await Promise.all(C.shell.map(path => cache.add(fresh(path)).catch(() => {})));
    {# The pages open now came before the worker: keep them too (as the browser has
       them: no second download). #}
    const pages = await caches.open(PAGES);
    await Promise.all(windows.map(async w => {
      const u = new URL(w.url), key = u.origin + u.pathname;
      if (!u.pathname.startsWith(C.scope) || u.origin !== location.origin || await pages.match(key)) return;
      try {
        const r = await fetch(key, {cache: "force-cache"});
        if (r.ok && !r.redirected && (r.headers.get("content-type") || "").includes("text/html")) await put(pages, key, r);
      } catch (e) {}
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", event => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(C.caches + "pre-") && name !== PRE) await caches.delete(name);
    }
    await clients.claim();
  })());
});

{# Each page posts its language: save that language's offline page and newest
   articles, newest first, until the budget (once per language while the worker runs). #}
self.addEventListener("message", event => {
  const code = event.data;
  if (!Object.prototype.hasOwnProperty.call(C.languages, code)) return;
  filling[code] = filling[code] || saveAhead(C.languages[code]).catch(() => { delete filling[code]; });
  event.waitUntil(filling[code]);
});

async function saveAhead(language) {
  const cache = await caches.open(PRE);
  const [offline, offlineRev] = language.offline;
  if (!await cache.match(offline)) await save(cache, offline, offlineRev);
  let used = 0;
  for (const [saved, rev] of language.saved) {
    const path = language.root + saved, kept = await cache.match(path);
    let size = kept ? Number(kept.headers.get(BYTES)) : 0;
    if (!kept) {
      const r = await fetch(fresh(path));
      if (!r.ok || r.redirected) continue;
      const known = Number(r.headers.get("content-length"));
      if (known && used + known > C.budget) break;
      size = await put(cache, path, r, rev);
    }
    used += size;
    if (used > C.budget) {
      await cache.delete(path);
      break;
    }
  }
}

self.addEventListener("fetch", event => {
  const request = event.request, u = new URL(request.url);
  if (request.method !== "GET" || u.origin !== location.origin || !u.pathname.startsWith(C.scope)) return;
  if (request.mode === "navigate") event.respondWith(page(event, u));
  else if (HASHED.test(u.pathname)) event.respondWith(media(event));
  else if (C.shell.includes(u.pathname)) event.respondWith(fetch(request).catch(() => caches.match(u.pathname, {cacheName: PRE})).then(r => r || Response.error()));
});

{# Pages: the network first; a saved copy if it fails, answers with a server error, or
   has not answered in time; the offline page of the address's language when nothing is
   saved. The page reaches the reader as it arrives; a copy is kept meanwhile. #}
async function page(event, u) {
  const key = u.origin + u.pathname;
  const network = fetch(event.request).then(r => {
    if (r.ok && r.type === "basic" && !r.redirected && (r.headers.get("content-type") || "").includes("text/html")) {
      const copy = r.clone();
      event.waitUntil((async () => {
        await put(await caches.open(PAGES), key, copy);
        await trim(PAGES, C.pages);
      })());
    }
    return r;
  });
  event.waitUntil(network.catch(() => {}));
  const saved = await caches.match(key, {cacheName: PAGES}) || await caches.match(key, {cacheName: PRE});
  if (!saved) return network.catch(() => offline(u));
  const late = new Promise(resolve => setTimeout(resolve, C.timeout, saved));
  return Promise.race([network.then(r => r.status >= 500 ? saved : r, () => saved), late]);
}

async function offline(u) {
  const wanted = [languageOf(u.pathname), C.default, ...Object.keys(C.languages)];
  for (const code of wanted) {
    const r = await caches.match(C.languages[code].offline[0], {cacheName: PRE});
    if (r) return r;
  }
  return Response.error();
}

{# Hashed files never change under their name: the cache first. #}
async function media(event) {
  const saved = await caches.match(event.request.url);
  if (saved) return saved;
  const r = await fetch(event.request);
  if (r.ok && r.type === "basic") {
    const copy = r.clone();
    event.waitUntil((async () => {
      await (await caches.open(MEDIA)).put(event.request.url, copy);
      await trim(MEDIA, C.media);
    })());
  }
  return r;
}
