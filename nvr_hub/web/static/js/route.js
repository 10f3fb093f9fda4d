// The hash route (#/page?query): pages keep their filters in it so a reload or a shared
// link opens the same view.

/** The current route: page name and its query parameters. */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [page, query = ""] = raw.split("?");
  return { page: page || "live", params: new URLSearchParams(query) };
}

/** Change the query of the current page without reloading it. */
export function setRouteParams(params) {
  const { page } = currentRoute();
  const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  const q = new URLSearchParams(clean).toString();
  history.replaceState(null, "", `#/${page}${q ? "?" + q : ""}`);
}
