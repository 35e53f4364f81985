// Opens a moebench HTML report in Debian's headless Chromium (driven by playwright-core from
// tests/browser) and checks it as a user would see it:
//   - nothing is fetched from the network, no console error, no page error;
//   - every chart is drawn (an SVG with marks, or a canvas with pixels), at least --min-charts;
//   - the tables hold the numbers of each results.json: every metric of every suite has a cell
//     whose exact value (data-value) and displayed text match it;
//   - each suite present in the runs has its section; modelled cost rows are marked as such;
//   - a screenshot is saved (--screenshot), optionally a clip of the top (--clip-height).
// Usage: node browser_check.mjs --report FILE --results A.json[,B.json] --screenshot OUT.png
//        [--min-charts N] [--claims N] [--width 1280] [--clip-top SELECTOR] [--clip-height H]
//        [--section-shots DIR]
// Environment: MOEBENCH_BROWSER_DIR (tests/browser, holding node_modules/playwright-core),
// MOEBENCH_CHROMIUM (default /usr/bin/chromium). Exit 0 when every check passes.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const browserDir = process.env.MOEBENCH_BROWSER_DIR || path.join(path.dirname(new URL(import.meta.url).pathname), '../browser');
const { chromium } = createRequire(path.join(browserDir, 'package.json'))('playwright-core');
const executablePath = process.env.MOEBENCH_CHROMIUM || '/usr/bin/chromium';

const failures = [];
const fail = (msg) => failures.push(msg);

const results = (args.results || '').split(',').filter(Boolean).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const reportUrl = pathToFileURL(path.resolve(args.report)).href;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'moebench-chromium-'));

const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: Number(args.width || 1280), height: 900 },
});
try {
  const page = context.pages()[0] || await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));

  await page.goto(reportUrl, { waitUntil: 'load' });
  await page.waitForSelector('body[data-charts="done"]', { timeout: 60000 });

  for (const url of requests)
    if (url !== reportUrl && !url.startsWith('data:') && !url.startsWith('blob:') && !url.startsWith('about:'))
      fail(`the report fetched ${url}: it must be self-contained`);
  for (const e of consoleErrors) fail(`console ${e}`);

  const charts = await page.$$eval('.mb-chart', (els) => els.map((el) => {
    const svg = el.querySelector('svg');
    const canvas = el.querySelector('canvas');
    let marks = 0;
    // Vega gives the data marks role "mark"; axes, legends and titles have roles of their own.
    if (svg) marks = svg.querySelectorAll('g.role-mark > path, g.role-mark > line, g.role-mark > text, g.role-mark > g').length;
    let painted = false;
    if (canvas && canvas.width > 0 && canvas.height > 0) {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < data.length && !painted; i += 4) painted = data[i] !== 0;
    }
    return { id: el.id, rendered: el.getAttribute('data-rendered'), label: el.getAttribute('aria-label'),
             svg: !!svg, canvas: !!canvas, marks, painted, text: el.textContent.slice(0, 200) };
  }));
  for (const c of charts) {
    if (c.rendered !== 'true') fail(`chart ${c.id} (${c.label}) not rendered: ${c.rendered} ${c.text}`);
    else if (c.svg && c.marks === 0) fail(`chart ${c.id} (${c.label}) drew no marks`);
    else if (c.canvas && !c.painted) fail(`chart ${c.id} (${c.label}) left its canvas blank`);
    else if (!c.svg && !c.canvas) fail(`chart ${c.id} (${c.label}) has neither SVG nor canvas`);
  }
  if (charts.length < Number(args['min-charts'] || 1)) fail(`${charts.length} charts, expected at least ${args['min-charts']}`);

  // Every number of every results.json is on the page.
  const cells = await page.$$eval('td[data-metric]', (tds) => tds.map((td) => ({
    run: td.dataset.run, suite: td.dataset.suite, metric: td.dataset.metric, value: Number(td.dataset.value), text: td.textContent })));
  const index = new Map();
  for (const c of cells) {
    const key = `${c.run}\u0000${c.suite}\u0000${c.metric}`;
    if (!index.has(key)) index.set(key, []);
    index.get(key).push(c);
  }
  const close = (a, b, rel) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
  const firstNumber = (t) => { const m = /[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(t); return m ? Number(m[0]) : NaN; };
  let checked = 0;
  const kinds = new Set();
  for (const r of results) {
    for (const s of r.suites) {
      kinds.add(s.suite);
      const suiteKey = s.suite === 'humaneval' || !s.source ? s.suite : `${s.suite} ${s.source}`;
      for (const m of s.metrics) {
        const found = index.get(`${r.run_id}\u0000${suiteKey}\u0000${m.name}`) || [];
        if (found.length === 0) { fail(`no table cell for ${r.run_id} / ${suiteKey} / ${m.name}`); continue; }
        for (const c of found)
          if (!close(c.value, m.value, 1e-12)) fail(`${r.run_id} / ${suiteKey} / ${m.name}: cell holds ${c.value}, results.json ${m.value}`);
        const shown = found.map((c) => firstNumber(c.text));
        const want = m.unit === 'fraction' ? m.value * 100 : m.value;
        const tol = m.unit === 'fraction' ? 0.006 / Math.max(Math.abs(want), 1e-9) : 1e-3;
        if (!shown.some((v) => close(v, want, tol) || (m.unit === 'fraction' && Math.abs(v - want) <= 0.006)))
          fail(`${r.run_id} / ${suiteKey} / ${m.name}: shown as ${found.map((c) => JSON.stringify(c.text)).join(', ')}, results.json ${m.value} ${m.unit}`);
        ++checked;
      }
    }
  }
  const sections = await page.$$eval('section', (ss) => ss.map((s) => s.id));
  const want = { humaneval: 'suite-humaneval', throughput: 'suite-throughput', cost: 'cost', longctx: 'suite-longctx' };
  for (const k of kinds) {
    const id = want[k] || `suite-${k}`;
    if (!sections.includes(id)) fail(`no section #${id} for suite ${k}`);
  }
  for (const id of ['runs', 'summary', 'provenance'])
    if (!sections.includes(id)) fail(`no section #${id}`);
  const claimRows = await page.$$eval('table.mb-claims tr', (trs) => trs.length - 1).catch(() => 0);
  if (args.claims !== undefined && claimRows !== Number(args.claims)) fail(`claims table has ${claimRows} rows, expected ${args.claims}`);
  const modelled = await page.$$eval('table.mb-cost tr.modelled', (trs) => trs.map((tr) => tr.querySelector('.kind-modelled') !== null || tr.cells[0].textContent === ''));
  if (kinds.has('cost') && modelled.length === 0) fail('no cost row is marked modelled');

  const shot = args.screenshot;
  if (shot) {
    const clipHeight = Number(args['clip-height'] || 0);
    // --clip-top SELECTOR: the clip starts at that element (the sticky navigation bar is unpinned).
    let top = 0;
    if (args['clip-top']) {
      await page.addStyleTag({ content: 'nav { position: static !important; }' });
      top = await page.$eval(args['clip-top'], (el) => el.getBoundingClientRect().top + window.scrollY);
    }
    if (clipHeight > 0) await page.screenshot({ path: shot, fullPage: true, clip: { x: 0, y: top, width: Number(args.width || 1280), height: clipHeight } });
    else await page.screenshot({ path: shot, fullPage: true });
  }
  if (args['section-shots']) {
    fs.mkdirSync(args['section-shots'], { recursive: true });
    for (const id of sections) await page.locator(`section#${id}`).screenshot({ path: path.join(args['section-shots'], `${id}.png`) });
  }
  console.log(JSON.stringify({ charts: charts.length, metrics_checked: checked, cells: cells.length, sections, requests: requests.length,
                               console_errors: consoleErrors.length, screenshot: shot || null, failures: failures.length }));
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
for (const f of failures) console.error(`FAIL: ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
