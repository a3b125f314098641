import type { ReactNode } from 'react';
import { hrefOf, navigate, type Route } from '../router';

/** An ordinary link (open in a new tab works) that moves within the app without a reload. */
export function Link({ to, children }: { to: Route; children: ReactNode }) {
  return (
    <a
      href={hrefOf(to)}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
