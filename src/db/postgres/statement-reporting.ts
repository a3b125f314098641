import type pg from 'pg';
import type { StatementReporter } from '../row-level-security';
import { CatalogTextClient } from './catalog-text-client';
import { overrideQuery } from './query-override';

/**
 * A client class that tells `report` of every statement it sends, the scoping ones included: what
 * a request costs in statements is counted where they leave, not where they are asked for.
 */
export function clientReportingTo(report: StatementReporter): typeof CatalogTextClient {
  class StatementReportingClient extends CatalogTextClient {}
  const sendQuery = CatalogTextClient.prototype.query as (...args: unknown[]) => unknown;
  overrideQuery(StatementReportingClient, function reportingQuery(this: pg.Client, ...args: unknown[]) {
    const [query] = args;
    const end = report(typeof query === 'string' ? query : ((query as { text?: string }).text ?? ''));
    if (!end) return Reflect.apply(sendQuery, this, args);
    // pg answers through a callback (pg-pool's `query` passes one) or a promise.
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: Error | undefined, ...rest: unknown[]) => {
        end(error ?? undefined);
        return Reflect.apply(callback, undefined, [error, ...rest]);
      };
      return Reflect.apply(sendQuery, this, args);
    }
    const answer: unknown = Reflect.apply(sendQuery, this, args);
    if (answer instanceof Promise) answer.then(() => end(), end);
    else end();
    return answer;
  });
  return StatementReportingClient;
}
