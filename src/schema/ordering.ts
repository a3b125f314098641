import { builder } from './builder';

export const SortDirection = builder.enumType('SortDirection', {
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const,
});

export type SortOrder = 'asc' | 'desc';
