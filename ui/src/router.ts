import { useEffect, useState } from 'react';

/** The inspector's routes: paths under /ui, read from and written to the address bar (no key in them). */
export type Route =
  | { screen: 'agents' }
  | { screen: 'agent'; id: string }
  | { screen: 'search' }
  | { screen: 'trash' }
  | { screen: 'unknown'; path: string };

const BASE = '/ui';

function parse(pathname: string): Route {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'agents')) return { screen: 'agents' };
  if (parts.length === 2 && parts[0] === 'agents' && parts[1]) return { screen: 'agent', id: parts[1] };
  if (parts.length === 1 && parts[0] === 'search') return { screen: 'search' };
  if (parts.length === 1 && parts[0] === 'trash') return { screen: 'trash' };
  return { screen: 'unknown', path: pathname };
}

export function hrefOf(route: Route): string {
  switch (route.screen) {
    case 'agents':
      return `${BASE}/`;
    case 'agent':
      return `${BASE}/agents/${encodeURIComponent(route.id)}`;
    case 'search':
      return `${BASE}/search`;
    case 'trash':
      return `${BASE}/trash`;
    default:
      return route.path;
  }
}

const listeners = new Set<() => void>();

// Set by a move within the app, taken by the next screen's title (ScreenTitle): the control that
// moved may stay on the page (a link of the header), and the person is now on another screen.
let arrived = false;

/** Whether the person moved to this screen within the app since the last title took the focus. */
export function takeArrival(): boolean {
  const moved = arrived;
  arrived = false;
  return moved;
}

export function navigate(route: Route): void {
  window.history.pushState(null, '', hrefOf(route));
  arrived = true;
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parse(window.location.pathname));
    const back = () => {
      arrived = true;
      update();
    };
    listeners.add(update);
    window.addEventListener('popstate', back);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', back);
    };
  }, []);
  return route;
}
