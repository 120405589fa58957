/**
 * The page's only way to the broker: fetch against the console's JSON routes (/console/api)
 * and the REST interface (/v3), with the logged-in user's credentials (HTTP Basic, kept in
 * sessionStorage for this tab only). 401 sends the page to the login form; other errors carry
 * the REST error body's message and Kafka error name.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly kafkaError: string | null,
  ) {
    super(message);
  }
}

const CREDENTIALS_KEY = 'kafka-mysql-console-credentials';

export function credentials(): string | null {
  return sessionStorage.getItem(CREDENTIALS_KEY);
}

export function setCredentials(user: string | null, password = ''): void {
  if (user === null) sessionStorage.removeItem(CREDENTIALS_KEY);
  else sessionStorage.setItem(CREDENTIALS_KEY, btoa(unescape(encodeURIComponent(`${user}:${password}`))));
}

let loginListener: (() => void) | null = null;
/** Called when the broker answers 401: the app shows the login form. */
export function onLoginNeeded(fn: () => void): void {
  loginListener = fn;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  // The broker refuses console API changes without this header (no other site's page can send it).
  const headers: Record<string, string> = { 'x-kafka-mysql-console': '1' };
  const auth = credentials();
  if (auth) headers.authorization = `Basic ${auth}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    loginListener?.();
    throw new ApiError(401, 'Log in with a broker user', null);
  }
  const text = await res.text();
  let json: any = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok) {
    const kafka = json?.kafka_error ?? null;
    const message = json?.message ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, res.status === 403 ? `Not allowed: ${message}` : message, kafka);
  }
  return json as T;
}

export const get = <T = any>(path: string) => api<T>('GET', path);

/** The cluster id the /v3 paths need, from whoami. */
export let clusterId = '';
export function setClusterId(id: string): void {
  clusterId = id;
}
export const v3 = (path: string) => `/v3/clusters/${encodeURIComponent(clusterId)}${path}`;
export const enc = encodeURIComponent;
