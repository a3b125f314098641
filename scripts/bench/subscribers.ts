import http from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { retryDelayMs } from './retry-after';

// The subscribers of `npm run bench:subscriptions`, in a worker thread of the bench's process:
// their SSE parsing shares the machine's cores with the server, as it should, but not the event
// loop of the appenders, whose answers would otherwise wait behind 40 parsed events per append
// and be timed as the server's. Read with node:http rather than fetch: its web streams cost the
// clients more CPU per event than the server spends delivering it.

interface SubscribedAgent {
  id: string;
  key: string;
}

interface Setup {
  url: string;
  query: string;
  agents: SubscribedAgent[];
  perAgent: number;
  /** Subscriptions opened at once while setting up. */
  opening: number;
}

/** What each subscriber received: the texts of its agent's messages, with when (ms since the epoch). */
export interface Arrivals {
  agentId: string;
  arrivals: [string, number][];
  ended: boolean;
}

interface Request {
  expected: number;
  deadlineMs: number;
}
type Reply =
  | { kind: 'opened'; subscribers: number; refusals: number }
  | { kind: 'arrivals'; subscribers: Arrivals[] }
  | { kind: 'failed'; message: string };

/** The instant in ms since the epoch, comparable across threads (each has its own `performance` origin). */
export const now = () => performance.timeOrigin + performance.now();

/** 2,000 subscribers, opened from a worker thread; `wait` collects what they received. */
export class Subscribers {
  private constructor(
    private readonly worker: Worker,
    readonly count: number,
    readonly refusals: number,
  ) {}

  static async open(setup: Setup): Promise<Subscribers> {
    // The worker runs this file; tsx's loader, which the bench runs under, is not inherited by workers.
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, {
      eval: true,
      workerData: setup,
    });
    const opened = await reply(worker);
    if (opened.kind !== 'opened') throw new Error(`subscribers: ${JSON.stringify(opened)}`);
    return new Subscribers(worker, opened.subscribers, opened.refusals);
  }

  /** Waits until `expected` events arrived in all, or `deadlineMs` passed; then what each received. */
  async wait(expected: number, deadlineMs: number): Promise<Arrivals[]> {
    this.worker.postMessage({ expected, deadlineMs } satisfies Request);
    const answer = await reply(this.worker);
    if (answer.kind !== 'arrivals') throw new Error(`subscribers: ${JSON.stringify(answer)}`);
    return answer.subscribers;
  }

  /** Ends the thread, which closes every subscription's connection. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

function reply(worker: Worker): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    worker.once('error', onError);
    worker.once('message', (message: Reply) => {
      worker.off('error', onError);
      resolve(message);
    });
  });
}

interface Subscriber {
  agentId: string;
  arrivals: Map<string, number>;
  ended: boolean;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
let arrived = 0;
let onArrival: () => void = () => undefined;
let refusals = 0;

/** One SSE subscription; resolves once its headers arrived; a 503 is sent again after its Retry-After. */
function subscribe(setup: Setup, subscribed: SubscribedAgent): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query: setup.query, variables: { agentId: subscribed.id } });
    const request = http.request(setup.url, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${subscribed.key}`,
      },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      if (response.statusCode === 503) {
        refusals += 1;
        response.resume();
        const retryAfter = Number(response.headers['retry-after'] ?? 1);
        setTimeout(() => subscribe(setup, subscribed).then(resolve, reject), retryDelayMs(retryAfter));
        return;
      }
      if (response.statusCode !== 200) {
        reject(new Error(`subscription refused: ${response.statusCode}`));
        return;
      }
      const subscriber: Subscriber = { agentId: subscribed.id, arrivals: new Map(), ended: false };
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk: string) => {
        const at = now();
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith('event: complete')) subscriber.ended = true;
          const data = block.indexOf('data:');
          if (data < 0 || block.length === data + 5) continue;
          const result = JSON.parse(block.slice(data + 5)) as {
            data?: { messageAdded?: { text: string } };
            errors?: unknown;
          };
          if (result.errors || !result.data?.messageAdded) subscriber.ended = true;
          else subscriber.arrivals.set(result.data.messageAdded.text, at);
          arrived += 1;
          onArrival();
        }
      });
      // The server closed the stream: ended, unless we closed it.
      response.on('close', () => {
        if (!request.destroyed || response.complete) subscriber.ended = true;
      });
      resolve(subscriber);
    });
    request.end(body);
  });
}

async function work(setup: Setup): Promise<void> {
  const port = parentPort!;
  const wanted = setup.agents.flatMap((subscribed) => Array.from({ length: setup.perAgent }, () => subscribed));
  const subscribers: Subscriber[] = [];
  for (let from = 0; from < wanted.length; from += setup.opening) {
    subscribers.push(
      ...(await Promise.all(wanted.slice(from, from + setup.opening).map((one) => subscribe(setup, one)))),
    );
  }
  port.postMessage({ kind: 'opened', subscribers: subscribers.length, refusals } satisfies Reply);
  port.on('message', (request: Request) => {
    const answer = () => {
      onArrival = () => undefined;
      clearTimeout(timer);
      port.postMessage({
        kind: 'arrivals',
        subscribers: subscribers.map((subscriber) => ({
          agentId: subscriber.agentId,
          arrivals: [...subscriber.arrivals],
          ended: subscriber.ended,
        })),
      } satisfies Reply);
    };
    const timer = setTimeout(answer, Math.max(0, request.deadlineMs - now()));
    onArrival = () => {
      if (arrived >= request.expected) answer();
    };
    onArrival();
  });
}

if (!isMainThread) {
  work(workerData as Setup).catch((error: unknown) =>
    parentPort!.postMessage({
      kind: 'failed',
      message: error instanceof Error ? error.message : String(error),
    } satisfies Reply),
  );
}
