// The console's two DOM helpers, shared by the chat (app.ts) and the operator views
// (operator.ts).

export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
};

/** Creates an element with attributes and children; text children are escaped by the DOM. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) el.append(c);
  return el;
}

export interface ApiError {
  status: number;
  message: string;
  code: string | null;
  retryAfterS: number | null;
}

export async function apiError(res: Response): Promise<ApiError> {
  let message = `HTTP ${res.status}`;
  let code: string | null = null;
  try {
    const body = (await res.json()) as { error?: { message?: string; code?: string | null } | string; message?: string | string[] };
    // the gateway's errors are OpenAI-shaped; Nest's own (a 400 from an admin controller) are { message }
    if (typeof body.error === 'object' && body.error.message) message = body.error.message;
    else if (body.message) message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
    code = typeof body.error === 'object' ? (body.error.code ?? null) : null;
  } catch {
    // not JSON (a proxy's page): the status line is all there is to say
  }
  const ra = Number(res.headers.get('retry-after'));
  return { status: res.status, message, code, retryAfterS: Number.isFinite(ra) && ra > 0 ? ra : null };
}
