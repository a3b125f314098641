import { Writable } from 'node:stream';
import pino from 'pino';

/** One line of the server's log, as pino writes it. */
export interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  code?: string;
  err?: { stack?: string };
  [field: string]: unknown;
}

/**
 * A logger for a test app whose lines are kept as written (`text`) and parsed (`lines`). pino
 * writes asynchronously to its stream: let it drain (a `setImmediate`) before reading them.
 */
export function capturedLogger(level: pino.Level): { logger: pino.Logger; lines: LogLine[]; text: string[] } {
  const lines: LogLine[] = [];
  const text: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        text.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  return { logger: pino({ level, base: undefined }, sink), lines, text };
}
