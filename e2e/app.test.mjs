// End to end: the real `wirelab` server (with the app embedded) on a free loopback port,
// the real app in headless Chromium, driven like a student would: click, press keys,
// read what the page shows. Screenshots go to target/e2e/.
//
// Run by `cargo xtask test` (node --test e2e/); WIRELAB_BIN names the server binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const BIN = process.env.WIRELAB_BIN ?? 'target/debug/wirelab';
const SHOTS = 'target/e2e';
const CLIENT_STATES = ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED'];
const SERVER_STATES = ['CLOSED', 'LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED'];

let server, base, browser;
const problems = []; // console errors and uncaught exceptions, from every page

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = spawn(BIN, ['serve', '--addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--smtp-north-addr', '127.0.0.1:0', '--smtp-south-addr', '127.0.0.1:0', '--pop3-addr', '127.0.0.1:0', '--imap-addr', '127.0.0.1:0', '--in-memory'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not say where it listens within 30 s')), 30_000);
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
  // launch() gives Chromium a fresh temporary profile of its own (it refuses --user-data-dir).
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    // SIGTERM must stop the server cleanly (exit code 0).
    const exited = new Promise((r) => server.on('exit', (code, signal) => r({ code, signal })));
    server.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(code, 0, `server exit on SIGTERM: code ${code}, signal ${signal}`);
  }
});

async function openApp(t, width = 1400, path = '/s/tcp-handshake', { height = 1000, context = browser } = {}) {
  const page = await context.newPage({ viewport: { width, height } });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${t.name}: console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${t.name}: ${e.message}`));
  await page.goto(base + path);
  // The Wasm app has mounted when its controls exist (the live lab: its page).
  await page.waitForSelector(path.startsWith('/live') ? '[data-testid=live-page]' : '[data-testid=step-next]', { timeout: 20_000 });
  return page;
}
const openLive = (t) => openApp(t, 1400, '/live/');

const text = (page, id) => page.locator(`[data-testid=${id}]`).innerText();
const states = async (page) => [await text(page, 'state-client'), await text(page, 'state-server')];
async function stepCount(page) {
  const m = (await text(page, 'step-counter')).match(/Step (\d+) of (\d+)/);
  assert.ok(m, 'the step counter reads "Step n of N"');
  return [Number(m[1]), Number(m[2])];
}
// Yew re-renders asynchronously after an event: wait for what should be shown, then read.
async function waitStep(page, pos) {
  await page.waitForFunction((p) => document.querySelector('[data-testid=step-counter]')?.textContent.startsWith(`Step ${p} of`),
    pos, { timeout: 5_000 }).catch(() => {});
  assert.equal((await stepCount(page))[0], pos, 'the step counter');
}
async function expectStates(page, want) {
  await page.waitForFunction((w) => w.every((s, i) =>
    document.querySelector(`[data-testid=state-${i ? 'server' : 'client'}]`)?.textContent === s), want, { timeout: 5_000 }).catch(() => {});
  assert.deepEqual(await states(page), want);
}
async function next(page) {
  const [pos] = await stepCount(page);
  await page.click('[data-testid=step-next]');
  await waitStep(page, pos + 1);
}
/// Steps forward until `pred(states)` holds; returns the step reached.
async function stepUntil(page, pred) {
  const [, total] = await stepCount(page);
  for (let i = 0; i < total; i++) {
    if (pred(await states(page))) return (await stepCount(page))[0];
    await next(page);
  }
  assert.fail('the wanted state never came');
}

test('the app mounts with the tcp-handshake scenario at step 0', async (t) => {
  const page = await openApp(t);
  assert.match(await text(page, 'scenario-tcp-handshake'), /TCP three-way handshake/);
  assert.match(await page.locator('#scenario-title').innerText(), /TCP three-way handshake and orderly close/);
  const [pos, total] = await stepCount(page);
  assert.equal(pos, 0);
  assert.ok(total >= 30, `a full handshake and close takes at least 30 steps, got ${total}`);
  assert.deepEqual(await states(page), ['CLOSED', 'CLOSED']);
  assert.equal(await page.locator('[data-testid=frame]').count(), 0, 'nothing drawn before the first step');
  assert.equal(await page.locator('[data-testid=step-prev]').isDisabled(), true);
  await page.screenshot({ path: `${SHOTS}/01-start.png`, fullPage: true });
  await page.close();
});

test('stepping forward walks both ends through the RFC 9293 states, with real segments', async (t) => {
  const page = await openApp(t);
  const [, total] = await stepCount(page);
  const seen = [[], []];
  const note = (s) => s.forEach((v, i) => { if (seen[i].at(-1) !== v) seen[i].push(v); });
  note(await states(page));
  let synShot = false;
  for (let i = 0; i < total; i++) {
    await next(page);
    note(await states(page));
    const summary = await page.locator('[data-testid=frame-summary]').count()
      ? await text(page, 'frame-summary') : '';
    if (!synShot && summary.startsWith('SYN seq=')) {
      // The client's SYN: 24 bytes (20-byte header + MSS option), SYN bit set, explained.
      synShot = true;
      assert.equal(await page.locator('[data-testid=hex-byte]').count(), 24);
      assert.match(summary, /^SYN seq=\d+ win=64240 mss=1460$/);
      const narration = await text(page, 'narration');
      assert.match(narration, /client sends SYN/);
      assert.match(narration, /RFC 9293 §3\.5/);
      const syn = page.locator('[data-testid=field-row]').filter({ hasText: /^SYN/ });
      assert.match(await syn.first().innerText(), /SYN\s+1/);
      assert.ok(await page.locator('[data-testid=field-row]').filter({ hasText: 'Sequence Number' }).count() === 1);
      await page.screenshot({ path: `${SHOTS}/02-syn.png`, fullPage: true });
    }
    if (seen[0].at(-1) === 'ESTABLISHED' && seen[1].at(-1) === 'ESTABLISHED' && seen[1].length === 4 && seen[0].length === 3) {
      await page.screenshot({ path: `${SHOTS}/03-established.png`, fullPage: true });
    }
  }
  assert.ok(synShot, 'the SYN was shown in the inspector');
  assert.deepEqual(seen[0], CLIENT_STATES);
  assert.deepEqual(seen[1], SERVER_STATES);
  assert.deepEqual(await stepCount(page), [total, total]);
  assert.equal(await page.locator('[data-testid=frame]').count(), 7, 'SYN, SYN-ACK, ACK, FIN, ACK, FIN, ACK');
  assert.equal(await page.locator('[data-testid=state-mark]').count(), 12, 'six state changes on each side');
  // Timers are marked on the lane of the node that armed them, with when they fire.
  const timers = await page.locator('[data-testid=timer-mark]').allTextContents();
  assert.ok(timers.length >= 2 && timers.every((t) => /^timer \d+ ms/.test(t)), `timer marks: ${timers}`);
  assert.match(await text(page, 'narration'), /connection closed/);
  await page.screenshot({ path: `${SHOTS}/04-end.png`, fullPage: true });
  await page.close();
});

test('step back, keyboard and jumps restore exactly the earlier state', async (t) => {
  const page = await openApp(t);
  const at = await stepUntil(page, ([, s]) => s === 'SYN-RECEIVED');
  await expectStates(page, ['SYN-SENT', 'SYN-RECEIVED']);
  await page.click('[data-testid=step-prev]');
  await waitStep(page, at - 1);
  await expectStates(page, ['SYN-SENT', 'LISTEN']);
  await page.keyboard.press('ArrowRight');
  await waitStep(page, at);
  await expectStates(page, ['SYN-SENT', 'SYN-RECEIVED']);
  await page.keyboard.press('ArrowLeft');
  await waitStep(page, at - 1);
  await expectStates(page, ['SYN-SENT', 'LISTEN']);
  const [, total] = await stepCount(page);
  await page.keyboard.press('End');
  await waitStep(page, total);
  await expectStates(page, ['CLOSED', 'CLOSED']);
  assert.equal(await page.locator('[data-testid=step-next]').isDisabled(), true);
  await page.keyboard.press('Home');
  await waitStep(page, 0);
  await expectStates(page, ['CLOSED', 'CLOSED']);
  await page.close();
});

test('state diagrams: RFC 9293 Figure 5 per endpoint, the current state and the last edge lit', async (t) => {
  const page = await openApp(t);
  const lit = (node) => page.locator(`[data-testid=state-diagrams] figure:has(figcaption:text-is("${node}")) .sd-box.now`).getAttribute('data-state');
  const diagrams = page.locator('[data-testid=state-diagrams] figure');
  assert.equal(await diagrams.count(), 2, 'one diagram per endpoint');
  assert.equal(await page.locator('[data-testid=state-diagrams] figure').first().locator('.sd-box').count(), 12,
    'eleven states, CLOSED drawn twice as in the RFC');
  assert.equal(await lit('client'), 'CLOSED');
  assert.match(await text(page, 'sd-cause-client'), /No transition yet/);
  const at = await stepUntil(page, ([, s]) => s === 'SYN-RECEIVED');
  await page.waitForFunction(() => document.querySelectorAll('.sd-edge.hot').length === 2, null, { timeout: 5_000 }).catch(() => {});
  assert.equal(await lit('server'), 'SYN-RECEIVED');
  assert.equal(await lit('client'), 'SYN-SENT');
  assert.match(await text(page, 'sd-cause-server'), /LISTEN → SYN-RECEIVED: .*SYN.*RFC 9293 §3\.10\.7\.2/);
  assert.match(await page.locator('.sd-edge.hot title').last().textContent(), /^LISTEN → SYN-RECEIVED: rcv SYN \/ snd SYN,ACK/);
  await page.locator('[data-testid=state-diagrams]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/11-state-diagram.png`, fullPage: true });
  await page.keyboard.press('ArrowLeft');
  await waitStep(page, at - 1);
  await page.waitForFunction(() => document.querySelector('[data-testid=state-diagrams] figure:nth-child(2) .sd-box.now')?.dataset.state === 'LISTEN', null, { timeout: 5_000 }).catch(() => {});
  assert.equal(await lit('server'), 'LISTEN', 'stepping back moves the highlight back');
  assert.match(await text(page, 'sd-cause-server'), /CLOSED → LISTEN/);
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.querySelector('[data-testid=state-diagrams] figure .sd-box.now')?.dataset.state === 'CLOSED', null, { timeout: 5_000 }).catch(() => {});
  assert.match(await text(page, 'sd-cause-client'), /TIME-WAIT → CLOSED/);
  // The CLOSED the client ends in is the bottom one, entered from TIME-WAIT.
  const box = page.locator('[data-testid=state-diagrams] figure').first().locator('.sd-box.now rect');
  assert.ok(Number(await box.getAttribute('y')) > 300, 'the lit CLOSED is the one at the bottom of the figure');
  await page.close();
});

test('the landing page lists every scenario by topic and opens one', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => problems.push(`${t.name}: ${e.message}`));
  await page.goto(base + '/');
  await page.waitForSelector('[data-testid=landing]', { timeout: 20_000 });
  const topics = await page.locator('[data-testid=topic] h3').allInnerTexts();
  assert.deepEqual(topics, ['Client-server and peer-to-peer', 'WebSocket', 'HTTP, TCP and UDP', 'FTP and SFTP', 'Email', 'Real-time and P2P']);
  assert.ok(await page.locator('[data-testid=landing-tcp-handshake]').count() === 1);
  assert.match(await page.locator('[data-testid=topic]').nth(3).innerText(), /next/, 'a topic with nothing yet says so');
  await page.screenshot({ path: `${SHOTS}/00-landing.png`, fullPage: true });
  await page.click('[data-testid=landing-websocket-stepped]');
  await page.waitForSelector('[data-testid=step-next]', { timeout: 10_000 });
  assert.equal(new URL(page.url()).pathname, '/s/websocket-stepped');
  // A layered endpoint has a diagram per layer: WebSocket above TCP.
  assert.equal(await page.locator('[data-testid=state-diagrams] figure').first().locator('.sd svg').count(), 2);
  await page.goBack();
  await page.waitForSelector('[data-testid=landing]', { timeout: 10_000 });
  await page.close();
});

test('P2P: the WebRTC connection flow runs from its own bundle, a state diagram per layer, STUN bytes inspected', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => problems.push(`${t.name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${t.name}: console: ${m.text()}`); });
  await page.goto(base + '/');
  await page.waitForSelector('[data-testid=landing]', { timeout: 20_000 });
  // The scenarios page's bundle has no WebRTC code: the link loads the P2P page's.
  await page.click('[data-testid=landing-webrtc-connect]');
  await page.waitForURL(/\/s\/webrtc-connect/, { timeout: 10_000 });
  await page.waitForSelector('[data-testid=step-next]', { timeout: 20_000 });
  const wasm = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name).filter((n) => n.endsWith('.wasm')));
  assert.ok(wasm.length >= 1 && wasm.at(-1).includes('/p2p/'), `the P2P bundle was loaded: ${wasm}`);
  assert.match(await page.locator('#scenario-title').innerText(), /WebRTC data channel/);
  // Step until the first STUN check is on screen, and read it byte by byte.
  const [, total] = await stepCount(page);
  for (let i = 0; i < total; i++) {
    await next(page);
    const summary = await page.locator('[data-testid=frame-summary]').count() ? await text(page, 'frame-summary') : '';
    if (/STUN Binding request/.test(summary)) break;
  }
  const fields = await page.locator('.inspector').innerText();
  assert.match(fields, /Magic Cookie/i);
  assert.match(fields, /MESSAGE-INTEGRITY/);
  assert.match(fields, /FINGERPRINT/);
  assert.match(await text(page, 'state-peer-a'), /ICE checking/);
  // Five layers, five diagrams per peer; the signalling room has one.
  const figures = page.locator('[data-testid=state-diagrams] figure');
  const pick = page.locator('.sd-pick');
  assert.equal(await pick.count(), 3, 'three endpoints: one shown at a time');
  assert.equal(await figures.first().locator('.sd svg').count(), 5);
  await page.screenshot({ path: `${SHOTS}/20-webrtc-stun.png`, fullPage: true });
  await page.keyboard.press('End');
  await waitStep(page, total);
  assert.match(await text(page, 'state-peer-a'), /stable · ICE completed · DTLS connected · SCTP ESTABLISHED · channel open/);
  assert.equal(await figures.first().locator('.sd-box.now').count(), 5, 'one lit state per layer');
  await pick.nth(2).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=state-diagrams] figcaption')?.textContent === 'peer-b', null, { timeout: 5_000 }).catch(() => {});
  assert.match(await text(page, 'sd-cause-peer-b'), /channel open|→/);
  await page.locator('[data-testid=state-diagrams]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/21-webrtc-diagrams.png`, fullPage: true });
  // And back to a scenario of the other bundle.
  await page.click('[data-testid=scenario-tcp-handshake]');
  await page.waitForURL(/\/s\/tcp-handshake/, { timeout: 10_000 });
  await page.waitForSelector('[data-testid=step-next]', { timeout: 20_000 });
  assert.match(await page.locator('#scenario-title').innerText(), /TCP three-way handshake/);
  await page.close();
});

test('mail scenarios: the relay chain and IMAP sync run from their own bundles, to the end', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => problems.push(`${t.name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${t.name}: console: ${m.text()}`); });
  for (const [id, bundle] of [['smtp-relay', '/mail/'], ['imap-sync', '/imap/']]) {
    await page.goto(base + `/s/${id}`);
    await page.waitForSelector('[data-testid=step-next]', { timeout: 20_000 });
    const wasm = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name).filter((n) => n.endsWith('.wasm')));
    assert.ok(wasm.at(-1).includes(bundle), `${id} runs from the ${bundle} bundle: ${wasm}`);
    await page.keyboard.press('End');
    const [, total] = await stepCount(page);
    await waitStep(page, total);
    assert.equal(await page.locator('[data-testid=state-diagrams]').count(), 1, `${id} draws its state diagrams`);
  }
  await page.screenshot({ path: `${SHOTS}/24-imap-sync-end.png`, fullPage: true });
  await page.close();
});

test('fields and bytes light each other up; clicking an arrow inspects its frame', async (t) => {
  const page = await openApp(t);
  const [, total] = await stepCount(page);
  await page.keyboard.press('End');
  await waitStep(page, total);
  // Click the first arrow in the diagram: the SYN.
  await page.locator('[data-testid=frame]').first().click();
  await page.locator('[data-testid=frame-summary]', { hasText: /^SYN seq=/ }).waitFor({ timeout: 5_000 });
  await page.locator('[data-testid=field-row]').filter({ hasText: 'Sequence Number' }).hover();
  await page.locator('[data-testid=field-detail]', { hasText: /Sequence Number \(byte 4–7\)/ }).waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('.hex-byte.lit').count(), 4, 'the sequence number is 4 bytes');
  await page.locator('[data-testid=hex-byte]').nth(2).hover();
  await page.locator('[data-testid=field-detail]', { hasText: /Destination Port/ }).waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('.hex-byte.lit').count(), 2);
  await page.screenshot({ path: `${SHOTS}/05-inspector.png`, fullPage: true });
  await page.close();
});

test('live: the app talks to the real /ws endpoint and measures the round trip', async (t) => {
  // The live lab is its own page (its own Wasm bundle), a link away from the scenarios.
  const page = await openApp(t);
  await page.click('[data-testid=live-link]');
  await page.waitForSelector('[data-testid=live-page]', { timeout: 20_000 });
  assert.equal(new URL(page.url()).pathname, '/live/');
  assert.equal(await text(page, 'ws-status'), 'not connected');
  await page.click('[data-testid=ws-connect]');
  await page.locator('[data-testid=ws-status]', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
  await page.fill('[data-testid=ws-input]', 'ping from the e2e test');
  await page.click('[data-testid=ws-send]');
  const rtt = page.locator('[data-testid=ws-rtt]').first();
  await rtt.waitFor({ timeout: 10_000 });
  const ms = Number((await rtt.innerText()).match(/round trip ([\d.]+) ms/)?.[1]);
  assert.ok(ms >= 0 && ms < 5000, `a plausible loopback round trip, got ${ms} ms`);
  const log = await text(page, 'ws-log');
  assert.match(log, /→ sent\s*ping from the e2e test/);
  assert.match(log, /← echo\s*ping from the e2e test/);
  // The wire tap: Chromium's own upgrade request, the 101, and the frames both ways.
  const rows = page.locator('[data-testid=tap-row]');
  await rows.nth(3).waitFor({ timeout: 10_000 });
  const tap = await text(page, 'tap-log');
  assert.match(tap, /→\s*opening handshake: GET \/ws\?tap=[0-9a-f]{32} HTTP\/1\.1/);
  assert.match(tap, /←\s*handshake response: .*101/);
  assert.match(tap, /→\s*Text "ping from the e2e test" \(masked/, 'the browser masks its frames (RFC 6455 §5.3)');
  assert.match(tap, /←\s*Text "ping from the e2e test"(?! \(masked)/, 'the server does not');
  // The request is Chromium's, byte for byte: its Sec-WebSocket-Key is in the inspector.
  await rows.nth(0).click();
  assert.match(await page.locator('.live .inspector').innerText(), /Sec-WebSocket-Key/);
  await rows.nth(2).click();
  const fields = await page.locator('.live .inspector').innerText();
  assert.match(fields, /Masking-key/i);
  await page.screenshot({ path: `${SHOTS}/06-live-echo.png`, fullPage: true });
  await page.click('[data-testid=ws-disconnect]');
  // The server's Close echoes the status code (RFC 6455 §5.5.1), not the reason.
  await page.locator('[data-testid=ws-status]', { hasText: 'closed (1000)' }).waitFor({ timeout: 10_000 });
  await page.locator('[data-testid=tap-row]', { hasText: 'TCP connection closed' }).waitFor({ timeout: 10_000 });
  const closing = await text(page, 'tap-log');
  assert.match(closing, /→\s*Close 1000 "bye" \(masked/);
  assert.match(closing, /←\s*Close 1000 /);
  await page.close();
});

test('live: binary, a ping the browser answers, and a close code only the server may send', async (t) => {
  const page = await openLive(t);
  await page.click('[data-testid=ws-connect]');
  await page.locator('[data-testid=ws-status]', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
  await page.fill('[data-testid=ws-input]', 'AB');
  await page.click('[data-testid=ws-send-binary]');
  await page.locator('[data-testid=ws-log] li', { hasText: '← echo' }).waitFor({ timeout: 10_000 });
  assert.match(await text(page, 'ws-log'), /← echo\s*binary, 2 bytes: 41 42/);
  // A page cannot send Ping; the server pings on request and Chromium answers Pong itself.
  await page.click('[data-testid=ws-ping]');
  await page.locator('[data-testid=tap-row]', { hasText: 'Pong' }).waitFor({ timeout: 10_000 });
  const tap = await text(page, 'tap-log');
  assert.match(tap, /→\s*Binary .*\(masked/, 'the binary frame as Chromium sent it');
  assert.match(tap, /←\s*Ping/);
  assert.match(tap, /→\s*Pong .*\(masked/, "Chromium's own Pong (RFC 6455 §5.5.3)");
  // The ladder draws every tapped frame; clicking an arrow inspects it.
  const arrows = page.locator('[data-testid=tap-arrow]');
  assert.equal(await arrows.count(), await page.locator('[data-testid=tap-row]').count());
  await arrows.filter({ hasText: 'Pong' }).first().click();
  assert.match(await page.locator('.live .inspector').innerText(), /Opcode[\s\S]*Pong|0xA/i);
  await page.screenshot({ path: `${SHOTS}/07-live-ping.png`, fullPage: true });
  // 1008 is not a code a page may send (the API allows 1000, 3000-4999): the server closes.
  await page.fill('[data-testid=ws-close-code]', '1008');
  await page.fill('[data-testid=ws-close-reason]', 'policy demo');
  await page.click('[data-testid=ws-close]');
  await page.locator('[data-testid=ws-status]', { hasText: 'closed (1008: policy demo)' }).waitFor({ timeout: 10_000 });
  await page.locator('[data-testid=tap-row]', { hasText: 'TCP connection closed' }).waitFor({ timeout: 10_000 });
  assert.match(await text(page, 'tap-log'), /←\s*Close 1008 "policy demo"/);
  // And a code the page may send itself: 4000 in Chromium's own masked Close frame.
  await page.click('[data-testid=ws-connect]');
  await page.locator('[data-testid=ws-status]', { hasText: /^connected/ }).waitFor({ timeout: 10_000 });
  await page.fill('[data-testid=ws-close-code]', '4000');
  await page.click('[data-testid=ws-close]');
  await page.locator('[data-testid=ws-status]', { hasText: 'closed (4000' }).waitFor({ timeout: 10_000 });
  await page.locator('[data-testid=tap-row]', { hasText: 'TCP connection closed' }).waitFor({ timeout: 10_000 });
  assert.match(await text(page, 'tap-log'), /→\s*Close 4000 .*\(masked/);
  await page.close();
});

test('live HTTP: a typed request goes through the bridge and the real response comes back', async (t) => {
  const page = await openLive(t);
  await page.click('[data-testid=http-send]');
  await page.locator('[data-testid=http-status]', { hasText: 'closed' }).waitFor({ timeout: 10_000 });
  const panel = page.locator('[data-testid=live-http]');
  const shown = await panel.innerText();
  assert.match(shown, /GET \/hello\.txt/);
  assert.match(shown, /200 OK/, 'the teaching server answered');
  assert.match(shown, /Content-Length/i);
  // A malformed request gets the server's own 400.
  await page.locator('[data-testid=http-preset]', { hasText: 'space before colon' }).click();
  await page.click('[data-testid=http-send]');
  await page.locator('[data-testid=http-status]', { hasText: 'closed' }).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => /400 Bad Request/.test(document.querySelector('[data-testid=live-http]')?.innerText ?? ''),
    null, { timeout: 10_000 });
  // Two requests on one connection: two responses in the bytes that came back.
  await page.locator('[data-testid=http-preset]', { hasText: 'Two on one connection' }).click();
  await page.click('[data-testid=http-send]');
  await page.locator('[data-testid=http-status]', { hasText: 'closed' }).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => (document.querySelector('[data-testid=live-http]')?.innerText.match(/HTTP\/1\.1 (200|404)/g) ?? []).length >= 1,
    null, { timeout: 10_000 });
  await panel.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/08-live-http.png`, fullPage: true });
  await page.close();
});

test('live mail: our SMTP, POP3 and IMAP machines in the page, through the bridge, to the real servers', async (t) => {
  const page = await openLive(t);
  await page.click('[data-testid=mail-session]');
  const account = await page.locator('[data-testid=mail-account]').innerText({ timeout: 10_000 });
  const [north, south] = account.match(/u[0-9a-f]+@(north|south)\.test/g);
  assert.match(north, /@north\.test$/);
  assert.match(south, /@south\.test$/);
  const log = (id) => page.locator(`[data-testid=${id}-log]`);
  const preset = (id, label) => page.locator(`[data-testid=${id}-preset]`, { hasText: label });
  const waitRow = (id, re) => page.waitForFunction(([id, src]) =>
    new RegExp(src).test(document.querySelector(`[data-testid=${id}-log]`)?.innerText ?? ''), [id, re.source], { timeout: 15_000 });

  // IMAP on the "phone": log in, select, and IDLE before any mail exists.
  await page.click('[data-testid=read-imap]');
  await preset('imap-phone', 'Log in').click();
  await preset('imap-phone', 'SELECT INBOX').click();
  await waitRow('imap-phone', /A\d+ SELECT: OK/);
  await preset('imap-phone', 'IDLE').click();
  await waitRow('imap-phone', /←\s*\+ /);

  // Send: our SMTP client machine → bridge → north.test's server, which relays to south.
  await preset('smtp-north', 'Send to my').click();
  await waitRow('smtp-north', /· ?sent to u[0-9a-f]+@south\.test/);
  const smtp = await log('smtp-north').innerText();
  const flat = smtp.replace(/\s+/g, '');
  for (const cmd of ['→EHLO browser.wirelab.test', `→MAIL FROM:<${north}>`, `→RCPT TO:<${south}>`, '→DATA', '←354']) {
    assert.ok(flat.includes(cmd.replace(/\s+/g, '')), `the SMTP log shows ${cmd}:\n${smtp}`);
  }
  await preset('smtp-north', 'QUIT').click();
  await waitRow('smtp-north', /←\s*221/);

  // The relayed mail reaches south, and the phone in IDLE hears it at once (RFC 2177).
  await waitRow('imap-phone', /←\s*\* 1 EXISTS/);

  // The "laptop" marks it seen; the phone, still idling, hears the flag change.
  await preset('imap-laptop', 'Log in').click();
  await preset('imap-laptop', 'SELECT INBOX').click();
  await waitRow('imap-laptop', /A\d+ SELECT: OK/);
  await preset('imap-laptop', 'Mark 1 seen').click();
  await waitRow('imap-phone', /←\s*\* 1 FETCH \(FLAGS \(\\Seen\)/);
  await page.screenshot({ path: `${SHOTS}/22-mail-imap-sync.png`, fullPage: true });

  // POP3: retrieve it (two Received: lines, Client → Server → Server), delete it, quit.
  await page.click('[data-testid=read-pop3]');
  await preset('pop3', 'Log in').click();
  await preset('pop3', 'RETR 1').click();
  await waitRow('pop3', /←\s*\+OK/);
  await page.waitForFunction(() => /message 1/.test(document.querySelector('[data-testid=pop3-log]')?.innerText ?? ''), null, { timeout: 10_000 });
  const rows = page.locator('[data-testid=pop3-log] li.frame', { hasText: '+OK' });
  await rows.last().click();
  const message = await page.locator('[data-testid=console-pop3] .hex').innerText();
  assert.ok(message.length > 0, 'the inspector shows the message bytes');
  const retrieved = await log('pop3').innerText();
  assert.ok((retrieved.match(/Received: from/g) ?? []).length >= 2,
    `two hops, two Received: lines (south's on top of north's):\n${retrieved}`);
  await preset('pop3', 'DELE 1').click();
  await preset('pop3', 'QUIT').click();
  await waitRow('pop3', /connection closed/);
  // The phone hears the deletion the POP3 session committed in UPDATE.
  await waitRow('imap-phone', /←\s*\* 1 EXPUNGE/);
  // And the server has it no more: a new POP3 session finds an empty maildrop.
  await preset('pop3', 'Log in').click();
  await preset('pop3', 'STAT').click();
  await waitRow('pop3', /0 messages, 0 octets/);
  await page.screenshot({ path: `${SHOTS}/23-mail-pop3.png`, fullPage: true });
  await page.close();
});

test('WebSocket over simulated TCP steps through both layers, and polling vs push is measured', async (t) => {
  const page = await openApp(t);
  await page.click('[data-testid=scenario-websocket-stepped]');
  await page.locator('#scenario-title', { hasText: 'WebSocket over TCP' }).waitFor({ timeout: 10_000 });
  // Both layers' states, app first: "CONNECTING · CLOSED" at the start.
  assert.match(await text(page, 'state-browser'), /^CONNECTING · CLOSED$/);
  await page.locator('[data-testid=scrub]').fill('30');
  await waitStep(page, 30);
  const start = await page.locator('.ladder').innerText();
  assert.match(start, /GET \/chat HTTP\/1\.1 \(WebSocket opening handshake\)/, 'the opening handshake rides in TCP segments');
  assert.match(start, /101 Switching Protocols/);
  assert.match(start, /Text .*\(masked/, 'the client masks its frames');
  await page.keyboard.press('End');
  await page.waitForFunction(() => /TIME-WAIT|CLOSED/.test(document.querySelector('[data-testid=state-browser]')?.textContent ?? ''),
    null, { timeout: 5_000 });
  assert.match(await text(page, 'state-browser'), /^CLOSED · (TIME-WAIT|CLOSED)$/);
  assert.match(await page.locator('.ladder').innerText(), /Close 1000/);
  await page.screenshot({ path: `${SHOTS}/09-websocket-stepped.png`, fullPage: true });
  await page.click('[data-testid=scenario-http-polling-vs-websocket]');
  await page.locator('[data-testid=results]').waitFor({ timeout: 10_000 });
  const results = await text(page, 'results');
  assert.match(results, /HTTP polling\s+WebSocket push/);
  assert.match(results, /messages delivered\s+10 of 10\s+10 of 10/);
  const requests = results.match(/HTTP requests\s+(\d+)\s+(\d+)/);
  assert.ok(requests && Number(requests[1]) > Number(requests[2]), `polling makes more requests: ${requests}`);
  const latency = results.match(/mean delivery latency\s+([\d.]+) ms\s+([\d.]+) ms/);
  assert.ok(latency && Number(latency[1]) > Number(latency[2]), `push is sooner: ${latency}`);
  await page.locator('[data-testid=results]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/10-polling-vs-websocket.png` });
  await page.close();
});

test('play, pause, speed and scrub; Space plays', async (t) => {
  const page = await openApp(t);
  await page.selectOption('[data-testid=speed]', { label: '4×' });
  await page.keyboard.press('Space');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=step-counter]')?.textContent.match(/Step (\d+)/)?.[1]) >= 3,
    null, { timeout: 5_000 });
  assert.equal(await page.getAttribute('[data-testid=play]', 'aria-pressed'), 'true');
  await page.keyboard.press('Space');
  assert.equal(await page.getAttribute('[data-testid=play]', 'aria-pressed'), 'false');
  const [paused] = await stepCount(page);
  await page.waitForTimeout(600);
  assert.equal((await stepCount(page))[0], paused, 'paused means no more steps');
  // The scrub bar jumps anywhere; the states are those the keys reach.
  await page.locator('[data-testid=scrub]').fill('10');
  await waitStep(page, 10);
  const scrubbed = await states(page);
  await page.keyboard.press('Home');
  await waitStep(page, 0);
  for (let i = 0; i < 10; i++) await next(page);
  await expectStates(page, scrubbed);
  await page.close();
});

test('plots, themes, and a 10 000-step run drawn only where it is looked at', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => problems.push(`${t.name}: ${e.message}`));
  // When was the first scenario drawn, in the page's own clock (ms since navigation)?
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('.ladder svg')) { window.__firstDraw = performance.now(); obs.disconnect(); }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(base + '/s/tcp-handshake');
  await page.waitForSelector('.ladder svg', { timeout: 20_000 });
  const firstDraw = await page.evaluate(() => window.__firstDraw);
  assert.ok(firstDraw > 0, 'first draw time measured');

  await page.click('[data-testid=scenario-tcp-bulk]');
  await page.locator('#scenario-title', { hasText: 'bulk transfer under loss' }).waitFor({ timeout: 10_000 });
  const plots = page.locator('[data-testid=plots] figure');
  assert.ok(await plots.count() >= 2, 'cwnd and RTT plots for the bulk sender');
  assert.match(await page.locator('[data-testid=plots]').innerText(), /congestion window[\s\S]*round-trip time/);
  assert.ok((await page.locator('[data-testid=plots] path.series').first().getAttribute('d')).length > 200, 'a real series');
  await page.locator('[data-testid=plots]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/14-plots.png` });
  await page.click('[data-testid=theme]'); // system → light
  await page.click('[data-testid=theme]'); // light → dark
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.screenshot({ path: `${SHOTS}/15-dark.png` });
  await page.click('[data-testid=theme]'); // back to the system's
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme ?? null), null);

  await page.click('[data-testid=scenario-tcp-bulk-long]');
  await page.locator('#scenario-title', { hasText: 'long run' }).waitFor({ timeout: 20_000 });
  const [, total] = await stepCount(page);
  assert.ok(total > 10_000, `a long run: ${total} steps`);
  await page.keyboard.press('End');
  await waitStep(page, total);
  const drawn = await page.locator('.ladder [data-testid=frame]').count();
  assert.ok(drawn > 0 && drawn < 600, `only frames near the view are drawn: ${drawn} of thousands`);
  // Step back at the end of a 10 000-step run: time from the key to the DOM showing it.
  const samples = [];
  for (let i = 0; i < 7; i++) {
    samples.push(await page.evaluate(() => new Promise((resolve) => {
      const counter = document.querySelector('[data-testid=step-counter]');
      const before = counter.textContent;
      const t0 = performance.now();
      const obs = new MutationObserver(() => {
        if (counter.textContent !== before) { obs.disconnect(); resolve(performance.now() - t0); }
      });
      obs.observe(counter, { childList: true, subtree: true, characterData: true });
      document.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
    })));
  }
  samples.sort((a, b) => a - b);
  const stepBack = samples[3];
  assert.ok(stepBack >= 0, 'step back measured');
  await page.screenshot({ path: `${SHOTS}/16-long-run.png` });
  const figures = { firstDrawMs: Math.round(firstDraw), stepBackAtEndMs: Number(stepBack.toFixed(2)), steps: total, framesDrawn: drawn };
  fs.writeFileSync(`${SHOTS}/measurements.json`, JSON.stringify(figures, null, 2));
  console.log(`    measured in Chromium: first scenario drawn ${figures.firstDrawMs} ms after navigation (goal ≤ 300); ` +
    `step back at step ${total}: ${figures.stepBackAtEndMs} ms median of 7 (goal ≤ 16); ${drawn} frames drawn`);
  await page.close();
});

test('models: client-server against peer-to-peer, plotted from runs in the browser', async (t) => {
  const page = await openApp(t);
  await page.click('[data-testid=scenario-client-server]');
  await page.click('[data-testid=models-run]');
  const svg = page.locator('[data-testid=models-plot] svg');
  await svg.waitFor({ timeout: 30_000 });
  const drawn = await svg.innerHTML();
  assert.match(drawn, /client-server/i);
  assert.match(drawn, /peer-to-peer/i);
  assert.ok((drawn.match(/<circle/g) ?? []).length >= 10, 'a point per N per model');
  await svg.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/17-models.png` });
  await page.close();
});

test('exports: the pcap and Mermaid made in the browser equal the command line ones, byte for byte', async (t) => {
  const page = await openApp(t);
  const save = async (button) => {
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click(button)]);
    return { name: dl.suggestedFilename(), bytes: fs.readFileSync(await dl.path()) };
  };
  const pcap = await save('[data-testid=export-pcap]');
  assert.equal(pcap.name, 'tcp-handshake-seed1.pcap');
  assert.equal(pcap.bytes.readUInt32LE(0), 0xa1b2c3d4, 'libpcap magic');
  assert.equal(pcap.bytes.readUInt32LE(20), 1, 'LINKTYPE_ETHERNET');
  let off = 24, packets = 0;
  while (off + 16 <= pcap.bytes.length) { off += 16 + pcap.bytes.readUInt32LE(off + 8); packets++; }
  assert.equal(off, pcap.bytes.length, 'records fill the file exactly');
  assert.equal(packets, 7);
  const cli = execFileSync(BIN, ['export', 'tcp-handshake', '--seed', '1', '--format', 'pcap']);
  assert.ok(pcap.bytes.equals(cli), 'the Wasm-made pcap equals the native one');
  const mmd = await save('[data-testid=export-mermaid]');
  assert.equal(mmd.name, 'tcp-handshake-seed1.mmd');
  const text = mmd.bytes.toString('utf8');
  assert.match(text, /^sequenceDiagram\n/);
  assert.equal((text.match(/->>/g) ?? []).length, 7);
  assert.equal(text, execFileSync(BIN, ['export', 'tcp-handshake', '--seed', '1', '--format', 'mermaid']).toString('utf8'));
  await page.close();
});

test('on a tablet-sized screen the scenario still steps', async (t) => {
  const page = await openApp(t, 800);
  await page.keyboard.press('ArrowRight');
  await waitStep(page, 1);
  await page.keyboard.press('ArrowRight');
  await waitStep(page, 2);
  await expectStates(page, ['CLOSED', 'LISTEN']);
  await page.screenshot({ path: `${SHOTS}/07-tablet.png`, fullPage: true });
  await page.close();
});

// The address: /s/<scenario>?step=…&seed=…&loss=…&latency=…&jitter=…&bw=…&drop=…
const query = (page) => Object.fromEntries(new URL(page.url()).searchParams);
const ladderText = (page) => page.locator('.ladder').innerText();
async function waitQuery(page, key, value) {
  await page.waitForFunction(([k, v]) => new URL(location.href).searchParams.get(k) === v, [key, value ?? null], { timeout: 5_000 }).catch(() => {});
  assert.equal(query(page)[key], value, `the address's ${key}`);
}
/// Sets a range input as a person letting go of it would: input events, then change.
async function slide(page, testid, value) {
  await page.locator(`[data-testid=${testid}]`).evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

test('a deep link restores the exact view; stepping rewrites the address without new history', async (t) => {
  const link = '/s/tcp-handshake?step=12&seed=3&loss=0.05&latency=20&drop=8';
  const page = await openApp(t, 1400, link);
  const [pos, total] = await stepCount(page);
  assert.equal(pos, 12);
  assert.ok(total > 37, `the dropped SYN,ACK is sent again: more than the clean run's 37 steps, got ${total}`);
  const chips = await text(page, 'faults-active');
  for (const want of ['loss 5 %', 'latency 20 ms', 'dropped by hand: #8', 'seed 3']) assert.ok(chips.includes(want), `${want} in ${chips}`);
  assert.equal(await text(page, 'fault-loss-value'), '5 %');
  assert.equal(await text(page, 'fault-latency-value'), '20 ms');
  assert.equal(await page.locator('[data-testid=fault-seed]').inputValue(), '3');
  // Seed 3's SYN, with its own initial sequence number, and the SYN,ACK dropped by hand.
  const ladder = await ladderText(page);
  const isn = ladder.match(/SYN seq=(\d+)/)?.[1];
  assert.ok(isn, 'the SYN is drawn');
  assert.equal(await page.locator('.frame.lost').count(), 1, 'the SYN,ACK dropped by hand is drawn lost');
  assert.equal(await page.locator('.lost-mark').textContent(), '✕');
  const narration = await text(page, 'narration');
  assert.deepEqual(query(page), { step: '12', seed: '3', loss: '0.05', latency: '20', drop: '8' });
  const seed1 = await openApp(t);
  await seed1.keyboard.press('End');
  assert.ok(!(await ladderText(seed1)).includes(`SYN seq=${isn} `), 'seed 1 has another ISN');
  await seed1.close();

  // Stepping replaces the address; it makes no history entries.
  const history = await page.evaluate(() => history.length);
  await page.keyboard.press('ArrowRight');
  await waitStep(page, 13);
  await page.click('[data-testid=step-next]');
  await waitStep(page, 14);
  await waitQuery(page, 'step', '14');
  assert.equal(query(page).drop, '8');
  assert.equal(await page.evaluate(() => history.length), history, 'replaceState, not pushState');
  const stepped = [await ladderText(page), await text(page, 'narration'), await text(page, 'step-counter')];

  // The same address in a fresh page: the same trace at the same step.
  const again = await openApp(t, 1400, new URL(page.url()).pathname + new URL(page.url()).search);
  await waitStep(again, 14);
  assert.deepEqual([await ladderText(again), await text(again, 'narration'), await text(again, 'step-counter')], stepped);
  await again.keyboard.press('ArrowLeft');
  await again.keyboard.press('ArrowLeft');
  await waitStep(again, 12);
  assert.equal(await text(again, 'narration'), narration);
  await again.close();

  // Another scenario is a new history entry; Back returns to this exact view.
  await page.click('[data-testid=scenario-tcp-reset]');
  await page.locator('#scenario-title', { hasText: 'TCP resets' }).waitFor({ timeout: 5_000 });
  assert.match(new URL(page.url()).pathname, /^\/s\/tcp-reset$/);
  assert.deepEqual(query(page), { step: '0', seed: '1' });
  await page.goBack();
  await page.locator('#scenario-title', { hasText: 'TCP three-way handshake' }).waitFor({ timeout: 5_000 });
  await waitStep(page, 14);
  assert.equal(await ladderText(page), stepped[0]);
  await page.close();
});

test('bad values in the address fall back to the defaults with a note, never a crash', async (t) => {
  const page = await openApp(t, 1400, '/s/tcp-handshake?step=999&loss=lots&latency=-5&drop=1,x&seed=2');
  const note = await text(page, 'url-note');
  assert.match(note, /loss=lots/);
  assert.match(note, /latency=-5/);
  assert.match(note, /drop=1,x/);
  assert.match(note, /step=999 is past the end/);
  const [pos, total] = await stepCount(page);
  assert.equal(pos, total, 'a step past the end shows the end');
  assert.equal(await text(page, 'fault-loss-value'), '0 %');
  assert.equal(await page.locator('[data-testid=fault-seed]').inputValue(), '2', 'what was good is kept');
  // The address is rewritten once the view settles (150 ms after the last change).
  await page.waitForFunction(() => !location.search.includes('loss='), null, { timeout: 5_000 }).catch(() => {});
  assert.deepEqual(query(page), { step: String(total), seed: '2' });
  await page.goto(base + '/s/no-such-scenario?step=3');
  await page.waitForSelector('[data-testid=url-note]', { timeout: 20_000 });
  assert.match(await text(page, 'url-note'), /no scenario "no-such-scenario"/);
  assert.match(await page.locator('#scenario-title').innerText(), /TCP three-way handshake/);
  await page.close();
});

test('faults: loss, seed and "drop this one" run the scenario again, deterministically', async (t) => {
  const page = await openApp(t);
  const [, total] = await stepCount(page);
  await page.keyboard.press('End');
  await waitStep(page, total);
  const clean = await ladderText(page);
  assert.equal(await page.locator('[data-testid=faults-reset]').isDisabled(), true, 'at the defaults already');

  // A new seed: other initial sequence numbers, the same steps.
  await page.fill('[data-testid=fault-seed]', '7');
  await page.locator('[data-testid=fault-seed]').press('Enter');
  await waitQuery(page, 'seed', '7');
  await page.waitForFunction((c) => document.querySelector('.ladder').innerText !== c, clean, { timeout: 5_000 });
  assert.deepEqual(await stepCount(page), [total, total], 'at the end stays at the end');

  // 30 % loss: frames are lost, TCP sends them again; the same settings give the same run.
  await slide(page, 'fault-loss', 30);
  await waitQuery(page, 'loss', '0.3');
  await page.locator('[data-testid=faults-active]', { hasText: 'loss 30 %' }).waitFor({ timeout: 5_000 });
  const lossy = await ladderText(page);
  assert.ok(await page.locator('.frame.lost').count() >= 1, 'seed 7 loses frames at 30 %');
  await slide(page, 'fault-loss', 0);
  await waitQuery(page, 'loss', undefined);
  await slide(page, 'fault-loss', 30);
  await waitQuery(page, 'loss', '0.3');
  await page.locator('.frame.lost').first().waitFor({ timeout: 5_000 });
  assert.equal(await ladderText(page), lossy, 'the same seed and loss: the same trace');
  // The sliders do not take the arrow keys unless focused.
  await page.locator('#scenario-title').click();
  await page.keyboard.press('Home');
  await waitStep(page, 0);
  assert.equal(await text(page, 'fault-loss-value'), '30 %');

  // Back to the scenario's own settings.
  await page.click('[data-testid=faults-reset]');
  await waitQuery(page, 'seed', '1');
  assert.equal(query(page).loss, undefined);
  await page.keyboard.press('End');
  await page.waitForFunction((c) => document.querySelector('.ladder').innerText === c, clean, { timeout: 5_000 }).catch(() => {});
  assert.equal(await ladderText(page), clean);

  // Drop this one: the SYN. It is drawn lost (✕) and TCP sends it again after its RTO.
  await page.locator('[data-testid=frame]').first().click();
  await page.locator('[data-testid=frame-summary]', { hasText: /^SYN seq=/ }).waitFor({ timeout: 5_000 });
  await page.click('[data-testid=drop-frame]');
  await waitQuery(page, 'drop', '4');
  await page.locator('.frame.lost .lost-mark', { hasText: '✕' }).waitFor({ timeout: 5_000 });
  // The inspector still shows the SYN, now lost, with a way back.
  assert.match(await page.locator('[data-testid=inspector]').innerText(), /SYN seq=[\s\S]*Frame #4 was dropped by hand/);
  assert.deepEqual(await stepCount(page).then(([p, n]) => p === n), true, 'at the end of the new run');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=frame]').length === 8, null, { timeout: 5_000 }).catch(() => {});
  const labels = await page.locator('.frame-label').allTextContents();
  assert.equal(labels.length, 8, `SYN, its retransmission, and the rest: ${labels}`);
  assert.equal(labels.filter((l) => /^SYN seq=/.test(l)).length, 2, 'the SYN was sent again');
  assert.match(await text(page, 'faults-active'), /dropped by hand: #4/);
  // The top of the diagram: the SYN lost (✕), the timer expiring, the SYN again.
  await page.locator('.ladder').evaluate((el) => { el.scrollTop = 0; });
  await page.screenshot({ path: `${SHOTS}/12-faults.png`, clip: { x: 0, y: 0, width: 1400, height: 1000 } });
  await page.click('[data-testid=undo-drop]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=frame]').length === 7, null, { timeout: 5_000 }).catch(() => {});
  assert.equal(await page.locator('[data-testid=frame]').count(), 7);
  await waitQuery(page, 'drop', undefined);
  await page.close();
});

test('embed: /embed/<id> is the scenario alone, steps, and the copied code embeds it', async (t) => {
  const page = await openApp(t, 820, '/embed/tcp-handshake?step=3', { height: 720 });
  await waitStep(page, 3);
  for (const gone of ['.catalogue', '.topbar', '[data-testid=ws-connect]', '[data-testid=live-http]', '[data-testid=faults]', '[data-testid=export-pcap]']) {
    assert.equal(await page.locator(gone).count(), 0, `no ${gone} in the embed`);
  }
  await page.keyboard.press('ArrowRight');
  await waitStep(page, 4);
  await page.click('[data-testid=step-next]');
  await waitStep(page, 5);
  assert.match(await text(page, 'frame-summary'), /^SYN seq=/);
  assert.equal(new URL(page.url()).pathname, '/embed/tcp-handshake');
  await waitQuery(page, 'step', '5');
  await page.screenshot({ path: `${SHOTS}/13-embed.png` });
  await page.close();

  // "Copy embed code" in the full app: the iframe for this step and seed, on the clipboard.
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const app = await openApp(t, 1400, '/s/tcp-handshake?step=3', { context });
  await app.click('[data-testid=copy-embed]');
  await app.locator('[data-testid=embed-status]', { hasText: /Copied|copy/ }).waitFor({ timeout: 5_000 });
  const code = await app.locator('[data-testid=embed-code]').inputValue();
  assert.match(code, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/embed\/tcp-handshake\?step=3&amp;seed=1" width="\d+" height="\d+" title="wirelab: TCP three-way handshake and orderly close"[^>]*><\/iframe>$/);
  if (/Copied/.test(await text(app, 'embed-status'))) {
    assert.equal(await app.evaluate(() => navigator.clipboard.readText()), code);
  }
  // Pasted into another page, it shows the scenario at step 3.
  const host = await context.newPage();
  await host.setContent(`<!doctype html><title>course page</title><p>Here is the handshake:</p>${code}`);
  const frame = host.frameLocator('iframe');
  await frame.locator('[data-testid=step-counter]').waitFor({ timeout: 20_000 });
  assert.match(await frame.locator('[data-testid=step-counter]').innerText(), /^Step 3 of 37$/);
  assert.equal(await frame.locator('.catalogue').count(), 0);
  await context.close();
});

test('exports: the ladder as a standalone SVG and as a PNG', async (t) => {
  const page = await openApp(t);
  const [, total] = await stepCount(page);
  await page.keyboard.press('End');
  await waitStep(page, total);
  const save = async (button) => {
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click(button)]);
    return { name: dl.suggestedFilename(), bytes: fs.readFileSync(await dl.path()) };
  };
  const svg = await save('[data-testid=export-svg]');
  assert.equal(svg.name, 'tcp-handshake-seed1.svg');
  const xml = svg.bytes.toString('utf8');
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg /);
  assert.match(xml, /<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(xml, /<svg [^>]*width="720"/, 'sized as drawn, not 100 % of a page');
  assert.match(xml, /<svg [^>]*height="878"/);
  assert.match(xml, /<style>[^<]*\.frame \.arrow \{ stroke: #0f5fa8/, 'the styles are inlined, with colours, not variables');
  assert.ok(!xml.includes('var(--'), 'no CSS variables from the page');
  for (const label of ['client', 'server', 'SYN seq=', 'SYN,ACK seq=', 'FIN,ACK seq=', 'ESTABLISHED', 'TIME-WAIT']) {
    assert.ok(xml.includes(label), `the SVG shows ${label}`);
  }
  assert.equal((xml.match(/class="arrow"/g) ?? []).length, 7);
  // Well-formed XML: the browser's own XML parser reads it without error.
  const parsed = await page.evaluate((x) => {
    const d = new DOMParser().parseFromString(x, 'image/svg+xml');
    return { errors: d.getElementsByTagName('parsererror').length, root: d.documentElement.localName, ns: d.documentElement.namespaceURI };
  }, xml);
  assert.deepEqual(parsed, { errors: 0, root: 'svg', ns: 'http://www.w3.org/2000/svg' });
  fs.writeFileSync(`${SHOTS}/14-ladder.svg`, svg.bytes);

  const png = await save('[data-testid=export-png]');
  assert.equal(png.name, 'tcp-handshake-seed1.png');
  assert.ok(png.bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'the PNG signature');
  assert.equal(png.bytes.toString('latin1', 12, 16), 'IHDR');
  assert.equal(png.bytes.readUInt32BE(16), 1440, 'drawn at twice the 720-pixel width');
  assert.ok(png.bytes.length > 20_000, `a real picture, not an empty canvas: ${png.bytes.length} bytes`);
  fs.writeFileSync(`${SHOTS}/14-ladder.png`, png.bytes);
  await page.close();
});

test('no page logged an error', () => {
  assert.deepEqual(problems, []);
});
