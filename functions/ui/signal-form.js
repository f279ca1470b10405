import { ApiError } from './api.js';
import { h } from './dom.js';

/**
 * The form that sends a waiting task its signal. A simple schema (an object with one required boolean and optional
 * text fields, like the approval type's `{approve, comment?}`) becomes two buttons and the text fields; any other
 * schema a JSON box. The API checks the payload; its errors appear under the form, and the task keeps waiting.
 */
export function signalForm(name, schema, send) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const choice = simpleChoice(schema);
  if (choice) {
    const texts = choice.texts.map((field) => ({
      field,
      // No limits in the page: the API checks the payload, and its answer names the field.
      input: h('textarea', { name: field, rows: 2 }),
    }));
    const payload = (value) => {
      const body = { [choice.flag]: value };
      for (const { field, input } of texts) if (input.value.trim()) body[field] = input.value.trim();
      return body;
    };
    const [yes, no] =
      choice.flag === 'approve' ? ['Approve', 'Reject'] : [`${choice.flag}: yes`, `${choice.flag}: no`];
    const buttons = [
      h('button', { type: 'button' }, yes),
      h('button', { type: 'button', class: 'secondary' }, no),
    ];
    buttons.forEach((button, i) =>
      button.addEventListener('click', () => submit(buttons, error, () => send(payload(i === 0)))),
    );
    return formOf(
      name,
      ...texts.map(({ field, input }) => h('label', {}, `${field} (optional)`, input)),
      ...buttons,
      error,
    );
  }
  const json = h('textarea', { name: 'payload', rows: 4, spellcheck: false }, '{}');
  const button = h('button', { type: 'button' }, `Send “${name}”`);
  button.addEventListener('click', () =>
    submit([button], error, () => {
      let payload;
      try {
        payload = JSON.parse(json.value);
      } catch {
        throw new Error('The payload is not valid JSON.');
      }
      return send(payload);
    }),
  );
  return formOf(name, h('label', {}, 'Payload (JSON)', json), button, error);
}

const formOf = (name, ...children) =>
  h(
    'form',
    { class: 'signal-form', 'aria-label': `Send the signal ${name}`, onsubmit: (e) => e.preventDefault() },
    ...children,
  );

/** `{flag, texts}` when the schema is one required boolean plus optional strings; else undefined. */
function simpleChoice(schema) {
  const properties = schema?.type === 'object' ? Object.entries(schema.properties ?? {}) : [];
  const flags = properties.filter(([, p]) => p.type === 'boolean');
  const texts = properties.filter(([, p]) => p.type === 'string');
  const required = schema?.required ?? [];
  if (flags.length !== 1 || flags.length + texts.length !== properties.length) return undefined;
  if (!required.includes(flags[0][0]) || texts.some(([field]) => required.includes(field))) return undefined;
  return { flag: flags[0][0], texts: texts.map(([field]) => field) };
}

/** Sends with the buttons disabled meanwhile; the API's problem, naming the field, under the form. */
async function submit(buttons, error, send) {
  buttons.forEach((b) => (b.disabled = true));
  error.textContent = '';
  try {
    await send();
  } catch (err) {
    const fields = err instanceof ApiError ? err.fieldErrors : [];
    error.textContent =
      fields.length > 0 ? fields.map((f) => `${f.path}: ${f.message}`).join('; ') : err.message;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}
