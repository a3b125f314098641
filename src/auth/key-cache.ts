import type { Caller } from './caller';

/**
 * The extensions of a mutation that can end a key someone holds (revokeApiKey; deleteUser and
 * purgeUser, whose user's keys stop with it): after it, this process checks every key again.
 * Other mutations leave the checked keys alone: a write-heavy client (appends) would otherwise
 * pay a key check on a third of its requests. A mutation left unmarked by mistake still ends
 * the key within `AUTH_CACHE_MS` everywhere, as it does on every other process.
 */
export const FORGETS_CHECKED_KEYS = { forgetsCheckedKeys: true } as const;

/** Whether a field's extensions carry FORGETS_CHECKED_KEYS. */
export function forgetsCheckedKeys(extensions: Readonly<Record<string, unknown>> | null | undefined): boolean {
  return extensions?.forgetsCheckedKeys === true;
}

/** The most keys remembered at once: beyond, the oldest is forgotten. */
const MAX_KEYS = 10_000;

/** A remembered key's caller, and whether it is time to check the key again, ahead of its end. */
export interface CachedCaller {
  caller: Caller;
  refreshDue: boolean;
}

/**
 * Keys checked a moment ago, by the key as presented, for at most `ttlMs` (AUTH_CACHE_MS, at most
 * 1 s) from the moment they were checked: a repeated key costs no statement and no SHA-256. A key
 * revoked, expired or deleted stops working on every process within that time, since each
 * forgets it by then; in this process at once, as a mutation that can end a key (one marked
 * `FORGETS_CHECKED_KEYS`) forgets them all (`useForgetKeysAfterMutations`,
 * src/http/forget-keys-after-mutations.ts). The keys themselves
 * are held no longer than that: each `set` first drops the entries already past their time (the
 * oldest come first).
 *
 * A key past half its time is due a check ahead of its end (`refreshDue`), which the
 * authenticator runs in the background while the remembered caller still answers: under steady
 * traffic the key never runs out, and no request waits for its check. Otherwise, every
 * `ttlMs`, the requests in flight at that moment would all wait for one: at 1,000 requests a
 * second, one in a hundred, where a p99 is read.
 */
export class KeyCache {
  private readonly callers = new Map<string, { caller: Caller; refreshAt: number; until: number }>();
  private forgotten = 0;

  constructor(private readonly ttlMs: number) {}

  /**
   * Counts `forgetAll`s: a check that started before one must not put back what it read, which
   * may be from before the mutation that caused it.
   */
  get generation(): number {
    return this.forgotten;
  }

  get(key: string, now: number): CachedCaller | undefined {
    const entry = this.callers.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return { caller: entry.caller, refreshDue: entry.refreshAt <= now };
    this.callers.delete(key);
    return undefined;
  }

  /**
   * Remembers `caller`, as checked at `checkedAt` (before its statement was sent) in `generation`,
   * until `ttlMs` after that, or until the key expires if that is sooner.
   */
  set(key: string, caller: Caller, checkedAt: number, expiresAt: Date | null, generation: number): void {
    if (this.ttlMs <= 0 || generation !== this.forgotten) return;
    this.forgetExpired(checkedAt);
    const until = Math.min(checkedAt + this.ttlMs, expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    this.callers.delete(key);
    this.callers.set(key, { caller, refreshAt: checkedAt + this.ttlMs / 2, until });
    if (this.callers.size > MAX_KEYS) this.callers.delete(this.callers.keys().next().value!);
  }

  /** Forgets one key: its check found it no longer valid. */
  forget(key: string): void {
    this.callers.delete(key);
  }

  forgetAll(): void {
    this.forgotten += 1;
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
