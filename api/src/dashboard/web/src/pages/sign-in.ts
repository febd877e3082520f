import { api, describeError, session } from '../api';
import { h } from '../dom';

/** The sign-in form: the key is checked against the API before it is kept for the session. */
export function signInPage(onSignedIn: () => void, reason: string | null): HTMLElement {
  const input = h('input', {
    id: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'mt_…',
    required: true,
    'aria-describedby': 'sign-in-help',
  });
  const message = h('p', { id: 'sign-in-error', class: 'error', role: 'alert', hidden: reason === null }, reason ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in', novalidate: true },
    h('h1', {}, 'meshtune'),
    h(
      'p',
      { id: 'sign-in-help', class: 'muted' },
      'Sign in with a user or admin API key. It is kept in this browser tab only (sessionStorage) and sent to the API as a Bearer token.',
    ),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    button,
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    const show = (text: string): void => {
      message.textContent = text;
      message.hidden = false;
    };
    if (key === '') {
      show('Enter an API key.');
      return;
    }
    button.disabled = true;
    message.hidden = true;
    api.checkKey(key).then(
      () => {
        session.signIn(key);
        onSignedIn();
      },
      (error: unknown) => {
        button.disabled = false;
        show(describeError(error));
        input.select();
      },
    );
  });
  queueMicrotask(() => input.focus());
  return h('section', { class: 'sign-in-page', 'data-page': 'sign-in' }, form);
}
