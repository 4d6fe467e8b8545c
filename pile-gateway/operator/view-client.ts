/** Reads the gateway's operator view (GET api/view, relative to the page) with the bearer token. */
import type { OperatorView } from './view.js';

export type ViewAnswer = { ok: true; view: OperatorView } | { ok: false; status: number; message: string };

export async function fetchView(token: string, signal?: AbortSignal): Promise<ViewAnswer> {
  let response: Response;
  try {
    response = await fetch('api/view', {
      headers: { authorization: `Bearer ${token}` },
      cache: 'no-store',
      ...(signal ? { signal } : {}),
    });
  } catch {
    return { ok: false, status: 0, message: 'The gateway does not answer.' };
  }
  if (response.ok) return { ok: true, view: (await response.json()) as OperatorView };
  const body = (await response.json().catch(() => ({}))) as { error?: unknown };
  const message = typeof body.error === 'string' ? body.error : response.statusText;
  return { ok: false, status: response.status, message };
}
