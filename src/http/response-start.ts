import type http from 'node:http';

/**
 * Calls `then` once, when `response` starts (its status and headers are written) or closes,
 * whichever comes first. A query's response starts when its result is complete; a subscription's
 * (Server-Sent Events) when its stream opens, and then it may stay open for hours: what bounds
 * the work of a request (admission, the request timeout) ends here, not when the stream ends.
 */
export function whenResponseStarts(response: http.ServerResponse, then: () => void): void {
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    then();
  };
  const writeHead = response.writeHead;
  // Every handler behind these wrappers (yoga's, the refusals') writes its head with writeHead.
  response.writeHead = function startingWriteHead(this: http.ServerResponse, ...args: unknown[]) {
    once();
    return Reflect.apply(writeHead, this, args) as http.ServerResponse;
  } as http.ServerResponse['writeHead'];
  response.once('close', once);
}
