/**
 * Time-limited, size-limited cache (least recently set evicted first). Pure, unit-tested.
 */

/**
 * @param {{ttlMs?: number, maxEntries?: number, now?: () => number}} [opts]
 *   ttlMs: lifetime of an entry, ms (default 10 min); maxEntries default 1000;
 *   now: clock in ms (injectable for tests)
 */
export function createTtlCache({ ttlMs = 10 * 60 * 1000, maxEntries = 1000, now = () => Date.now() } = {}) {
  const map = new Map();
  return {
    /** @param {string} key @returns {any} value, or undefined if absent or expired */
    get(key) {
      const e = map.get(key);
      if (!e) return undefined;
      if (now() >= e.expires) {
        map.delete(key);
        return undefined;
      }
      return e.value;
    },
    /** @param {string} key @param {any} value @param {number} [ttl] ms, overrides the default */
    set(key, value, ttl = ttlMs) {
      map.delete(key);
      map.set(key, { value, expires: now() + ttl });
      while (map.size > maxEntries) map.delete(map.keys().next().value);
    },
    has(key) {
      return this.get(key) !== undefined;
    },
    delete(key) {
      return map.delete(key);
    },
    clear() {
      map.clear();
    },
    get size() {
      return map.size;
    },
  };
}

/**
 * Exponential back-off while the backend is unreachable.
 * @param {{baseMs?: number, maxMs?: number, now?: () => number}} [opts] first delay (default 1000 ms),
 *   cap (default 30000 ms), clock
 */
export function createBackoff({ baseMs = 1000, maxMs = 30000, now = () => Date.now() } = {}) {
  let failures = 0;
  let until = 0;
  return {
    /** Record a failure; returns the delay now in force, ms. */
    fail() {
      const delay = Math.min(maxMs, baseMs * 2 ** failures);
      failures++;
      until = now() + delay;
      return delay;
    },
    /** Record a success: back to normal. */
    succeed() {
      failures = 0;
      until = 0;
    },
    /** Whether requests should be held back now. */
    isBackingOff() {
      return now() < until;
    },
    /** ms left before the next try is allowed (0 when none). */
    remainingMs() {
      return Math.max(0, until - now());
    },
    get failures() {
      return failures;
    },
  };
}
