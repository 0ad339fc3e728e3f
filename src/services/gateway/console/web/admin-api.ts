// Reading the admin API for the operator views, with the key the chat uses. A refusal
// (no key, or a key without the admin scope) becomes the view's message with a button
// to enter another key — not an empty page.
import { apiError, h } from './dom.js';

export interface OperatorDeps {
  authHeaders: () => Record<string, string>;
  /** opens the key dialog; resolves true once a key is saved */
  askForKey: (reason: string) => Promise<boolean>;
}

/** GET `path`; on failure writes the reason into `where` and returns null (`reload` runs once a new key is saved). */
export type AdminGet = (path: string, where: HTMLElement, reload: () => void) => Promise<Response | null>;

export function adminGetter(deps: OperatorDeps): AdminGet {
  return async (path, where, reload) => {
    const res = await fetch(path, { headers: deps.authHeaders() });
    if (res.ok) return res;
    const err = await apiError(res);
    where.textContent = '';
    if (err.status === 401 || err.status === 403) {
      const set = h('button', { type: 'button' }, 'Set a key');
      set.addEventListener('click', () => void deps.askForKey('Enter an API key with the admin scope.').then((ok) => ok && reload()));
      where.append(h('p', { class: 'error refused', role: 'alert' }, `This view needs the admin scope. The gateway says: ${err.message.replace(/\.$/, '')}. `, set));
    } else {
      where.append(h('p', { class: 'error', role: 'alert' }, `Could not load ${path}: ${err.message}`));
    }
    return null;
  };
}
