import type http from 'node:http';
import { currentRequestFacts } from './request-id';

function refuse(response: http.ServerResponse, status: number, message: string, code: string): void {
  // For the request's log line and metrics (src/observability/requests.ts), as yoga's refusals are.
  currentRequestFacts()?.errorCodes.push(code);
  response.writeHead(status, {
    'content-type': 'application/graphql-response+json; charset=utf-8',
    connection: 'close',
  });
  response.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/**
 * Refuses request bodies over `maxBytes` before anything reads them (413), and bodies of
 * unknown length (411): counting a chunked stream would mean consuming it before the GraphQL
 * handler does. Every ordinary client sends Content-Length.
 */
export function withBodyLimit(handler: http.RequestListener, maxBytes: number): http.RequestListener {
  return (request, response) => {
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      refuse(
        response,
        413,
        `the request body is larger than ${maxBytes} bytes (MAX_REQUEST_BYTES)`,
        'PAYLOAD_TOO_LARGE',
      );
      request.resume();
      return;
    }
    if (declared === undefined && request.headers['transfer-encoding'] !== undefined) {
      refuse(response, 411, 'send the request body with a Content-Length', 'LENGTH_REQUIRED');
      request.resume();
      return;
    }
    handler(request, response);
  };
}
