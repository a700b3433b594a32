// Why: the dashboard's behaviour, in plain browser JavaScript so no build step stands between the
// repository and a node serving it. Once a second it reads this node's JSON endpoints
// (/admin/status, /admin/stats, /admin/aae; docs/API.md) and redraws: members and their states,
// the ring as a circle of partitions coloured by owner, the last minute of operations, hints and
// anti-entropy. The ring is re-read when its version changes; the key search asks
// /admin/placement, and the key browser reads a key through the ordinary key route.
// Nothing is written with innerHTML: every value from the node goes in as text.

const pollIntervalMs = 1000;
const svgNamespace = 'http://www.w3.org/2000/svg';
const palette = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295'];
const ringRadii = { inner: 62, outer: 100 };

const view = { ringVersion: undefined, ring: undefined, placement: undefined };

function byId(id) {
  return document.getElementById(id);
}

/** An element with attributes and children (strings become text nodes). */
function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function svgElement(tag, attributes = {}) {
  const node = document.createElementNS(svgNamespace, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

async function fetchJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

/** The JSON of an optional endpoint, or null when this node does not serve it (501). */
async function fetchOptional(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  return response.ok ? response.json() : null;
}

function colourOf(memberIndex) {
  return palette[memberIndex % palette.length];
}

function formatAgo(ms) {
  if (ms === undefined || ms === null) return '–';
  return ms < 1000 ? `${ms} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;
}

// ---- members --------------------------------------------------------------------------------

function renderStatus(status) {
  byId('node-id').textContent = status.id;
  const viewLine = status.view === undefined ? 'no cluster view' : `cluster view version ${status.view.version}, ${status.view.partitionCount} partitions, digest ${status.view.digest.slice(0, 12)}`;
  const conflict = status.view?.conflict;
  byId('view-line').textContent = conflict ? `${viewLine}. REFUSING TO SERVE: ${conflict.reason}` : viewLine;
  byId('view-line').className = conflict ? 'error' : 'muted';
  const preferred = new Set(view.placement?.targets.map((target) => target.node) ?? []);
  const rows = status.members.map((member) =>
    element(
      'tr',
      { 'data-member': member.id, 'data-state': member.state, class: preferred.has(member.id) ? 'preferred' : '' },
      element('td', {}, member.id === status.id ? `${member.id} (this node)` : member.id),
      element('td', {}, element('span', { class: `state state-${member.state}` }, member.state)),
      element('td', {}, member.zone ?? '–'),
      element('td', {}, member.partitions),
      element('td', {}, member.incarnation ?? '–'),
      element('td', {}, member.id === status.id ? '–' : formatAgo(member.lastHeardAgoMs)),
      element('td', {}, member.http ? element('a', { href: `http://${member.http}/` }, member.http) : '–'),
    ),
  );
  byId('members').tBodies[0].replaceChildren(...rows);
}

// ---- ring -----------------------------------------------------------------------------------

function arcPath(partition, partitionCount) {
  const start = (partition / partitionCount) * 2 * Math.PI - Math.PI / 2;
  const end = ((partition + 1) / partitionCount) * 2 * Math.PI - Math.PI / 2;
  const point = (radius, angle) => `${(radius * Math.cos(angle)).toFixed(3)} ${(radius * Math.sin(angle)).toFixed(3)}`;
  const { inner, outer } = ringRadii;
  return `M ${point(outer, start)} A ${outer} ${outer} 0 0 1 ${point(outer, end)} L ${point(inner, end)} A ${inner} ${inner} 0 0 0 ${point(inner, start)} Z`;
}

function renderRing(ring) {
  const svg = byId('ring');
  const paths = ring.owners.map((owner, partition) => {
    const path = svgElement('path', { d: arcPath(partition, ring.partitionCount), fill: colourOf(owner), 'data-partition': partition, 'data-owner': ring.members[owner].id });
    const title = svgElement('title');
    title.textContent = `partition ${partition}: ${ring.members[owner].id}`;
    path.append(title);
    return path;
  });
  const label = svgElement('text', { x: 0, y: 4, 'text-anchor': 'middle', 'font-size': 11, fill: 'currentColor' });
  label.textContent = `${ring.partitionCount} partitions`;
  svg.replaceChildren(...paths, label);
  const counts = new Map();
  for (const owner of ring.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  byId('ring-legend').replaceChildren(
    ...ring.members.map((member, index) => element('li', { 'data-member': member.id }, element('span', { class: 'swatch', 'data-colour': colourOf(index) }), `${member.id}: ${counts.get(index) ?? 0} partitions`)),
  );
  // A colour is a presentation value, set through the CSSOM (the page's policy forbids inline style attributes).
  for (const swatch of byId('ring-legend').querySelectorAll('.swatch')) swatch.style.background = swatch.dataset.colour;
  highlightPlacement();
}

function highlightPlacement() {
  const partition = view.placement?.partition;
  for (const path of byId('ring').querySelectorAll('path')) {
    const chosen = partition !== undefined && Number(path.dataset.partition) === partition;
    path.classList.toggle('highlight', chosen);
    path.classList.toggle('dim', partition !== undefined && !chosen);
  }
}

function renderPlacement(placement) {
  const box = byId('placement');
  const items = placement.targets.map((target) => element('li', { 'data-node': target.node, 'data-role': target.role }, target.role === 'fallback' ? `${target.node} (fallback for ${target.standsInFor})` : `${target.node} (primary)`));
  box.replaceChildren(
    element('p', {}, `${placement.bucket}/${placement.key} is in partition ${placement.partition}; primaries ${placement.primaries.join(', ')}.`),
    element('p', { class: 'muted' }, 'A request now goes to:'),
    element('ol', { id: 'preference-list' }, ...items),
  );
  highlightPlacement();
  for (const row of byId('members').tBodies[0].rows) row.classList.toggle('preferred', placement.targets.some((target) => target.node === row.dataset.member));
}

async function searchPlacement(event) {
  event.preventDefault();
  const query = new URLSearchParams({ bucket: byId('placement-bucket').value, key: byId('placement-key').value });
  try {
    view.placement = await fetchJson(`/admin/placement?${query}`);
    renderPlacement(view.placement);
  } catch (error) {
    byId('placement').replaceChildren(element('p', { class: 'error' }, String(error.message)));
  }
}

// ---- operations -----------------------------------------------------------------------------

/** A line through the non-null values, and a dot on each (a second alone between gaps shows too). */
function series(values, maximum, className) {
  const points = [];
  values.forEach((value, index) => {
    if (value !== null) points.push([(index / Math.max(1, values.length - 1)) * 600, 88 - (value / maximum) * 84]);
  });
  const line = svgElement('polyline', { class: className, points: points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ') });
  const dots = points.map(([x, y]) => svgElement('circle', { class: `${className} dot`, cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5 }));
  return [line, ...dots];
}

function lastValue(values) {
  for (let index = values.length - 1; index >= 0; index--) if (values[index] !== null) return values[index];
  return null;
}

function chart(title, lines, unit) {
  const maximum = Math.max(1e-9, ...lines.flatMap((line) => line.values.filter((value) => value !== null)));
  const svg = svgElement('svg', { viewBox: '0 0 600 90', preserveAspectRatio: 'none' });
  svg.append(...lines.flatMap((line) => series(line.values, maximum, line.className)));
  const last = lines.map((line) => `${line.name} ${formatNumber(lastValue(line.values))}${unit}`).join(', ');
  return element('div', { class: 'chart' }, element('div', {}, `${title}: `, element('span', { class: 'muted' }, `latest ${last} (max ${formatNumber(maximum)}${unit})`)), svg);
}

function formatNumber(value) {
  if (value === null || value === undefined) return '–';
  return value >= 100 ? String(Math.round(value)) : value.toFixed(value >= 10 ? 1 : 2);
}

function renderStats(stats) {
  const charts = byId('charts');
  if (stats === null) {
    charts.replaceChildren(element('p', { class: 'muted' }, 'This node keeps no live statistics.'));
    return;
  }
  const operations = Object.entries(stats.operations);
  if (operations.length === 0) {
    charts.replaceChildren(element('p', { class: 'muted' }, 'No operation coordinated by this node yet.'));
  } else {
    charts.replaceChildren(
      ...operations.flatMap(([operation, seconds]) => [
        element('h3', { 'data-operation': operation }, operation),
        chart('per second', [{ name: 'ops', className: 'rate', values: seconds.map((second) => second.count) }], '/s'),
        chart('latency', [{ name: 'p50', className: 'p50', values: seconds.map((second) => second.p50Ms) }, { name: 'p99', className: 'p99', values: seconds.map((second) => second.p99Ms) }], ' ms'),
      ]),
    );
  }
  renderHints(stats);
}

// ---- hints and anti-entropy -----------------------------------------------------------------

function definitions(target, entries) {
  target.replaceChildren(...entries.flatMap(([term, value]) => [element('dt', {}, term), element('dd', {}, value)]));
}

function renderHints(stats) {
  const totals = stats.totals;
  definitions(byId('hint-totals'), [
    ['stored', totals.hintsStored],
    ['handed off', totals.hintsDelivered],
    ['dropped', totals.hintsDropped],
    ['sloppy-quorum replicas', totals.sloppyReplicas],
    ['read repairs', totals.readRepairs],
    ['forwards', totals.forwards],
  ]);
  const rows = stats.hintsPending.map((entry) => element('tr', { 'data-target': entry.target }, element('td', {}, entry.target), element('td', {}, entry.count), element('td', {}, entry.bytes)));
  byId('hints').tBodies[0].replaceChildren(...(rows.length > 0 ? rows : [element('tr', {}, element('td', { colspan: 3, class: 'muted' }, 'no hints pending'))]));
}

function renderAntiEntropy(report) {
  if (report === null) {
    definitions(byId('aae'), [['state', 'not running on this node']]);
    return;
  }
  const sum = (field) => report.partitions.reduce((total, entry) => total + entry[field], 0);
  const ages = report.partitions.map((entry) => entry.lastExchangeAgoMs).filter((age) => age !== null);
  definitions(byId('aae'), [
    ['trees ready', `${report.treesReady} of ${report.treesHeld}`],
    ['exchanges running', report.exchangesRunning],
    ['repairs queued', report.repairsQueued],
    ['exchanges done', sum('exchanges')],
    ['exchanges failed', sum('exchangesFailed')],
    ['keys repaired', sum('keysRepaired')],
    ['bytes exchanged', sum('bytesExchanged')],
    ['most recent exchange', ages.length === 0 ? 'none yet' : formatAgo(Math.min(...ages))],
  ]);
}

// ---- key browser ----------------------------------------------------------------------------

function decodeBase64Text(base64) {
  const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

function siblingBox(index, sibling) {
  if (sibling.deleted) return element('div', { class: 'sibling', 'data-deleted': 'true' }, `#${index + 1} deleted (tombstone), ${sibling.lastModified}`);
  return element('div', { class: 'sibling' }, `#${index + 1} ${sibling.contentType}, ${sibling.lastModified}`, element('pre', {}, sibling.text));
}

async function readKey(event) {
  event.preventDefault();
  const bucket = byId('key-bucket').value;
  const key = byId('key-key').value;
  const result = byId('key-result');
  const response = await fetch(`/buckets/${encodeURIComponent(bucket)}/keys/${encodeURIComponent(key)}`, { headers: { accept: 'application/json' } });
  const context = response.headers.get('X-Everwrite-Context');
  let siblings = [];
  if (response.status === 200) {
    siblings = [{ contentType: response.headers.get('Content-Type') ?? '', lastModified: response.headers.get('Last-Modified') ?? '', text: await response.text() }];
  } else if (response.status === 300) {
    siblings = (await response.json()).siblings.map((sibling) => (sibling.deleted ? sibling : { ...sibling, text: decodeBase64Text(sibling.value) }));
  } else {
    const body = await response.json().catch(() => ({}));
    result.replaceChildren(element('p', { 'data-siblings': 0 }, `${response.status}: ${body.message ?? 'no answer'}`));
    return;
  }
  result.replaceChildren(
    element('p', { 'data-siblings': siblings.length }, siblings.length === 1 ? 'one version' : `${siblings.length} siblings (concurrent versions)`),
    ...siblings.map((sibling, index) => siblingBox(index, sibling)),
    element('div', {}, 'context (write with it to supersede what is shown):'),
    element('div', { class: 'context', id: 'key-context' }, context ?? '–'),
  );
}

// ---- polling --------------------------------------------------------------------------------

async function refresh() {
  try {
    const [status, stats, antiEntropy] = await Promise.all([fetchJson('/admin/status'), fetchOptional('/admin/stats'), fetchOptional('/admin/aae')]);
    renderStatus(status);
    renderStats(stats);
    renderAntiEntropy(antiEntropy);
    const ringVersion = `${status.view?.version}:${status.view?.digest}`;
    if (ringVersion !== view.ringVersion) {
      view.ring = await fetchJson('/admin/ring');
      view.ringVersion = ringVersion;
      renderRing(view.ring);
    }
    byId('fetch-error').hidden = true;
  } catch (error) {
    byId('fetch-error').textContent = `This node did not answer: ${error.message}. Retrying.`;
    byId('fetch-error').hidden = false;
  }
}

async function poll() {
  await refresh();
  setTimeout(poll, pollIntervalMs);
}

byId('placement-form').addEventListener('submit', searchPlacement);
byId('key-form').addEventListener('submit', readKey);
void poll();
