import { builder } from '../schema/builder';

/** The kinds of memory, stored lowercase in memories.memory_type. */
export const memoryTypes = {
  FACTUAL: { value: 'factual' },
  EPISODIC: { value: 'episodic' },
  PROCEDURAL: { value: 'procedural' },
  SEMANTIC: { value: 'semantic' },
  WORKING: { value: 'working' },
} as const;

export const MemoryTypeEnum = builder.enumType('MemoryType', { values: memoryTypes });
