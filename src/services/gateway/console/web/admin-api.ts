// Reading the admin API for the operator views, with the key the chat uses. A refusal
// (no key, or a key without the admin scope) becomes the view's message with a button
// to enter another key — not an empty page.
import { $, apiError, h } from './dom.js';

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

export function adminPost(deps: OperatorDeps): (path: string, body?: unknown) => Promise<Response> {
  return (path, body = {}) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...deps.authHeaders() }, body: JSON.stringify(body) });
}

let pendingAction: (() => Promise<void>) | null = null;

/**
 * Asks before an admin action (the page's one confirmation dialog); `reason` adds a text
 * field whose value `run` receives. An error answer stays in the dialog; success closes
 * it and calls `done`. Cancel or Escape sends nothing.
 */
export function confirmThen(question: string, run: (reason: string) => Promise<Response>, reason: string | null, done: () => void): void {
  const dialog = $<HTMLDialogElement>('confirm-dialog');
  const input = $<HTMLInputElement>('confirm-reason');
  $('confirm-text').textContent = question;
  $('confirm-reason-field').hidden = reason === null;
  input.value = reason ?? '';
  $('confirm-error').textContent = '';
  const attempt = async (): Promise<void> => {
    const res = await run(input.value.trim());
    if (!res.ok) {
      const err = await apiError(res);
      // 409: the loop's state does not allow it (pause, a running iteration or canary)
      $('confirm-error').textContent = `${err.status === 409 ? 'Refused in the loop\'s current state' : `Refused (HTTP ${err.status})`}: ${err.message}`;
      if (dialog.open) pendingAction = attempt; // Confirm may be pressed again
      return;
    }
    dialog.close();
    done();
  };
  pendingAction = attempt;
  dialog.showModal();
  (reason === null ? $('confirm-ok') : input).focus();
}

/** Wires the confirmation dialog's buttons once. */
export function initConfirmDialog(): void {
  $('confirm-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const action = pendingAction;
    pendingAction = null; // a second Enter while the request is out sends nothing more
    void action?.();
  });
  $('confirm-cancel').addEventListener('click', () => $<HTMLDialogElement>('confirm-dialog').close());
  $('confirm-dialog').addEventListener('close', () => (pendingAction = null));
}
