import { format } from 'node:util';

/**
 * A line on stderr from the server's own code or a library in it (graphql-jit prints "Scalar with
 * variable inputs detected…" and carries on with the value dropped) is a failure, not noise: any
 * console.error or console.warn during a test fails that test. The server logs through pino, never
 * the console.
 */
const printed: string[] = [];
for (const level of ['error', 'warn'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    printed.push(`console.${level}: ${format(...args)}`);
    original(...args);
  };
}

afterEach(() => {
  const lines = printed.splice(0);
  if (lines.length > 0) throw new Error(`printed on stderr during the test:\n${lines.join('\n')}`);
});

afterAll(() => {
  const lines = printed.splice(0);
  if (lines.length > 0) throw new Error(`printed on stderr outside a test:\n${lines.join('\n')}`);
});
