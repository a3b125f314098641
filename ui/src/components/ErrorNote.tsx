import type { ApiError } from '../api';

/** The API's errors in words, each with the input field it names: never a blank screen. */
export function ErrorNote({ errors, id }: { errors: readonly ApiError[] | null; id?: string }) {
  if (!errors?.length) return null;
  return (
    <div className="error" role="alert" id={id}>
      {errors.map((error, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: errors have no identity of their own
        <p key={index}>
          {error.field?.length ? (
            <>
              Field <code>{error.field.join('.')}</code>:{' '}
            </>
          ) : null}
          {error.message}
          {error.code ? <span className="code"> ({error.code})</span> : null}
        </p>
      ))}
    </div>
  );
}
