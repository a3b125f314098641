/**
 * Builds the memory inspector (ui/) into ui/dist, which the server serves at /ui.
 *  - `npm run build:ui`: always (typed operations by codegen, then `vite build ui`).
 *  - `npm start` (prestart, `--if-stale`): only when ui/dist is missing or was built from other
 *    sources (a SHA-256 of ui/, schema.graphql, codegen.yml and package-lock.json, kept in
 *    ui/dist/.sources-sha256), so that a fresh clone's `npm install && npm start` serves it and a
 *    later start costs only the hash. Without the development dependencies (`npm ci --omit=dev`)
 *    it says so and the server starts anyway; /ui then says how to build it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const ui = path.join(root, 'ui');
const dist = path.join(ui, 'dist');
const stamp = path.join(dist, '.sources-sha256');
const SKIPPED = new Set([dist, path.join(ui, 'src', 'gql'), path.join(ui, 'node_modules')]);

function filesUnder(directory: string): string[] {
  return fs
    .readdirSync(directory, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const file = path.join(directory, entry.name);
      if (SKIPPED.has(file)) return [];
      return entry.isDirectory() ? filesUnder(file) : [file];
    });
}

function sourcesHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...filesUnder(ui),
    ...['schema.graphql', 'codegen.yml', 'package-lock.json'].map((f) => path.join(root, f)),
  ];
  for (const file of files) {
    hash.update(path.relative(root, file));
    hash.update('\0');
    hash.update(fs.readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function build(hash: string): void {
  const vite = path.join(root, 'node_modules', '.bin', 'vite');
  if (!fs.existsSync(vite)) {
    process.stdout.write(
      'agentmem: the inspector (/ui) cannot be built here: Vite is not installed (installed without the ' +
        'development dependencies?). Run `npm install`, then `npm run build:ui`.\n',
    );
    return;
  }
  execFileSync('npm', ['run', 'codegen', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(vite, ['build', 'ui', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  fs.writeFileSync(stamp, `${hash}\n`);
}

function main(): void {
  const hash = sourcesHash();
  if (process.argv.includes('--if-stale')) {
    const built = fs.existsSync(path.join(dist, 'index.html')) && fs.existsSync(stamp);
    if (built && fs.readFileSync(stamp, 'utf8').trim() === hash) return;
    process.stdout.write('agentmem: building the inspector (/ui): its build is missing or older than its sources\n');
  }
  build(hash);
}

main();
