// The web page's pure rules (web/live.mjs), checked without a browser: which snapshots are dropped, the
// reconnect back-off, and a human message for every error code the API documents and serves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  ERROR_MESSAGES,
  USER_ID_PATTERN,
  attemptsLeft,
  backoffDelay,
  isStale,
  parseSnapshot,
  rowChange,
} from '../../web/live.mjs';

const repo = new URL('../../', import.meta.url);

test('snapshots: older or repeated versions of one epoch are dropped, a new epoch starts again', () => {
  assert.equal(isStale(null, { epoch: 'a', version: 1 }), false);
  assert.equal(isStale({ epoch: 'a', version: 5 }, { epoch: 'a', version: 6 }), false);
  assert.equal(isStale({ epoch: 'a', version: 5 }, { epoch: 'a', version: 5 }), true);
  assert.equal(isStale({ epoch: 'a', version: 5 }, { epoch: 'a', version: 4 }), true);
  assert.equal(isStale({ epoch: 'a', version: 5 }, { epoch: 'b', version: 1 }), false);
});

test('snapshots: only well-formed snapshot frames are taken', () => {
  const frame = { type: 'snapshot', epoch: 'e', version: 2, generated_at: '2026-01-01T00:00:00Z', entries: [] };
  assert.deepEqual(parseSnapshot(JSON.stringify(frame)), frame);
  assert.equal(parseSnapshot('not json'), null);
  assert.equal(parseSnapshot(JSON.stringify({ ...frame, type: 'other' })), null);
  assert.equal(parseSnapshot(JSON.stringify({ ...frame, entries: null })), null);
  assert.equal(parseSnapshot(JSON.stringify({ ...frame, version: '2' })), null);
});

test('reconnect back-off: full jitter under an exponential ceiling, capped', () => {
  assert.equal(backoffDelay(0, () => 0), 0);
  assert.equal(backoffDelay(0, () => 0.999999), BACKOFF_BASE_MS - 1);
  assert.equal(backoffDelay(3, () => 0.5), (BACKOFF_BASE_MS * 8) / 2);
  for (const attempt of [5, 10, 50, 1000]) {
    assert.ok(backoffDelay(attempt, () => 0.999999) < BACKOFF_CAP_MS);
  }
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const delay = backoffDelay(attempt);
    assert.ok(delay >= 0 && delay < Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
  }
});

test('rows: a change is an entry, a new score, or a move up or down', () => {
  assert.equal(rowChange(undefined, { rank: 1, score: 10 }), 'enter');
  assert.equal(rowChange({ rank: 2, score: 10 }, { rank: 2, score: 20 }), 'score');
  assert.equal(rowChange({ rank: 3, score: 10 }, { rank: 2, score: 10 }), 'up');
  assert.equal(rowChange({ rank: 2, score: 10 }, { rank: 3, score: 10 }), 'down');
  assert.equal(rowChange({ rank: 2, score: 10 }, { rank: 2, score: 10 }), null);
});

test('wrong answers: the attempts left are read from the server message', () => {
  assert.equal(attemptsLeft('wrong answer; 2 attempt(s) left'), 2);
  assert.equal(attemptsLeft('wrong answer; no attempts left, the action has failed'), 0);
  assert.equal(attemptsLeft('something else'), null);
});

test('sign-in names follow the API user id rules', () => {
  for (const ok of ['ada', 'a-1', 'x.y_z@host:1|2', 'a'.repeat(64)]) assert.ok(USER_ID_PATTERN.test(ok), ok);
  for (const bad of ['', 'a b', 'é', 'a'.repeat(65), '<script>']) assert.ok(!USER_ID_PATTERN.test(bad), bad);
});

/** The codes of the README's error table (backticked snake_case words outside parentheses). */
async function readmeCodes() {
  const readme = await readFile(new URL('README.md', repo), 'utf8');
  const section = readme.slice(readme.indexOf('**Errors**'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| status')));
  const codes = new Set();
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (!/^\d{3}/.test(cells[1] ?? '')) continue;
    for (const [, code] of cells[2].replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)) codes.add(code);
  }
  return codes;
}

/** The codes the services can answer with (crates/http/src/error.rs, `ErrorCode::as_str`). */
async function servedCodes() {
  const source = await readFile(new URL('crates/http/src/error.rs', repo), 'utf8');
  const body = source.slice(source.indexOf('pub fn as_str'));
  return new Set([...body.slice(0, body.indexOf('\n    }\n')).matchAll(/=> "([a-z_]+)"/g)].map((m) => m[1]));
}

test('errors: every code in the README table and every code served has a human message', async () => {
  const documented = await readmeCodes();
  const served = await servedCodes();
  assert.ok(documented.size >= 20, `found only ${documented.size} codes in the README table`);
  assert.ok(served.size >= 20, `found only ${served.size} codes in error.rs`);
  for (const code of [...documented, ...served]) {
    assert.equal(typeof ERROR_MESSAGES[code], 'string', `no message for ${code}`);
    assert.ok(ERROR_MESSAGES[code].length > 10, `message for ${code} is too short`);
  }
});
