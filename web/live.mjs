// The page's pure rules, free of the DOM so they can be checked on their own: which snapshots to show,
// how long to wait before reconnecting, and what to tell a person about each error code of the API.

/** Subprotocol of the live board's WebSocket. */
export const SUBPROTOCOL = 'scoreboard.v1';

/** Reconnect back-off: the first wait is at most BASE_MS, doubling per failed attempt, never over CAP_MS. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 10_000;

/**
 * Whether a snapshot must be dropped: within one epoch (one run of a notifier) versions only grow, so a
 * snapshot whose version is not greater than the last one shown is stale or a repeat. A snapshot of
 * another epoch (a restarted notifier, or another replica after a reconnect) starts the count again.
 *
 * @param {{epoch: string, version: number} | null} last the last snapshot shown
 * @param {{epoch: string, version: number}} next the snapshot just received
 */
export function isStale(last, next) {
  if (!last) return false;
  return next.epoch === last.epoch && !(next.version > last.version);
}

/**
 * Exponential back-off with full jitter: a uniform wait in [0, min(cap, base * 2^attempt)).
 *
 * @param {number} attempt failed attempts so far (0 for the first retry)
 * @param {() => number} random a source of numbers in [0, 1)
 */
export function backoffDelay(attempt, random = Math.random, base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Parses one WebSocket text frame; returns the snapshot, or null for anything else. */
export function parseSnapshot(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (!message || message.type !== 'snapshot' || !Array.isArray(message.entries)) return null;
  if (typeof message.epoch !== 'string' || typeof message.version !== 'number') return null;
  return message;
}

/** User ids the API accepts (and so the names the sign-in form takes). */
export const USER_ID_PATTERN = /^[A-Za-z0-9._@:|-]{1,64}$/;

/** A human message for every error code the API answers with (README, "Errors"). */
export const ERROR_MESSAGES = Object.freeze({
  invalid_request: 'That request was not accepted. Check what you entered and try again.',
  unknown_action_kind: 'This game is not offered right now.',
  unauthorized: 'Your sign-in has expired. Please sign in again.',
  origin_not_allowed: 'The live board does not accept connections from this address. Open the scoreboard from its usual address.',
  not_found: 'That part of the service could not be found. Reload the page and try again.',
  action_not_found: 'That round could not be found. Start a new round.',
  key_not_found: 'Those points could not be found for your account.',
  action_already_completed: 'You already finished this round; its points count once. Start a new round.',
  action_failed: 'This round is over: out of attempts or out of time. Start a new round.',
  key_already_redeemed: 'Those points were already added to your score.',
  external_id_conflict: 'That game result was already reported for another player.',
  action_expired: 'Time is up for this round. Start a new round.',
  key_expired: 'Those points expired before they could be added.',
  payload_too_large: 'That is too much text to send. Try a shorter answer.',
  invalid_proof: 'Not quite: that answer is wrong.',
  action_too_fast: 'A little too quick! Wait for the countdown, then submit.',
  rate_limited: 'You are going a bit fast. Wait a moment and try again.',
  internal_error: 'Something went wrong on our side. Please try again.',
  service_unavailable: 'The service is briefly unavailable. Try again in a moment.',
  too_many_connections: 'The live board is full right now. Retrying shortly.',
  network: 'Cannot reach the server. Check your connection and try again.',
});

/** The message for an error code; unknown codes get a generic one. */
export function messageFor(code) {
  return ERROR_MESSAGES[code] ?? 'Something unexpected happened. Please try again.';
}

/** The code to assume when an error answer carries no JSON body (a proxy's own page, say). */
export function codeForStatus(status) {
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 500) return 'internal_error';
  if (status > 500) return 'service_unavailable';
  return 'invalid_request';
}

/**
 * The attempts left after a wrong answer, read from the server's message ("wrong answer; 2 attempt(s)
 * left", or "no attempts left"); null when the message does not say.
 */
export function attemptsLeft(message) {
  if (typeof message !== 'string') return null;
  if (/no attempts left/i.test(message)) return 0;
  const match = /(\d+)\s+attempt/i.exec(message);
  return match ? Number(match[1]) : null;
}

/** How the board changed for one row: 'enter', 'score', 'up', 'down' or null (unchanged). */
export function rowChange(previous, entry) {
  if (!previous) return 'enter';
  if (previous.score !== entry.score) return 'score';
  if (previous.rank !== entry.rank) return entry.rank < previous.rank ? 'up' : 'down';
  return null;
}
