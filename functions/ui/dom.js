/**
 * Builds an element: `h('a', { href: '#/', class: 'link' }, 'text', child)`. Children are appended as nodes or text,
 * never parsed as HTML, so server data cannot inject markup. `on<event>` attributes that are functions become
 * listeners; `false`, `null` and `undefined` attributes and children are left out.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
  return element;
}

/** A heading the view moves focus to, so screen readers announce the new page. */
export function focusHeading(root) {
  root.querySelector('h1')?.focus({ preventScroll: false });
}

/** Text with `backticked` parts as code, as task descriptions and schema descriptions write names. */
export function withCode(text) {
  return text.split('`').map((part, i) => (i % 2 === 1 ? h('code', {}, part) : part));
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An SVG element, as `h` builds HTML ones: geometry goes in attributes (`x`, `width`), never in `style`, so charts
 * need no inline styles and the page's Content-Security-Policy stays strict.
 */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) element.setAttribute(name, String(value));
  }
  element.append(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
  return element;
}
