import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError, errorsOf } from './api';

export interface Loaded<T> {
  data: T | null;
  errors: ApiError[] | null;
  loading: boolean;
  /** Loads again (after a change, or a live update). */
  reload(): void;
}

/** Runs `load` whenever `key` changes (or reload is called); the last answer wins. */
export function useLoad<T>(key: string, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; errors: ApiError[] | null; loading: boolean }>({
    data: null,
    errors: null,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: key says what to load, generation counts reloads
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    latest.current().then(
      (data) => current && setState({ data, errors: null, loading: false }),
      (error: unknown) => current && setState({ data: null, errors: errorsOf(error), loading: false }),
    );
    return () => {
      current = false;
    };
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, reload };
}
