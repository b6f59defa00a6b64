// Scoreboard web page: development sign-in, playing the demo action, the player's own standing and the
// live top 10 from the notifier's WebSocket. No framework and no build step; served by the gateway, whose
// Content-Security-Policy allows only this origin's scripts and styles (so no inline code or styles).

import {
  SUBPROTOCOL,
  USER_ID_PATTERN,
  attemptsLeft,
  backoffDelay,
  codeForStatus,
  isStale,
  messageFor,
  parseSnapshot,
  rowChange,
} from './live.mjs';

const SESSION_KEY = 'scoreboard.session';
const NAME_KEY = 'scoreboard.name';
const BOARD_SIZE = 10;
const ROUND_KIND = 'demo';

const el = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const ui = {
  connection: el('connection-state'),
  connectionText: document.querySelector('.connection-text'),
  session: el('session'),
  signedInUser: el('signed-in-user'),
  signOut: el('signout-button'),
  status: el('status'),
  signinForm: el('signin-form'),
  signinName: el('signin-name'),
  signinButton: el('signin-button'),
  play: el('play'),
  myScore: el('my-score'),
  myRank: el('my-rank'),
  roundIdle: el('round-idle'),
  start: el('start-button'),
  round: el('round'),
  prompt: el('challenge-prompt'),
  answer: el('answer-input'),
  submit: el('submit-button'),
  countdown: el('countdown'),
  countdownBar: el('countdown-bar'),
  abandon: el('abandon-button'),
  result: el('result'),
  board: el('leaderboard'),
  boardEmpty: el('leaderboard-empty'),
  boardMeta: el('board-meta'),
};

// ---------------------------------------------------------------------------------------------------
// Session (kept in localStorage so a reload stays signed in)

let sessionExpired = false;
let session = loadSession();

function loadSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null');
    if (!saved || typeof saved.token !== 'string' || typeof saved.user_id !== 'string') return null;
    if (saved.expires_at && Date.parse(saved.expires_at) <= Date.now()) {
      sessionExpired = true;
      localStorage.removeItem(SESSION_KEY);
      return null;
    }
    return saved;
  } catch {
    return null;
  }
}

function saveSession(value) {
  try {
    if (value) localStorage.setItem(SESSION_KEY, JSON.stringify(value));
    else localStorage.removeItem(SESSION_KEY);
    if (value) localStorage.setItem(NAME_KEY, value.user_id);
  } catch {
    // Storage can be unavailable (private mode); the page still works for this visit.
  }
}

function rememberedName() {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------
// API calls: JSON in and out; failures become an ApiError with the API's stable code

class ApiError extends Error {
  constructor(code, detail, status, retryAfter, facts = {}) {
    super(detail || code);
    this.code = code;
    this.detail = detail;
    this.status = status;
    this.retryAfter = retryAfter;
    this.facts = facts; // the body's machine-readable `details`
  }
}

async function api(method, path, { body, auth = true } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth && session) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError('network', '', 0, null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data ?? {};
  const retryAfter = Number(response.headers.get('retry-after')) || null;
  const error = data && data.error;
  throw new ApiError(error?.code ?? codeForStatus(response.status), error?.message ?? '', response.status, retryAfter, error?.details ?? {});
}

// ---------------------------------------------------------------------------------------------------
// The status area (aria-live): one message at a time

let statusTimer = null;

function setStatus(kind, text, code = '') {
  clearTimeout(statusTimer);
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
  ui.status.dataset.code = code;
  ui.status.hidden = false;
  if (kind !== 'error') statusTimer = setTimeout(clearStatus, 8000);
}

function clearStatus() {
  clearTimeout(statusTimer);
  ui.status.hidden = true;
  ui.status.textContent = '';
  ui.status.dataset.code = '';
}

/** Shows the human message for an error; a 401 also signs the player out so they sign in again. */
function showError(error, overrides = {}) {
  const code = error instanceof ApiError ? error.code : 'internal_error';
  if (!(error instanceof ApiError)) console.error(error);
  let text = overrides[code] ?? messageFor(code);
  if (code === 'rate_limited' && error.retryAfter) text += ` (about ${error.retryAfter} s)`;
  if (code === 'unauthorized' && session) {
    signOut();
  }
  setStatus('error', text, code);
  return code;
}

// ---------------------------------------------------------------------------------------------------
// Signing in and out

ui.signinForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = ui.signinName.value.trim();
  if (!USER_ID_PATTERN.test(name)) {
    setStatus('error', 'Choose a name of 1 to 64 letters, digits or . _ - @ : |', 'invalid_request');
    ui.signinName.focus();
    return;
  }
  ui.signinButton.disabled = true;
  try {
    const minted = await api('POST', '/api/dev/token', { body: { user_id: name }, auth: false });
    session = { user_id: name, token: minted.token, expires_at: minted.expires_at };
    saveSession(session);
    setStatus('info', `Welcome, ${name}!`);
    enterSignedIn();
    ui.start.focus();
  } catch (error) {
    showError(error, { not_found: 'Development sign-in is turned off on this server.' });
  } finally {
    ui.signinButton.disabled = false;
  }
});

ui.signOut.addEventListener('click', () => {
  signOut();
  setStatus('info', 'Signed out. See you soon!');
});

function enterSignedIn() {
  ui.signinForm.hidden = true;
  ui.play.hidden = false;
  ui.session.hidden = false;
  ui.signedInUser.textContent = session.user_id;
  ui.result.hidden = true;
  setStanding(null, null);
  markOwnRow();
  refreshStanding();
  recoverKeys();
  // A board that requires a token only lets us in now: try again at once if we are not live.
  if (!live.socket) connectNow();
}

function signOut() {
  session = null;
  saveSession(null);
  endRound();
  ui.play.hidden = true;
  ui.session.hidden = true;
  ui.signinForm.hidden = false;
  ui.signinName.value = rememberedName();
  markOwnRow();
  ui.signinName.focus();
}

// ---------------------------------------------------------------------------------------------------
// The player's own score and rank

let standing = { score: null, rank: null };
let standingRequest = 0; // numbers /api/scores/me requests, so an older answer never wins
let standingTimer = null;
let standingAt = 0;
const STANDING_MIN_INTERVAL_MS = 5000;

function setStanding(score, rank) {
  standing = { score, rank };
  ui.myScore.textContent = score === null ? '–' : String(score);
  ui.myScore.dataset.value = score === null ? '' : String(score);
  ui.myRank.textContent = rank === null ? '–' : `#${rank}`;
  ui.myRank.dataset.value = rank === null ? '' : String(rank);
  ui.myRank.title = rank === null ? 'Not on the board yet: score to get a rank' : '';
}

/** Shows a standing the server just returned; an /api/scores/me answer still on its way is ignored. */
function showFreshStanding(score, rank) {
  standingRequest += 1;
  setStanding(score, rank);
}

async function refreshStanding() {
  if (!session) return;
  const request = ++standingRequest;
  standingAt = Date.now();
  try {
    const me = await api('GET', '/api/scores/me');
    if (request === standingRequest && session && me.user_id === session.user_id) {
      setStanding(me.score, me.rank ?? null);
    }
  } catch (error) {
    if (error.code === 'unauthorized') showError(error);
    // Other failures keep the last known standing; the next snapshot or redeem refreshes it.
  }
}

/**
 * Keeps the standing current as snapshots arrive. A player in the top 10 reads it off the snapshot (a
 * score never goes down, so an older snapshot arriving after a redeem cannot undo it); anyone else asks
 * /api/scores/me, at most once per STANDING_MIN_INTERVAL_MS so a busy board does not turn into a flood
 * of requests.
 */
function standingFromSnapshot(entries) {
  if (!session) return;
  const mine = entries.find((entry) => entry.user_id === session.user_id);
  if (mine) {
    if (standing.score === null || mine.score >= standing.score) showFreshStanding(mine.score, mine.rank);
    return;
  }
  refreshStandingSoon();
}

function refreshStandingSoon() {
  if (!session || standingTimer) return;
  const wait = Math.max(0, standingAt + STANDING_MIN_INTERVAL_MS - Date.now());
  standingTimer = setTimeout(() => {
    standingTimer = null;
    refreshStanding();
  }, wait);
}

// ---------------------------------------------------------------------------------------------------
// Playing action X: start, wait out the minimum duration, answer, then redeem the key at once

let round = null; // { id, readyAt, deadlineAt, timer }
let submitting = false;

ui.start.addEventListener('click', async () => {
  if (!session || round) return;
  ui.start.disabled = true;
  ui.result.hidden = true;
  try {
    const started = await api('POST', '/api/actions', { body: { kind: ROUND_KIND } });
    // Count from when the answer arrived, with the server's own durations: the local clock may be off.
    const now = Date.now();
    const startedAt = Date.parse(started.started_at);
    beginRound({
      id: started.action_id,
      prompt: started.challenge?.prompt ?? '',
      readyAt: now + Math.max(0, Date.parse(started.complete_after) - startedAt),
      deadlineAt: now + Math.max(0, Date.parse(started.deadline_at) - startedAt),
    });
  } catch (error) {
    showError(error);
  } finally {
    ui.start.disabled = false;
  }
});

function beginRound({ id, prompt, readyAt, deadlineAt }) {
  round = { id, readyAt, deadlineAt, begunAt: Date.now(), timer: null };
  ui.prompt.textContent = prompt;
  ui.answer.value = '';
  ui.roundIdle.hidden = true;
  ui.round.hidden = false;
  ui.answer.focus();
  tickRound();
  round.timer = setInterval(tickRound, 100);
}

function tickRound() {
  if (!round) return;
  const now = Date.now();
  const waitMs = round.readyAt - now;
  if (waitMs > 0) {
    const span = Math.max(1, round.readyAt - round.begunAt);
    ui.countdownBar.value = Math.round(1000 * (1 - waitMs / span));
    ui.countdown.textContent = `Submit unlocks in ${(waitMs / 1000).toFixed(1)} s`;
    ui.countdown.dataset.phase = 'waiting';
  } else {
    const left = Math.ceil((round.deadlineAt - now) / 1000);
    if (left <= 0) {
      endRound();
      setStatus('error', messageFor('action_expired'), 'action_expired');
      return;
    }
    ui.countdownBar.value = 1000;
    ui.countdown.textContent = `Go! ${formatDuration(left)} left to answer`;
    ui.countdown.dataset.phase = 'ready';
  }
  ui.submit.disabled = submitting || waitMs > 0;
}

function formatDuration(seconds) {
  const minutes = Math.floor(seconds / 60);
  return minutes ? `${minutes}:${String(seconds % 60).padStart(2, '0')}` : `${seconds} s`;
}

function endRound() {
  if (round) clearInterval(round.timer);
  round = null;
  ui.round.hidden = true;
  ui.roundIdle.hidden = false;
  ui.submit.disabled = true;
  ui.countdown.textContent = '';
  ui.countdownBar.value = 0;
}

ui.abandon.addEventListener('click', () => {
  endRound();
  clearStatus();
  ui.start.focus();
});

ui.round.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!round || submitting || Date.now() < round.readyAt) return;
  const answer = ui.answer.value.trim();
  if (!answer) {
    setStatus('error', 'Type your answer first.', 'invalid_request');
    ui.answer.focus();
    return;
  }
  submitting = true;
  ui.submit.disabled = true;
  const actionId = round.id;
  try {
    const minted = await api('POST', `/api/actions/${encodeURIComponent(actionId)}/complete`, { body: { answer } });
    endRound();
    clearStatus();
    ui.start.focus();
    await redeem(minted.key);
  } catch (error) {
    const code = showError(error);
    if (code === 'invalid_proof') {
      const left = Number.isInteger(error.facts?.attempts_left) ? error.facts.attempts_left : attemptsLeft(error.detail);
      if (left === 0) {
        endRound();
        setStatus('error', `${messageFor('invalid_proof')} No attempts left; start a new round.`, code);
      } else {
        if (left !== null) setStatus('error', `${messageFor('invalid_proof')} ${left} ${left === 1 ? 'attempt' : 'attempts'} left.`, code);
        ui.answer.select();
      }
    } else if (code === 'action_too_fast' && round) {
      const waitMs = Number(error.facts?.retry_after_ms) || Number(/(\d+)\s*ms/.exec(error.detail ?? '')?.[1]) || 500;
      round.readyAt = Date.now() + waitMs;
      round.begunAt = Date.now();
    } else if (code === 'action_already_completed') {
      // Its key was minted (perhaps by a request whose answer was lost): pick it up.
      endRound();
      recoverKeys();
    } else if (['action_failed', 'action_expired', 'action_not_found', 'unknown_action_kind'].includes(code)) {
      endRound();
    }
  } finally {
    submitting = false;
    tickRound();
  }
});

/** Redeems a freshly minted key and tells the player their new score and rank. */
async function redeem(key) {
  try {
    const done = await api('POST', '/api/scores/redeem', { body: { key } });
    showFreshStanding(done.score, done.rank);
    ui.result.textContent = `+${done.amount}, your score is ${done.score}, rank ${done.rank}`;
    ui.result.hidden = false;
    ui.result.classList.remove('pop');
    void ui.result.offsetWidth; // restart the animation
    ui.result.classList.add('pop');
    refreshStanding();
  } catch (error) {
    if (error.code === 'key_already_redeemed') {
      // Redeemed meanwhile by the recovery of unredeemed keys: the points are in, nothing went wrong.
      setStatus('info', messageFor(error.code), error.code);
      refreshStanding();
      return;
    }
    const code = showError(error);
    if (['network', 'service_unavailable', 'internal_error', 'rate_limited'].includes(code)) {
      // The key stays the player's: add it once the service answers again.
      setStatus('error', `${messageFor(code)} Your points are safe and will be added shortly.`, code);
      setTimeout(recoverKeys, 5000);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Keys minted but never redeemed (a lost answer, a closed tab): redeem them on sign-in

let recovering = false;

async function recoverKeys() {
  if (!session || recovering) return;
  recovering = true;
  const user = session.user_id;
  let recovered = 0;
  let points = 0;
  try {
    for (let page = 0; page < 10; page += 1) {
      const { keys = [] } = await api('GET', '/api/scores/keys');
      let progress = 0;
      for (const { key } of keys) {
        if (!session || session.user_id !== user) return;
        try {
          const done = await api('POST', '/api/scores/redeem', { body: { key } });
          recovered += 1;
          points += done.amount;
          progress += 1;
          showFreshStanding(done.score, done.rank);
        } catch (error) {
          // Redeemed meanwhile (by this page's own round, say), expired or gone: nothing to recover.
          if (!['key_already_redeemed', 'key_expired', 'key_not_found'].includes(error.code)) throw error;
        }
      }
      if (keys.length < 100 || progress === 0) break;
    }
    if (recovered > 0) {
      setStatus('success', `Recovered ${recovered} unredeemed ${recovered === 1 ? 'key' : 'keys'} (+${points} points).`);
      refreshStanding();
    }
  } catch (error) {
    showError(error);
  } finally {
    recovering = false;
  }
}

// ---------------------------------------------------------------------------------------------------
// The live top 10

const rows = new Map(); // user_id -> { li, rank, score, rankEl, nameEl, scoreEl }
let boardShown = false;

function renderBoard(entries, { source, at }) {
  const seen = new Set();
  entries.slice(0, BOARD_SIZE).forEach((entry, index) => {
    seen.add(entry.user_id);
    let row = rows.get(entry.user_id);
    const change = boardShown ? rowChange(row, entry) : null;
    if (!row) {
      row = createRow(entry.user_id);
      rows.set(entry.user_id, row);
    }
    row.rank = entry.rank;
    row.score = entry.score;
    row.li.dataset.rank = String(entry.rank);
    row.li.dataset.score = String(entry.score);
    row.rankEl.textContent = String(entry.rank);
    row.rankEl.dataset.podium = entry.rank <= 3 ? String(entry.rank) : '';
    row.scoreEl.textContent = entry.score.toLocaleString();
    row.li.title = entry.reached_at ? `reached ${new Date(entry.reached_at).toLocaleString()}` : '';
    // Only rows out of place move: moving a node restarts its animations.
    const here = ui.board.children[index] ?? null;
    if (here !== row.li) ui.board.insertBefore(row.li, here);
    if (change) animate(row.li, change);
  });
  for (const [user, row] of rows) {
    if (!seen.has(user)) {
      row.li.remove();
      rows.delete(user);
    }
  }
  boardShown = true;
  ui.boardEmpty.hidden = rows.size > 0;
  ui.board.dataset.source = source;
  markOwnRow();
  showBoardMeta(source, at);
}

function createRow(user) {
  const li = document.createElement('li');
  li.className = 'row';
  li.dataset.testid = 'leaderboard-row';
  li.dataset.user = user;
  const rankEl = document.createElement('span');
  rankEl.className = 'rank';
  const player = document.createElement('span');
  player.className = 'player';
  const nameEl = document.createElement('span');
  nameEl.className = 'player-name';
  nameEl.textContent = user;
  const you = document.createElement('span');
  you.className = 'you-tag';
  you.textContent = 'you';
  player.append(nameEl, you);
  const scoreEl = document.createElement('span');
  scoreEl.className = 'points';
  li.append(rankEl, player, scoreEl);
  return { li, rankEl, nameEl, scoreEl, rank: null, score: null };
}

const CHANGE_CLASSES = ['changed-enter', 'changed-score', 'changed-up', 'changed-down'];

function animate(li, change) {
  li.classList.remove(...CHANGE_CLASSES);
  void li.offsetWidth; // restart the keyframes if the row changed again mid-animation
  li.classList.add(`changed-${change}`);
}

// The highlight (on the row's ::after) is the longest of a change's animations: it ends them all.
ui.board.addEventListener('animationend', (event) => {
  if (event.animationName === 'row-flash') event.target.classList.remove(...CHANGE_CLASSES);
});

function markOwnRow() {
  for (const [user, row] of rows) {
    const mine = Boolean(session) && user === session.user_id;
    row.li.classList.toggle('is-me', mine);
    if (mine) {
      row.li.dataset.me = 'true';
      row.li.setAttribute('aria-current', 'true');
    } else {
      delete row.li.dataset.me;
      row.li.removeAttribute('aria-current');
    }
  }
}

function showBoardMeta(source, at) {
  const time = at ? new Date(at).toLocaleTimeString() : '';
  ui.boardMeta.dataset.source = source;
  ui.boardMeta.textContent =
    source === 'live' ? `updated ${time}` : `as of ${time || 'now'} · live updates paused`;
}

// ---------------------------------------------------------------------------------------------------
// The WebSocket: connect, drop stale snapshots, reconnect with exponential back-off and full jitter

const live = {
  socket: null,
  attempt: 0, // failed attempts since the last good connection
  retryTimer: null,
  tickTimer: null,
  retryAt: 0,
  last: null, // { epoch, version } of the last snapshot shown
  fallbackShown: false, // the REST board was fetched during this outage
};

function setConnection(state, text) {
  ui.connection.dataset.state = state;
  ui.connectionText.textContent = text;
}

function connect() {
  clearTimeout(live.retryTimer);
  clearInterval(live.tickTimer);
  live.retryTimer = null;
  setConnection('connecting', 'connecting…');
  const url = new URL('/ws', window.location.href);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket: a board that requires a token takes it as a subprotocol.
  const protocols = [SUBPROTOCOL];
  if (session) protocols.push(`bearer.${session.token}`);
  let socket;
  try {
    socket = new WebSocket(url, protocols);
  } catch {
    reconnectLater();
    return;
  }
  live.socket = socket;
  socket.addEventListener('open', () => {
    if (socket !== live.socket) return;
    setConnection('live', 'live');
  });
  socket.addEventListener('message', (event) => {
    if (socket !== live.socket || typeof event.data !== 'string') return;
    onSnapshot(parseSnapshot(event.data));
  });
  socket.addEventListener('close', () => {
    if (socket !== live.socket) return;
    live.socket = null;
    reconnectLater();
  });
}

function onSnapshot(snapshot) {
  if (!snapshot) return;
  // This connection works: the next outage starts the back-off from the beginning.
  live.attempt = 0;
  live.fallbackShown = false;
  if (isStale(live.last, snapshot)) {
    // Already shown (the server repeats its current snapshot on every connect); the board is live again.
    if (ui.board.dataset.source !== 'live') {
      ui.board.dataset.source = 'live';
      showBoardMeta('live', snapshot.generated_at);
    }
    return;
  }
  live.last = { epoch: snapshot.epoch, version: snapshot.version };
  renderBoard(snapshot.entries, { source: 'live', at: snapshot.generated_at });
  standingFromSnapshot(snapshot.entries);
}

function reconnectLater() {
  const delay = backoffDelay(live.attempt);
  live.attempt += 1;
  live.retryAt = Date.now() + delay;
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((live.retryAt - Date.now()) / 1000));
    setConnection('reconnecting', `reconnecting in ${seconds}s`);
  };
  tick();
  clearInterval(live.tickTimer);
  live.tickTimer = setInterval(tick, 250);
  clearTimeout(live.retryTimer);
  live.retryTimer = setTimeout(connect, delay);
  if (!live.fallbackShown) {
    live.fallbackShown = true;
    showFallbackBoard();
  }
}

/** While the WebSocket is down, shows the board once from the API so the page is not empty or stale. */
async function showFallbackBoard() {
  try {
    const { entries = [] } = await api('GET', `/api/leaderboard?limit=${BOARD_SIZE}`, { auth: false });
    if (live.socket && live.socket.readyState === WebSocket.OPEN && boardShown) return; // live again
    renderBoard(entries, { source: 'fallback', at: new Date().toISOString() });
  } catch {
    if (!boardShown) showBoardMeta('fallback', '');
  }
}

/** Skips the rest of the back-off (the network is back, or the page is in front again). */
function connectNow() {
  if (live.socket) return;
  live.attempt = 0;
  connect();
}

window.addEventListener('online', connectNow);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  if (live.socket && live.socket.readyState === WebSocket.OPEN) {
    live.socket.send('snapshot'); // any text asks for the current snapshot again
  } else {
    connectNow();
  }
  refreshStandingSoon();
});

// ---------------------------------------------------------------------------------------------------
// Start

connect();
if (session) {
  enterSignedIn();
} else {
  ui.signinName.value = rememberedName();
  ui.signinForm.hidden = false;
  if (sessionExpired) setStatus('error', messageFor('unauthorized'), 'unauthorized');
}
