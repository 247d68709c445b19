// The views' URLs: /wall, /alerts, /taxis, /audit, /devices/{id} (the server answers each with index.html).
// Query strings carry a view's filters, so a URL can be bookmarked and shared.

import { useEffect, useState } from "preact/hooks";

export type Route =
  | { view: "wall"; query: URLSearchParams }
  | { view: "alerts"; query: URLSearchParams }
  | { view: "audit"; query: URLSearchParams }
  | { view: "taxis"; query: URLSearchParams }
  | { view: "device"; id: string; query: URLSearchParams };

export function parseRoute(path: string, search: string): Route {
  const query = new URLSearchParams(search);
  if (path === "/alerts") return { view: "alerts", query };
  if (path === "/audit") return { view: "audit", query };
  if (path === "/taxis") return { view: "taxis", query };
  const device = /^\/devices\/([^/]+)$/.exec(path);
  if (device?.[1]) return { view: "device", id: decodeURIComponent(device[1]), query };
  return { view: "wall", query };
}

const EVENT = "kwanje:navigate";

/** Goes to `url` (a path with an optional query) without a reload. */
export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event(EVENT));
}

export function useRoute(): Route {
  const read = () => parseRoute(location.pathname, location.search);
  const [route, setRoute] = useState<Route>(read);
  useEffect(() => {
    const update = () => setRoute(read());
    window.addEventListener("popstate", update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return route;
}

/** A link that navigates without a reload (ctrl/cmd-click still opens a new tab). */
export function onLinkClick(e: MouseEvent, url: string): void {
  if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(url);
}
