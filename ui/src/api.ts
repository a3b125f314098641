import type { TypedDocumentString } from './gql/graphql';

/** Where every request goes: the same origin's /graphql, and nowhere else. */
export const GRAPHQL_PATH = '/graphql';
const KEY_ITEM = 'agentmem.inspector.key';

/**
 * The API key lives in this tab's session storage (gone when the tab closes) and in no URL. It is
 * sent only as the Authorization header of requests to GRAPHQL_PATH.
 */
export const keyStore = {
  get: (): string | null => sessionStorage.getItem(KEY_ITEM),
  set: (key: string): void => sessionStorage.setItem(KEY_ITEM, key),
  clear: (): void => sessionStorage.removeItem(KEY_ITEM),
};

/** One error the API answered: its code, the input path it is about, and its words. */
export interface ApiError {
  message: string;
  code?: string | null;
  field?: readonly string[] | null;
}

class ApiFailure extends Error {
  constructor(readonly errors: ApiError[]) {
    super(errors.map((error) => error.message).join('; '));
  }
}

interface GraphqlBody<TData> {
  data?: TData | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string[] } }>;
}

export function headers(key: string | null, accept: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept,
    ...(key ? { authorization: `Bearer ${key}` } : {}),
  };
}

/** Sends one operation with the stored key (or the one given); throws ApiFailure with the API's words. */
export async function request<TData, TVariables>(
  document: TypedDocumentString<TData, TVariables>,
  variables: TVariables,
  key: string | null = keyStore.get(),
): Promise<TData> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: headers(key, 'application/graphql-response+json, application/json'),
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch {
    throw new ApiFailure([{ message: 'The server cannot be reached: check that it is running, then try again.' }]);
  }
  let body: GraphqlBody<TData>;
  try {
    body = (await response.json()) as GraphqlBody<TData>;
  } catch {
    throw new ApiFailure([{ message: `The server answered ${response.status} without a GraphQL result.` }]);
  }
  if (body.errors?.length) {
    throw new ApiFailure(
      body.errors.map((error) => ({
        message: error.message,
        code: error.extensions?.code ?? null,
        field: error.extensions?.field ?? null,
      })),
    );
  }
  if (!body.data) throw new ApiFailure([{ message: `The server answered ${response.status} with no data.` }]);
  return body.data;
}

/** A mutation's typed error (`... on Error { code field message }`), if it answered one. */
export function payloadError(result: {
  __typename?: string;
  code?: string;
  field?: readonly string[] | null;
  message?: string;
}): ApiError | null {
  return result.message !== undefined ? { message: result.message, code: result.code, field: result.field } : null;
}

export function errorsOf(error: unknown): ApiError[] {
  if (error instanceof ApiFailure) return error.errors;
  return [{ message: error instanceof Error ? error.message : String(error) }];
}
