/**
 * The confirmation every operator action asks for (an allow or a quarantine changes what a
 * whole network resolves): what will happen, and an optional one-line comment kept with the
 * action in the audit log. A native modal <dialog>: focus stays in it, Escape cancels.
 */
import { h } from './dom.js';

/** Matches the server's bound (control/operator-comment.ts); the server checks it again. */
const MAX_COMMENT_LENGTH = 500;

export interface Confirmation {
  title: string;
  /** What the action does, in a sentence. */
  text: string;
  confirmLabel: string;
  danger?: boolean;
}

/** Resolves with the comment ('' for none) when confirmed, null when cancelled. */
export function confirmAction(c: Confirmation): Promise<string | null> {
  const comment = h('input', {
    type: 'text',
    id: 'confirm-comment',
    name: 'comment',
    maxlength: MAX_COMMENT_LENGTH,
    placeholder: 'why (optional): a ticket, a note for the next analyst',
    'aria-label': 'comment, kept in the audit log',
  });
  const dialog = h(
    'dialog',
    { id: 'confirm-dialog', 'aria-labelledby': 'confirm-title' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'confirm-title' }, c.title),
      h('p', { id: 'confirm-text' }, c.text),
      h('label', { for: 'confirm-comment', class: 'muted' }, 'Comment (kept in the audit log)'),
      comment,
      h(
        'p',
        { class: 'actions' },
        // First: Enter in the comment field submits with the form's first button.
        h(
          'button',
          { type: 'submit', value: 'confirm', id: 'confirm-ok', class: c.danger ? 'danger' : 'primary' },
          c.confirmLabel,
        ),
        h('button', { type: 'submit', value: 'cancel', id: 'confirm-cancel' }, 'Cancel'),
      ),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'confirm';
      dialog.remove();
      resolve(confirmed ? comment.value.trim() : null);
    });
    dialog.showModal();
    comment.focus();
  });
}
