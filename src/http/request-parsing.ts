import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Percent-decodes as URLSearchParams does (a `%` without two hex digits stays), but refuses what is not UTF-8. */
function isUtf8QueryString(search: string): boolean {
  try {
    decodeURIComponent(search.replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
    return true;
  } catch {
    return false;
  }
}

const isMultipart = (request: Request) =>
  (request.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/');

/**
 * Reads requests strictly. Text that is not UTF-8 is refused with 400 `BAD_REQUEST`: the
 * body of a POST (JSON, application/graphql, a form) and a GET's query string. Decoding it
 * the WHATWG way, as yoga does, would silently turn the bad bytes into U+FFFD and store those.
 * A body that yoga's parser cannot read at all (a GET's `variables` that are not JSON) is a
 * 400 too, not an unexpected error.
 */
export function useStrictRequestParsing(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser, fetchAPI }) {
      if (!requestParser) return;
      setRequestParser(async (incoming) => {
        let request = incoming;
        if (request.method === 'GET' && !isUtf8QueryString(new fetchAPI.URL(request.url).search)) {
          throw badRequest('the query string is not valid UTF-8');
        }
        if (request.method === 'POST' && !isMultipart(request)) {
          const body = new Uint8Array(await request.arrayBuffer());
          if (!isUtf8(body)) throw badRequest('the request body is not valid UTF-8');
          request = new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, body });
        }
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof GraphQLError || !(error instanceof Error)) throw error;
          throw badRequest(`the request could not be read: ${error.message}`);
        }
      });
    },
  };
}
