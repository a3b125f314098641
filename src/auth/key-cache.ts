import type { Caller } from './caller';

/** The most keys remembered at once: beyond, the oldest is forgotten. */
const MAX_KEYS = 10_000;

/**
 * Keys checked a moment ago, by their hash, for at most `ttlMs` (AUTH_CACHE_MS, at most 1 s): a
 * repeated key costs no statement. A key revoked, expired or deleted stops working on every
 * process within that time, since each forgets it by then; in this process at once, as every
 * mutation here forgets them all (`useForgetKeysAfterMutations`, src/http/forget-keys-after-mutations.ts).
 */
export class KeyCache {
  private readonly callers = new Map<string, { caller: Caller; until: number }>();

  constructor(private readonly ttlMs: number) {}

  get(keyHash: string, now: number): Caller | undefined {
    const entry = this.callers.get(keyHash);
    if (!entry) return undefined;
    if (entry.until > now) return entry.caller;
    this.callers.delete(keyHash);
    return undefined;
  }

  /** Remembers `caller` until `ttlMs` from now, or until the key expires if that is sooner. */
  set(keyHash: string, caller: Caller, now: number, expiresAt: Date | null): void {
    if (this.ttlMs <= 0) return;
    const until = Math.min(now + this.ttlMs, expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    this.callers.delete(keyHash);
    this.callers.set(keyHash, { caller, until });
    if (this.callers.size > MAX_KEYS) this.callers.delete(this.callers.keys().next().value!);
  }

  forgetAll(): void {
    this.callers.clear();
  }
}
