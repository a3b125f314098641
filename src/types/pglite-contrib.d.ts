// PGlite's contrib extensions are published under package `exports` only
// (`@electric-sql/pglite/contrib/<name>`), which this project's moduleResolution (node10) does not
// read; Node and Jest do, at run time. This declares the ones AgentMem loads, as their .d.ts do.
declare module '@electric-sql/pglite/contrib/btree_gin' {
  import type { Extension } from '@electric-sql/pglite';
  export const btree_gin: Extension;
}
declare module '@electric-sql/pglite/contrib/pg_trgm' {
  import type { Extension } from '@electric-sql/pglite';
  export const pg_trgm: Extension;
}
