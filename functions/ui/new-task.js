import { api, ApiError } from './api.js';
import { h, withCode } from './dom.js';
import { schemaForm } from './schema-form.js';
import { shortId } from './task-model.js';

/** The submit body's own optional fields, besides `type` and `input` (docs/api.md). */
const ENVELOPE_SCHEMA = {
  type: 'object',
  properties: {
    callbackUrl: {
      type: 'string',
      format: 'uri',
      maxLength: 2048,
      description: 'Optional: Longhaul POSTs the finished task to this URL, signed with HMAC-SHA256.',
    },
  },
};

/**
 * The submit form: a type picker, the type's input as fields generated from its JSON Schema with its example filled
 * in, and an optional callback URL. The API validates; its errors appear next to the fields they name.
 * `onSubmitted(task)` runs after a 202.
 */
export function newTaskForm(types, onSubmitted) {
  const select = h(
    'select',
    { id: 'task-type', name: 'type', 'aria-describedby': 'task-type-hint task-type-error' },
    types.map((t) => h('option', { value: t.type }, `${t.title} (${t.type})`)),
  );
  const description = h('p', { class: 'hint', id: 'task-type-hint' });
  const typeError = h('p', { class: 'field-error', id: 'task-type-error' });
  const inputSlot = h('div', { class: 'input-slot' });
  const envelope = schemaForm(ENVELOPE_SCHEMA, {}, '');
  const formError = h('p', { class: 'form-error', role: 'alert' });
  const notice = h('p', { class: 'form-notice', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit task');
  let input;

  const showType = () => {
    const type = types.find((t) => t.type === select.value);
    description.replaceChildren(...withCode(type?.description ?? ''));
    input = schemaForm(type?.inputSchema ?? { type: 'object' }, type?.example, 'input');
    inputSlot.replaceChildren(
      h('fieldset', { class: 'input-group' }, h('legend', {}, 'Input'), input.element),
    );
  };
  select.addEventListener('change', showType);
  showType();

  const clearErrors = () => {
    input.clearErrors();
    envelope.clearErrors();
    typeError.textContent = '';
    select.removeAttribute('aria-invalid');
    formError.textContent = '';
  };

  const showErrors = (errors, message) => {
    const rest = envelope.showErrors(input.showErrors(errors));
    const onType = rest.filter((e) => e.path === 'type');
    const others = rest.filter((e) => e.path !== 'type');
    if (onType.length > 0) {
      typeError.textContent = onType.map((e) => e.message).join('; ');
      select.setAttribute('aria-invalid', 'true');
    }
    if (others.length > 0) {
      formError.textContent = others.map((e) => `${e.path || 'request'}: ${e.message}`).join('; ');
    } else {
      formError.textContent = errors.length > 0 ? 'Please correct the fields marked below.' : message;
    }
    form.querySelector('[aria-invalid="true"]')?.focus();
  };

  const form = h(
    'form',
    { class: 'new-task', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'task-type' }, 'Type'), select, description, typeError),
    inputSlot,
    envelope.element,
    formError,
    h('div', { class: 'actions' }, submit),
    notice,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    notice.replaceChildren();
    if (input.uploading()) {
      formError.textContent = 'Wait for the upload to finish.';
      return;
    }
    const read = input.read();
    const extra = envelope.read();
    const unreadable = [...read.errors, ...extra.errors];
    if (unreadable.length > 0) return showErrors(unreadable);
    submit.disabled = true;
    try {
      const task = await api.submit({ type: select.value, input: read.value, ...extra.value });
      notice.replaceChildren(
        'Submitted ',
        h('a', { href: `#/tasks/${task.id}` }, `${task.type} ${shortId(task.id)}`),
        '.',
      );
      onSubmitted(task);
    } catch (err) {
      if (err instanceof ApiError) showErrors(err.fieldErrors, err.message);
      else formError.textContent = 'The server could not be reached. Try again.';
    } finally {
      submit.disabled = false;
    }
  });

  return form;
}
