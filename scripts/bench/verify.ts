import type { BenchServer } from './servers';
import { type HttpRequest, type Participant, SERVER_NAMES, type ServerId, type Shape } from './shapes';

/** Sends one request as the load generator will, and returns the parsed JSON body. */
async function send(server: BenchServer, request: HttpRequest): Promise<unknown> {
  const response = await fetch(`${server.baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`${server.name} answered HTTP ${response.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${server.name} answered something other than JSON: ${text.slice(0, 300)}`);
  }
}

/** One request of `participant`, read into the shape's common form. */
export async function answerOf(
  participant: Participant,
  servers: ReadonlyMap<ServerId, BenchServer>,
): Promise<unknown> {
  const server = servers.get(participant.server);
  if (!server) throw new Error(`${SERVER_NAMES[participant.server]} is not running`);
  const body = await send(server, participant.request());
  try {
    return participant.read(body);
  } catch (error) {
    throw new Error(
      `${server.name}: unexpected answer (${error instanceof Error ? error.message : String(error)}): ` +
        `${JSON.stringify(body).slice(0, 300)}`,
    );
  }
}

/** Where two JSON values first differ, as a path and the two values there; undefined if equal. */
function firstDifference(left: unknown, right: unknown, at = '$'): string | undefined {
  if (Array.isArray(left) && Array.isArray(right)) {
    for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
      if (index >= left.length || index >= right.length) return `${at}: ${left.length} items against ${right.length}`;
      const difference = firstDifference(left[index], right[index], `${at}[${index}]`);
      if (difference) return difference;
    }
    return undefined;
  }
  if (
    left &&
    right &&
    typeof left === 'object' &&
    typeof right === 'object' &&
    !Array.isArray(left) &&
    !Array.isArray(right)
  ) {
    const leftRecord = left as Record<string, unknown>;
    const rightRecord = right as Record<string, unknown>;
    for (const key of new Set([...Object.keys(leftRecord), ...Object.keys(rightRecord)])) {
      const difference = firstDifference(leftRecord[key], rightRecord[key], `${at}.${key}`);
      if (difference) return difference;
    }
    return undefined;
  }
  return Object.is(left, right) ? undefined : `${at}: ${JSON.stringify(left)} against ${JSON.stringify(right)}`;
}

/**
 * Before anything is timed: every participant of every shape answers, without errors, and the
 * answers agree (the same rows, in the same order, with the same values). Returns one line per
 * shape describing what was checked; throws at the first disagreement.
 */
export async function verifyShapes(
  shapes: readonly Shape[],
  servers: ReadonlyMap<ServerId, BenchServer>,
): Promise<string[]> {
  const checked: string[] = [];
  for (const shape of shapes) {
    const answers = [];
    for (const participant of shape.participants) {
      if (participant.prepare) {
        const server = servers.get(participant.server);
        if (!server) throw new Error(`${SERVER_NAMES[participant.server]} is not running`);
        await participant.prepare((request) => send(server, request));
      }
      answers.push({ server: participant.server, answer: await answerOf(participant, servers) });
    }
    const [reference, ...others] = answers;
    if (!reference) continue;
    for (const other of shape.compared ? others : []) {
      const difference = firstDifference(reference.answer, other.answer);
      if (difference) {
        throw new Error(
          `${shape.title}: ${SERVER_NAMES[reference.server]} and ${SERVER_NAMES[other.server]} ` +
            `disagree at ${difference}`,
        );
      }
    }
    const rows = shape.rowsOf
      ? shape.rowsOf(reference.answer)
      : Array.isArray(reference.answer)
        ? reference.answer.length
        : 1;
    if (rows !== shape.expectedRows) throw new Error(`${shape.title}: ${rows} rows, expected ${shape.expectedRows}`);
    const names = answers.map((answer) => SERVER_NAMES[answer.server]).join(shape.compared ? ' = ' : ', ');
    checked.push(
      `${shape.title}: ${names} (${rows} row${rows === 1 ? '' : 's'}${shape.compared ? ', identical' : ''})`,
    );
  }
  return checked;
}
