/**
 * Concurrency-limited task queue. Pure (no browser APIs), unit-tested.
 */

/**
 * Create a FIFO queue running at most `concurrency` tasks at a time.
 * @param {{concurrency?: number}} [opts] default 3
 * @returns {{push: <T>(task: () => Promise<T>) => Promise<T>, readonly running: number, readonly pending: number,
 *   clear: (reason?: Error) => void}}
 */
export function createQueue({ concurrency = 3 } = {}) {
  const limit = Math.max(1, Math.floor(concurrency));
  const waiting = [];
  let running = 0;
  const next = () => {
    while (running < limit && waiting.length) {
      const { task, resolve, reject } = waiting.shift();
      running++;
      Promise.resolve()
        .then(task)
        .then(resolve, reject)
        .finally(() => {
          running--;
          next();
        });
    }
  };
  return {
    push(task) {
      return new Promise((resolve, reject) => {
        waiting.push({ task, resolve, reject });
        next();
      });
    },
    get running() {
      return running;
    },
    get pending() {
      return waiting.length;
    },
    clear(reason = new Error('queue cleared')) {
      while (waiting.length) waiting.shift().reject(reason);
    },
  };
}
