/** Small concurrency and time limits for I/O we do not trust to settle on its own. */

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Resolve or reject with `promise`, or reject with {@link TimeoutError} after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A counting semaphore: at most `limit` holders at once, FIFO for waiters — except that urgent waiters
 * go ahead of the ordinary ones (FIFO among themselves).
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** How many of `waiters`, from the front, are urgent. */
  private urgent = 0;
  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.active;
  }

  /** Holders waiting for a slot (the backlog admission control watches). */
  get waiting(): number {
    return this.waiters.length;
  }

  async acquire(urgent = false): Promise<() => void> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => {
        if (urgent) this.waiters.splice(this.urgent++, 0, resolve);
        else this.waiters.push(resolve);
      });
    } else {
      this.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (this.urgent > 0) this.urgent--;
      if (next) next();
      else this.active--;
    };
  }
}
