/** The console API from the browser: JSON fetches with the CSRF token, and the live stream. */
let csrf: string | null = null;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function setCsrf(token: string | null): void {
  csrf = token;
}

export async function api<T = unknown>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== null) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(res.status, data.error ?? `HTTP ${res.status}`);
  return data as T;
}

export interface Live {
  close(): void;
}

/** Server-sent events; reconnects on its own (EventSource does) and reports its state. */
export function live(handlers: Record<string, (data: unknown) => void>, onState: (up: boolean) => void): Live {
  const source = new EventSource('/api/stream');
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  for (const [name, fn] of Object.entries(handlers))
    source.addEventListener(name, (e) => fn(JSON.parse((e as MessageEvent<string>).data)));
  return { close: () => source.close() };
}
