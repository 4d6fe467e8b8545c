/**
 * The operator token in the page: taken once from `?token=` (then dropped from the address bar, so it is not
 * left in the history or a screenshot) or typed in, and kept in sessionStorage (this tab only, gone when closed).
 */
const KEY = 'evauth-operator-token';

export function takeToken(): string | undefined {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    keepToken(fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function keepToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
