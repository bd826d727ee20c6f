// The search page of the newshub default theme (templates/search.html): Pagefind's index
// for the page's language, loaded once the reader starts to search (nothing before), from
// this site only. Results show title, date and excerpt; the messages come from the page,
// translated by the theme's catalogs.
const form = document.querySelector("form.search");
const input = form.querySelector("input");
const status = document.querySelector(".search-status");
const list = document.querySelector(".search-results");
const more = document.querySelector(".search-more");
const messages = form.dataset;
const language = document.documentElement.lang;
const PAGE = 10; // results shown at a time
const plurals = new Intl.PluralRules(language);
const numbers = new Intl.NumberFormat(language, { numberingSystem: "latn" });
let pagefind = null; // the import of Pagefind's script, once started
let results = [];
let latest = 0; // the newest search: an older one's answer is dropped

// The index comes in shards (an edit re-indexes one): the first holds Pagefind's script,
// and shards.json beside it names the others, merged into it so that one search ranks
// the results of all.
async function shards() {
  const response = await fetch(messages.bundle + "shards.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`shards.json: ${response.status}`);
  return (await response.json()).shards;
}

function load() {
  pagefind ??= Promise.all([import(messages.bundle + "pagefind.js"), shards()])
    .then(async ([module, others]) => {
      await module.destroy(); // what a failed start left (shards merged twice otherwise)
      await module.options({ baseUrl: messages.base, excerptLength: 24 });
      await module.init();
      await Promise.all(others.map((shard) =>
        module.mergeIndex(messages.bundle + shard, { baseUrl: messages.base })));
      return module;
    });
  return pagefind;
}

function counted(count) {
  const category = plurals.select(count);
  const key = "results" + category[0].toUpperCase() + category.slice(1);
  const digits = numbers.format(count).replace(/[0-9]/g, (d) => messages.digits[d]);
  return (messages[key] ?? messages.resultsOther).replace("{count}", digits);
}

// Pagefind's excerpt is the page's text with <mark> around the words found: rebuilt from
// text nodes and <mark> elements only, so nothing in it can become markup.
function excerpt(html) {
  const parsed = new DOMParser().parseFromString(html, "text/html").body.childNodes;
  return Array.from(parsed, (node) => {
    if (node.nodeName !== "MARK") return document.createTextNode(node.textContent);
    const mark = document.createElement("mark");
    mark.textContent = node.textContent;
    return mark;
  });
}

function item(found) {
  const entry = document.createElement("li");
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.href = found.url;
  link.textContent = found.meta.title || found.url;
  heading.append(link);
  entry.append(heading);
  if (found.meta.date) {
    const date = document.createElement("p");
    date.className = "date";
    date.textContent = found.meta.date;
    entry.append(date);
  }
  const text = document.createElement("p");
  text.append(...excerpt(found.excerpt));
  entry.append(text);
  return entry;
}

async function showMore(search) {
  const start = list.children.length;
  const shown = await Promise.all(results.slice(start, start + PAGE).map((r) => r.data()));
  if (search !== latest) return;
  list.append(...shown.map(item));
  more.hidden = list.children.length >= results.length;
  return list.children[start];
}

async function run(words, waitForTyping) {
  const search = ++latest;
  const query = words.trim();
  if (!query) {
    results = [];
    list.textContent = status.textContent = "";
    more.hidden = true;
    return;
  }
  let found;
  try {
    const module = await load();
    found = waitForTyping ? await module.debouncedSearch(query, {}, 250)
      : await module.search(query);
  } catch (error) {
    if (search === latest) status.textContent = messages.failed;
    pagefind = null; // try again at the next search
    return;
  }
  if (found === null || search !== latest) return;
  results = found.results;
  list.textContent = "";
  status.textContent = results.length ? counted(results.length) : messages.none;
  await showMore(search);
}

function remember(words) {
  const address = new URL(location.href);
  if (words.trim()) address.searchParams.set("q", words);
  else address.searchParams.delete("q");
  history.replaceState(null, "", address);
}

input.addEventListener("focus", () => load().catch(() => {}), { once: true });
input.addEventListener("input", () => {
  remember(input.value);
  run(input.value, true);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  remember(input.value);
  run(input.value, false);
});
more.addEventListener("click", async () => {
  const first = await showMore(latest);
  first?.querySelector("a")?.focus();
});
const asked = new URLSearchParams(location.search).get("q");
if (asked) {
  input.value = asked;
  run(asked, false);
}
