import type { Caller } from './caller';

/** The most keys remembered at once: beyond, the oldest is forgotten. */
const MAX_KEYS = 10_000;

/**
 * Keys checked a moment ago, by the key as presented, for at most `ttlMs` (AUTH_CACHE_MS, at most
 * 1 s): a repeated key costs no statement and no SHA-256. A key revoked, expired or deleted stops
 * working on every process within that time, since each forgets it by then; in this process at
 * once, as every mutation here forgets them all (`useForgetKeysAfterMutations`,
 * src/http/forget-keys-after-mutations.ts). The keys themselves are held no longer than that:
 * each `set` first drops the entries already past their time (the oldest come first).
 */
export class KeyCache {
  private readonly callers = new Map<string, { caller: Caller; until: number }>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, now: number): Caller | undefined {
    const entry = this.callers.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.caller;
    this.callers.delete(key);
    return undefined;
  }

  /** Remembers `caller` until `ttlMs` from now, or until the key expires if that is sooner. */
  set(key: string, caller: Caller, now: number, expiresAt: Date | null): void {
    if (this.ttlMs <= 0) return;
    this.forgetExpired(now);
    const until = Math.min(now + this.ttlMs, expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    this.callers.delete(key);
    this.callers.set(key, { caller, until });
    if (this.callers.size > MAX_KEYS) this.callers.delete(this.callers.keys().next().value!);
  }

  forgetAll(): void {
    this.callers.clear();
  }

  /**
   * Drops the entries past their time, oldest first, up to the first still valid: entries go in
   * in the order they were set, so all but those of keys that expire sooner than `ttlMs` are in
   * the order of their time.
   */
  private forgetExpired(now: number): void {
    for (const [key, entry] of this.callers) {
      if (entry.until > now) return;
      this.callers.delete(key);
    }
  }
}
