// newswatch live view. No build step, no framework.
// SAFETY RULE: every string from a feed is put into the page with textContent (via el() below)
// or setAttribute on inert attributes; links get an href only when the URL is http(s).
'use strict';

const MAX_LIVE = 500;
const SVG_NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2b6cb0', '#c05621', '#2f855a', '#9b2c2c', '#6b46c1', '#b7791f', '#2c7a7b', '#97266d', '#4a5568'];
const state = { cursor: '', alertSeq: 0, seen: new Set(), received: 0, refreshTimer: null, source: null };

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child); // strings become text nodes
  return node;
}

function safeUrl(raw) {
  if (typeof raw !== 'string' || raw === '') return null;
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch (_) {
    return null;
  }
}

function when(iso) {
  const date = new Date(iso);
  return isNaN(date) ? '' : date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

function titleNode(title, url, cls) {
  const href = safeUrl(url);
  const text = title || '(untitled)';
  if (href === null) return el('span', { class: cls, text });
  return el('a', { class: cls, href, target: '_blank', rel: 'noopener noreferrer nofollow', text });
}

function articleItem(article) {
  const meta = el('div', { class: 'meta' },
    el('span', { class: 'outlet', text: article.outlet || '' }),
    el('time', { datetime: article.published_at, text: when(article.published_at) }));
  for (const topic of article.topics || []) meta.append(el('span', { class: 'chip', text: topic }));
  const people = (article.entities && article.entities.person) || [];
  for (const name of people.slice(0, 3)) meta.append(el('span', { class: 'chip entity', text: name }));
  const item = el('li', { 'data-article-id': article.article_id }, titleNode(article.title, article.url, 'title'), meta);
  return item;
}

function showArticles(list, articles, fresh) {
  for (const article of articles) {
    const old = list.querySelector(`li[data-article-id="${CSS.escape(article.article_id)}"]`);
    if (old) old.remove();
    const item = articleItem(article);
    if (fresh) item.classList.add('fresh');
    list.prepend(item);
  }
  while (list.children.length > MAX_LIVE) list.lastElementChild.remove();
  document.getElementById('live-empty').hidden = document.getElementById('live').children.length > 0;
}

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { body });
  return body;
}

function setStatus(kind, text) {
  const status = document.getElementById('status');
  status.className = `status ${kind}`;
  status.textContent = text;
}

function colourOf(topics) {
  const map = new Map();
  topics.forEach((topic, i) => map.set(topic, PALETTE[i % PALETTE.length]));
  return map;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

function drawChart(data) {
  const chart = document.getElementById('chart');
  const legend = document.getElementById('legend');
  const buckets = data.buckets || [];
  const topics = [...new Set(buckets.flatMap((b) => Object.keys(b.counts)))].sort();
  const colours = colourOf(topics);
  const width = 600, height = 180, left = 28, bottom = 18;
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.total, Object.values(b.counts).reduce((s, n) => s + n, 0))));
  const step = (width - left) / Math.max(1, buckets.length);
  const scale = (height - bottom - 4) / max;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'articles per topic over time' });
  root.append(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: '#cbd5e0' }));
  const maxLabel = svg('text', { x: 0, y: 12, 'font-size': 10, fill: '#718096' });
  maxLabel.textContent = String(max);
  root.append(maxLabel);
  buckets.forEach((bucket, i) => {
    let y = height - bottom;
    const x = left + i * step + 1;
    for (const topic of topics) {
      const n = bucket.counts[topic] || 0;
      if (!n) continue;
      const h = n * scale;
      y -= h;
      const bar = svg('rect', { x, y, width: Math.max(1, step - 2), height: h, fill: colours.get(topic) });
      const tip = svg('title', {});
      tip.textContent = `${topic}: ${n} (${bucket.start.slice(0, data.interval === 'hour' ? 13 : 10)})`;
      bar.append(tip);
      root.append(bar);
    }
    if (i === 0 || i === buckets.length - 1 || i === Math.floor(buckets.length / 2)) {
      const anchor = i === 0 ? 'start' : i === buckets.length - 1 ? 'end' : 'middle';
      const lx = i === buckets.length - 1 ? width : x + step / 2;
      const label = svg('text', { x: i === 0 ? x : lx, y: height - 4, 'font-size': 10, fill: '#718096', 'text-anchor': anchor });
      label.textContent = bucket.start.slice(5, data.interval === 'hour' ? 13 : 10).replace('T', ' ');
      root.append(label);
    }
  });
  chart.replaceChildren(root);
  legend.replaceChildren(...topics.map((topic) => {
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = colours.get(topic); // CSSOM, allowed by the CSP (a style attribute is not)
    return el('li', {}, swatch, topic);
  }));
}

function drawEntities(data) {
  for (const kind of ['person', 'org', 'gpe']) {
    const list = document.getElementById(`ent-${kind}`);
    list.replaceChildren(...(data[kind] || []).map((row) =>
      el('li', {}, el('span', { class: 'name', text: row.name }), el('span', { class: 'count', text: `(${row.count})` }))));
  }
}

function alertItem(alert) {
  return el('li', { 'data-alert-id': alert.alert_id || '' },
    el('span', { class: 'rule', text: alert.rule || '' }),
    titleNode(alert.title || alert.message || '', alert.url, 'title'),
    el('div', { class: 'meta' }, el('span', { text: alert.outlet || '' }), el('time', { text: when(alert.fired_at) })));
}

function showAlerts(alerts) {
  const list = document.getElementById('alerts');
  for (const alert of alerts) {
    list.prepend(alertItem(alert));
    state.alertSeq = Math.max(state.alertSeq, alert.seq || 0);
  }
  while (list.children.length > 50) list.lastElementChild.remove();
  document.getElementById('alerts-empty').hidden = list.children.length > 0;
}

async function refreshPanels() {
  const interval = document.getElementById('interval').value;
  const [volume, entities] = await Promise.all([getJSON(`/api/topics?interval=${interval}`), getJSON('/api/entities')]);
  drawChart(volume);
  drawEntities(entities);
}

function schedulePanels() {
  if (state.refreshTimer !== null) return;
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; refreshPanels().catch(console.error); }, 1000);
}

function updateCounter() {
  document.getElementById('counter').textContent = `${state.received} new since load`;
}

function connect() {
  const query = new URLSearchParams({ after: state.cursor, alerts_after: String(state.alertSeq) });
  const source = new EventSource(`/api/stream?${query}`);
  state.source = source;
  source.onopen = () => setStatus('live', 'live');
  source.onerror = () => setStatus('reconnecting', 'reconnecting…');
  source.addEventListener('article', (event) => {
    const article = JSON.parse(event.data);
    if (event.lastEventId) state.cursor = event.lastEventId;
    state.received += 1;
    updateCounter();
    showArticles(document.getElementById('live'), [article], true);
    schedulePanels();
  });
  source.addEventListener('alert', (event) => showAlerts([JSON.parse(event.data)]));
}

async function runSearch(event) {
  event.preventDefault();
  const q = document.getElementById('q').value.trim();
  const panel = document.getElementById('search-panel');
  const error = document.getElementById('search-error');
  const results = document.getElementById('search-results');
  const summary = document.getElementById('search-summary');
  if (!q) return;
  panel.hidden = false;
  results.replaceChildren();
  try {
    const body = await getJSON(`/api/search?${new URLSearchParams({ q })}`);
    error.hidden = true;
    results.replaceChildren(...body.articles.map(articleItem));
    const resolved = Object.entries(body.entity_names || {}).map(([name, names]) => `entity ${name} → ${names.join(' / ')}`);
    const notes = [`${body.articles.length} found`, ...resolved, ...(body.truncated ? [`only the newest ${body.scanned} searched`] : []), ...body.warnings];
    summary.textContent = notes.join(' · ');
  } catch (err) {
    error.hidden = false;
    error.textContent = (err.body && err.body.detail) || String(err);
    summary.textContent = '';
  }
}

async function start() {
  document.getElementById('search-form').addEventListener('submit', runSearch);
  document.getElementById('search-clear').addEventListener('click', () => {
    document.getElementById('q').value = '';
    document.getElementById('search-panel').hidden = true;
  });
  document.getElementById('interval').addEventListener('change', () => refreshPanels().catch(console.error));
  const [recent, alerts] = await Promise.all([getJSON('/api/recent?limit=50'), getJSON('/api/alerts?limit=20')]);
  state.cursor = recent.cursor;
  showArticles(document.getElementById('live'), recent.articles.slice().reverse(), false);
  showAlerts(alerts.alerts.slice().reverse());
  state.alertSeq = alerts.seq;
  updateCounter();
  connect();
  await refreshPanels();
  document.body.dataset.ready = 'true';
}

document.addEventListener('DOMContentLoaded', () => start().catch((err) => setStatus('reconnecting', `error: ${err.message}`)));
