/** A tiny History API router: paths under /console (the server answers them with the app). */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console';
const EVENT = 'keyhold:navigate';

/** The current path below /console, e.g. `/keys/1234…`; `/` for the start page. */
export function currentPath(): string {
  const p = window.location.pathname;
  const rest = p.startsWith(BASE) ? p.slice(BASE.length) : p;
  return rest === '' ? '/' : rest;
}

export function navigate(path: string, replace = false): void {
  const url = BASE + path;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event(EVENT));
}

let visits = 0;

/** The current route; `visit` changes on every navigation (a nav link click reloads its page). */
export function useRoute(): { path: string; query: URLSearchParams; visit: number } {
  const read = () => ({
    path: currentPath(),
    query: new URLSearchParams(window.location.search),
    visit: visits++,
  });
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    window.addEventListener('popstate', update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return route;
}
