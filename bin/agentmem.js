#!/usr/bin/env node

// The `agentmem` command (package.json "bin"), for `npx --no agentmem export <agent id> > agent.json`:
// unlike `npm run`, npx writes nothing of its own on standard output, so the file holds the JSON
// alone. The command itself is TypeScript (scripts/agentmem.ts), loaded through tsx as `npm start`
// loads the server.
require('tsx/cjs/api').register();
require('../scripts/agentmem.ts');
