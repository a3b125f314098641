import type { Database } from '../db/database';
import { DATABASE_RETRY_AFTER_SECONDS } from '../errors';

/**
 * `/ready`: 200 while the database answers, 503 with a short reason otherwise. It answers
 * anyone, so it says nothing more: no host, port, driver or Prisma text. Cheap: one `SELECT 1`,
 * tried once, without retries; probes that arrive while one is under way share its answer.
 */
export function readinessCheck(database: Pick<Database, 'answers'>) {
  let probe: Promise<boolean> | undefined;
  return async ({ fetchAPI }: { fetchAPI: { Response: typeof Response } }): Promise<Response> => {
    probe ??= database.answers().finally(() => {
      probe = undefined;
    });
    const ready = await probe;
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    };
    if (ready) return new fetchAPI.Response(JSON.stringify({ status: 'ready' }), { status: 200, headers });
    return new fetchAPI.Response(JSON.stringify({ status: 'unavailable', reason: 'the database is unavailable' }), {
      status: 503,
      headers: { ...headers, 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
    });
  };
}
