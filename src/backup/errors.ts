/**
 * A backup, restore, move or export that cannot or must not go on: its message is the one line an
 * operator reads (what is wrong and what to do), printed by the script without a stack.
 */
export class BackupError extends Error {
  override name = 'BackupError';
}
