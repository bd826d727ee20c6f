{#- The service worker newshub publishes at /sw.js (generator/outputs/offline.py).
    C holds the build's settings:
      version   a digest of the shell and of every language's list: the script changes,
                and browsers install it again, exactly when something it saves ahead does
      caches    the start of this site's cache names (sites may share an origin)
      scope     the site's root path
      default   the default language
      shell     the stylesheet every page loads, the favicon and the logo
      budget    bytes of HTML of a language's newest articles saved ahead
      pages     how many opened pages are kept (the oldest go first)
      media     how many image renditions and hashed files are kept
      timeout   ms to wait for the network before showing a saved copy
      languages code → {root, offline: its offline page, list: its offline.json (the
                offline page and the newest articles with their revisions), version}
    Caches: shell-<version>; lang-<code>-<list version> (what is saved ahead for a
    language); pages (what the reader opened); media (hashed files).
    Jinja comments like this one are not published. -#}
"use strict";
const C = {{ settings }};
const SHELL = C.caches + "shell-" + C.version, PAGES = C.caches + "pages", MEDIA = C.caches + "media";
const REV = "x-newshub-rev", BYTES = "x-newshub-bytes";
const HASHED = /(\.[0-9a-f]{10}|-\d+w-[0-9a-f]{8})\.\w+$/;
const lists = {}, filling = {};

function languageOf(path) {
  for (const code in C.languages) {
    const root = C.languages[code].root;
    if (root !== C.scope && path.startsWith(root)) return code;
  }
  return C.default;
}

function saving(code) {
  return C.caches + "lang-" + code + "-";
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

async function trim(name, bound) {
  const cache = await caches.open(name);
  const keys = await cache.keys();
  for (let i = 0; i < keys.length - bound; i++) await cache.delete(keys[i]);
}

{# A language's list, as this build wrote it (its version names the file's copy). #}
function list(code) {
  const language = C.languages[code];
  lists[code] = lists[code] || fetch(language.list + "?v=" + language.version).then(async r => {
    const data = r.ok ? await r.json() : {};
    if (data.version !== language.version) throw new Error(language.list);
    return data;
  }).catch(e => { delete lists[code]; throw e; });
  return lists[code];
}

{# A copy an earlier build's list named with the same revision: the same bytes. #}
async function earlier(code, path, rev) {
  const current = saving(code) + C.languages[code].version;
  for (const name of await caches.keys()) {
    if (!name.startsWith(saving(code)) || name === current) continue;
    const kept = await (await caches.open(name)).match(path);
    if (kept && kept.headers.get(REV) === rev) return kept;
  }
  return null;
}

async function saveOffline(code, cache) {
  const [path, rev] = (await list(code)).offline;
  if (await cache.match(path)) return;
  const kept = await earlier(code, path, rev);
  if (kept) return cache.put(path, kept);
  const r = await fetch(fresh(path));
  if (!r.ok || r.redirected) throw new Error(path);
  await put(cache, path, r, rev);
}

{# The language's offline page and newest articles, newest first, until the budget; what
   an earlier build saved and did not change is copied, not downloaded again. Once done,
   the list is kept too (the mark of a complete cache) and earlier caches go. #}
async function saveAhead(code) {
  const language = C.languages[code], name = saving(code) + language.version;
  const cache = await caches.open(name);
  if (await cache.match(language.list)) return;
  const data = await list(code);
  await saveOffline(code, cache);
  let used = 0;
  for (const [saved, rev] of data.saved) {
    const path = language.root + saved, here = await cache.match(path);
    const kept = here || await earlier(code, path, rev);
    let size = kept ? Number(kept.headers.get(BYTES)) : 0;
    if (kept) {
      if (used + size > C.budget) break;
      if (!here) await cache.put(path, kept);
    } else {
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
  await cache.put(language.list, new Response(JSON.stringify(data), {headers: {"content-type": "application/json"}}));
  for (const other of await caches.keys()) {
    if (other.startsWith(saving(code)) && other !== name) await caches.delete(other);
  }
}

self.addEventListener("install", event => {
  event.waitUntil((async () => {
    const windows = await clients.matchAll({type: "window", includeUncontrolled: true});
    const codes = new Set(windows.map(w => languageOf(new URL(w.url).pathname)));
    if (!codes.size) codes.add(C.default);
    const shell = await caches.open(SHELL);
    await Promise.all(C.shell.map(path => shell.add(fresh(path)).catch(() => {})));
    {# Without its offline page the worker would be of no use: it must be saved. #}
    await Promise.all([...codes].map(async code => saveOffline(code, await caches.open(saving(code) + C.languages[code].version))));
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

{# An earlier shell goes, and what was saved for languages the site no longer has; a
   language's earlier cache stays until its new one is complete. #}
self.addEventListener("activate", event => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      const language = name.startsWith(C.caches + "lang-") && name.slice(C.caches.length + 5).replace(/-[0-9a-f]+$/, "");
      if ((name.startsWith(C.caches + "shell-") && name !== SHELL) || (language && !C.languages[language])) await caches.delete(name);
    }
    await clients.claim();
  })());
});

{# Each page posts its language once it has loaded (once per language while the worker runs). #}
self.addEventListener("message", event => {
  const code = event.data;
  if (!Object.prototype.hasOwnProperty.call(C.languages, code)) return;
  filling[code] = filling[code] || saveAhead(code).catch(() => { delete filling[code]; });
  event.waitUntil(filling[code]);
});

self.addEventListener("fetch", event => {
  const request = event.request, u = new URL(request.url);
  if (request.method !== "GET" || u.origin !== location.origin || !u.pathname.startsWith(C.scope)) return;
  if (request.mode === "navigate") event.respondWith(page(event, u));
  else if (HASHED.test(u.pathname)) event.respondWith(media(event));
  else if (C.shell.includes(u.pathname)) event.respondWith(fetch(request).catch(() => caches.match(u.pathname, {cacheName: SHELL})).then(r => r || Response.error()));
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
  const saved = await caches.match(key, {cacheName: PAGES}) || await caches.match(key);
  if (!saved) return network.catch(() => offline(u));
  const late = new Promise(resolve => setTimeout(resolve, C.timeout, saved));
  return Promise.race([network.then(r => r.status >= 500 ? saved : r, () => saved), late]);
}

async function offline(u) {
  for (const code of [languageOf(u.pathname), C.default, ...Object.keys(C.languages)]) {
    const r = await caches.match(C.languages[code].offline);
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
