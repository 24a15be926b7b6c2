/**
 * Rolling-window request budget: at most `limit` acquisitions per `windowMs`. Shared by every
 * caller in the process (pull, push and webhook fetches alike) so throughput approaches the
 * documented limit without tripping it. `pauseUntil` lets a 429's Retry-After stop everyone.
 */
export class RollingWindowLimiter {
  private readonly stamps: number[] = [];
  private pausedUntil = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Resolves when a request may be sent; requests are granted in FIFO order. */
  acquire(): Promise<void> {
    const next = this.chain.then(() => this.waitForSlot());
    this.chain = next.catch(() => undefined);
    return next;
  }

  pauseUntil(epochMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, epochMs);
  }

  private async waitForSlot(): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.stamps.length && this.stamps[0]! <= now - this.windowMs) this.stamps.shift();
      let waitMs = 0;
      if (this.pausedUntil > now) waitMs = this.pausedUntil - now;
      else if (this.stamps.length >= this.limit) waitMs = this.stamps[0]! + this.windowMs - now + 1;
      if (waitMs <= 0) {
        this.stamps.push(now);
        return;
      }
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}
