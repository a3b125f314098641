import { type ReactNode, useLayoutEffect, useRef } from 'react';
import { takeArrival } from '../router';

// Whether anything on the page has had the focus yet: on a page just loaded the focus is nowhere,
// which is not a focus lost, and the browser's own start of the page is the place to begin.
let focusedOnce = false;
document.addEventListener('focusin', () => {
  focusedOnce = true;
});

/**
 * A screen's title (its h1). It takes the focus when the person arrives from another screen, or
 * when the focus was lost (the link, form or button that had it is gone): a keyboard user goes on
 * from the top of this screen, not from the start of the page. It is out of the Tab order.
 */
export function ScreenTitle({ children }: { children: ReactNode }) {
  const title = useRef<HTMLHeadingElement>(null);
  // Before the browser paints: the title shows with the focus on it, never a moment without.
  useLayoutEffect(() => {
    const lost = focusedOnce && (document.activeElement === null || document.activeElement === document.body);
    if (takeArrival() || lost) title.current?.focus();
  }, []);
  return (
    <h1 ref={title} tabIndex={-1}>
      {children}
    </h1>
  );
}
