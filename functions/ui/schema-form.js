import { h, withCode } from './dom.js';
import { uploadFile } from './upload.js';

/** zod writes this bound for `.int()` without one of its own: not worth telling a reader. */
const SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

/** "failAtStep" → "Fail at step", "callbackUrl" → "Callback URL". */
function labelOf(name) {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .replace(/\burl\b/g, 'URL');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const idOf = (path) => `f-${path.join('-').replace(/[^A-Za-z0-9-]/g, '_')}`;

/** The description, then the constraints a reader needs: "How many steps. 1 to 10000; default 10." */
function hintOf(prop) {
  const parts = [];
  const min = prop.minimum ?? prop.exclusiveMinimum;
  const max = prop.maximum ?? prop.exclusiveMaximum;
  const hasMin = min !== undefined && min > -SAFE_INTEGER;
  const hasMax = max !== undefined && max < SAFE_INTEGER;
  if (hasMin && hasMax) parts.push(`${min} to ${max}`);
  else if (hasMin) parts.push(`at least ${min}`);
  else if (hasMax) parts.push(`at most ${max}`);
  if (prop.type === 'array' && isSimpleList(prop)) parts.push('one per line');
  const fallback = prop.default;
  if (fallback !== undefined && !(Array.isArray(fallback) && fallback.length === 0)) {
    parts.push(`default ${Array.isArray(fallback) ? fallback.join(', ') : JSON.stringify(fallback)}`);
  }
  const constraints = parts.length ? `${parts.join('; ')}.` : '';
  return [prop.description, constraints].filter(Boolean).join(' ');
}

const isSimpleList = (prop) => ['string', 'number', 'integer'].includes(prop.items?.type);

/**
 * A form for one JSON Schema object, as zod's `toJSONSchema` writes them: strings, numbers and integers with their
 * bounds, booleans, enums, lists of strings or numbers (one per line), nested objects (as fieldsets), a file upload
 * for a `blob` field, and JSON text for anything else. `prefix` starts every field's path, so the API's error paths
 * (`input.steps`) find their field. Empty fields are left out of the value, so the server's defaults apply.
 */
export function schemaForm(schema, example, prefix) {
  const ctx = { fields: new Map(), readErrors: [], uploads: 0 };
  const root = objectField(schema, example ?? {}, prefix ? [prefix] : [], true, ctx, true);
  const setError = (path, message) => {
    const field = ctx.fields.get(path.join('.'));
    field.error.textContent = field.error.textContent ? `${field.error.textContent}; ${message}` : message;
    field.control.setAttribute('aria-invalid', 'true');
    field.container.classList.add('has-error');
    field.container.closest('details')?.setAttribute('open', '');
  };
  ctx.setError = setError;
  return {
    element: root.element,
    /** `{value, errors}`: errors are fields that could not be read (JSON that does not parse). */
    read() {
      ctx.readErrors = [];
      const value = root.read();
      return { value, errors: ctx.readErrors };
    },
    uploading: () => ctx.uploads > 0,
    /** Shows each error on the deepest field its path names; returns those that name no field here. */
    showErrors(errors) {
      const unmatched = [];
      for (const error of errors) {
        const parts = error.path ? error.path.split('.') : [];
        let n = parts.length;
        while (n > 0 && !ctx.fields.has(parts.slice(0, n).join('.'))) n--;
        if (n > 0) setError(parts.slice(0, n), error.message);
        else unmatched.push(error);
      }
      return unmatched;
    },
    clearErrors() {
      for (const field of ctx.fields.values()) {
        field.error.textContent = '';
        field.control.removeAttribute('aria-invalid');
        field.container.classList.remove('has-error');
      }
    },
  };
}

function fieldFor(prop, value, path, required, ctx) {
  if (Array.isArray(prop.enum)) return enumField(prop, value, path, required, ctx);
  switch (prop.type) {
    case 'boolean':
      return booleanField(prop, value, path, required, ctx);
    case 'integer':
    case 'number':
      return numberField(prop, value, path, required, ctx);
    case 'string':
      return path.at(-1) === 'blob'
        ? blobField(prop, value, path, required, ctx)
        : stringField(prop, value, path, required, ctx);
    case 'array':
      return isSimpleList(prop)
        ? listField(prop, value, path, required, ctx)
        : jsonField(prop, value, path, required, ctx);
    case 'object':
      return prop.properties
        ? objectField(prop, value, path, required, ctx, false)
        : jsonField(prop, value, path, required, ctx);
    default:
      return jsonField(prop, value, path, required, ctx);
  }
}

/** Label, control, hint and error slot; registers the field so errors for its path land here. */
function wrap(prop, path, required, control, ctx, { extra, className = 'field' } = {}) {
  const id = idOf(path);
  control.id = id;
  const hintText = hintOf(prop);
  const hint = hintText ? h('p', { class: 'hint', id: `${id}-hint` }, withCode(hintText)) : undefined;
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  control.setAttribute('aria-describedby', [hint ? `${id}-hint` : '', `${id}-error`].join(' ').trim());
  const label = h(
    'label',
    { for: id },
    labelOf(String(path.at(-1))),
    required ? h('span', { class: 'required' }, ' (required)') : undefined,
  );
  const container =
    className === 'field-check'
      ? h('div', { class: className }, control, label, hint, error)
      : h('div', { class: className }, label, control, hint, extra, error);
  ctx.fields.set(path.join('.'), { container, control, error });
  return container;
}

function objectField(schema, value, path, required, ctx, top) {
  const requiredNames = new Set(schema.required ?? []);
  const children = Object.entries(schema.properties ?? {}).map(([name, prop]) => [
    name,
    fieldFor(prop, value?.[name], [...path, name], requiredNames.has(name), ctx),
  ]);
  const read = () => {
    const out = {};
    for (const [name, child] of children) {
      const v = child.read();
      if (v !== undefined) out[name] = v;
    }
    return Object.keys(out).length > 0 || required ? out : undefined;
  };
  const elementOf = ([, child]) => child.element;
  if (top) {
    // What the example fills in and what is required first; the other fields behind "More options".
    const first = children.filter(([name]) => requiredNames.has(name) || value?.[name] !== undefined);
    const more = first.length > 0 ? children.filter((entry) => !first.includes(entry)) : [];
    const shown = more.length > 0 ? first : children;
    return {
      element: h(
        'div',
        { class: 'fields' },
        shown.map(elementOf),
        more.length > 0
          ? h(
              'details',
              { class: 'more' },
              h('summary', {}, `More options (${more.length})`),
              more.map(elementOf),
            )
          : undefined,
      ),
      read,
    };
  }
  const id = idOf(path);
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  const hintText = hintOf(schema);
  const element = h(
    'fieldset',
    // Focusable, so that an error about the whole group can take the focus.
    { class: 'field-group', id, tabindex: -1, 'aria-describedby': `${id}-error` },
    h(
      'legend',
      {},
      labelOf(String(path.at(-1))),
      required ? h('span', { class: 'required' }, ' (required)') : ' (optional)',
    ),
    hintText ? h('p', { class: 'hint' }, withCode(hintText)) : undefined,
    error,
    children.map(elementOf),
  );
  ctx.fields.set(path.join('.'), { container: element, control: element, error });
  return { element, read };
}

function enumField(prop, value, path, required, ctx) {
  const current = value ?? '';
  const blank = prop.default !== undefined ? `Default (${prop.default})` : '—';
  const control = h(
    'select',
    { required },
    required && prop.default === undefined ? undefined : h('option', { value: '' }, blank),
    prop.enum.map((option) =>
      h('option', { value: String(option), selected: String(option) === String(current) }, String(option)),
    ),
  );
  return {
    element: wrap(prop, path, required, control, ctx),
    read: () => (control.value === '' ? undefined : prop.enum.find((o) => String(o) === control.value)),
  };
}

function booleanField(prop, value, path, required, ctx) {
  const control = h('input', { type: 'checkbox', checked: value ?? prop.default ?? false });
  const explicit = required || prop.default !== undefined;
  return {
    element: wrap(prop, path, required, control, ctx, { className: 'field-check' }),
    // Optional without a default: unchecked means "not given", not `false`.
    read: () => (explicit || control.checked ? control.checked : undefined),
  };
}

function numberField(prop, value, path, required, ctx) {
  const integer = prop.type === 'integer';
  const bound = (b) => (b !== undefined && Math.abs(b) < SAFE_INTEGER ? b : undefined);
  const control = h('input', {
    type: 'number',
    inputmode: integer ? 'numeric' : 'decimal',
    step: integer ? 1 : 'any',
    min: bound(prop.minimum),
    max: bound(prop.maximum),
    value: value ?? '',
    placeholder: prop.default,
    required,
  });
  return {
    element: wrap(prop, path, required, control, ctx),
    read: () => (control.value === '' ? undefined : Number(control.value)),
  };
}

function stringField(prop, value, path, required, ctx) {
  const control = h('input', {
    type: prop.format === 'uri' ? 'url' : 'text',
    maxlength: prop.maxLength,
    value: value ?? '',
    placeholder: prop.default,
    spellcheck: 'false',
    required,
  });
  return {
    element: wrap(prop, path, required, control, ctx),
    read: () => (control.value === '' ? undefined : control.value),
  };
}

function listField(prop, value, path, required, ctx) {
  const numeric = prop.items.type !== 'string';
  const control = h('textarea', { rows: 3, spellcheck: 'false', required }, (value ?? []).join('\n'));
  return {
    element: wrap(prop, path, required, control, ctx),
    read: () => {
      const items = control.value
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
      if (items.length === 0) return undefined;
      return numeric ? items.map(Number) : items;
    },
  };
}

function jsonField(prop, value, path, required, ctx) {
  const text = value === undefined ? '' : JSON.stringify(value, null, 2);
  const control = h('textarea', { rows: 4, class: 'json', spellcheck: 'false', required }, text);
  return {
    element: wrap(
      { ...prop, description: `${prop.description ?? ''} (JSON)`.trim() },
      path,
      required,
      control,
      ctx,
    ),
    read: () => {
      if (control.value.trim() === '') return undefined;
      try {
        return JSON.parse(control.value);
      } catch {
        ctx.readErrors.push({ path: path.join('.'), message: 'is not valid JSON' });
        return undefined;
      }
    },
  };
}

/**
 * A blob reference, filled in by uploading a file straight to Blob storage, with a progress bar. The type's example
 * names a file only as an illustration: the field starts empty (with the example as its placeholder), so a submit
 * without choosing a file is refused here, not by a task that fails on a file that is not there.
 */
function blobField(prop, value, path, required, ctx) {
  const control = h('input', {
    type: 'text',
    value: '',
    placeholder: value ? `e.g. ${value} (choose a file below)` : 'uploads/…',
    spellcheck: 'false',
    required,
  });
  const fileId = `${idOf(path)}-file`;
  const file = h('input', { type: 'file', id: fileId, accept: '.csv,.tsv,.txt,text/csv,text/plain' });
  const bar = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const status = h('span', { class: 'upload-status', role: 'status' });
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    const field = ctx.fields.get(path.join('.'));
    field.error.textContent = '';
    field.control.removeAttribute('aria-invalid');
    ctx.uploads++;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = `Uploading ${chosen.name}…`;
    try {
      control.value = await uploadFile(chosen, (fraction) => (bar.value = Math.round(fraction * 100)));
      status.textContent = `Uploaded ${chosen.name} (${formatBytes(chosen.size)}).`;
    } catch (err) {
      bar.hidden = true;
      status.textContent = '';
      const problems = err.fieldErrors?.map((e) => `${e.path}: ${e.message}`) ?? [];
      ctx.setError(path, problems.length ? `Upload refused: ${problems.join('; ')}` : err.message);
    } finally {
      ctx.uploads--;
    }
  });
  const extra = h(
    'div',
    { class: 'upload' },
    h('label', { for: fileId }, 'Or upload a file'),
    file,
    bar,
    status,
  );
  return {
    element: wrap(prop, path, required, control, ctx, { extra }),
    read: () => (control.value === '' ? undefined : control.value),
  };
}

function formatBytes(bytes) {
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
