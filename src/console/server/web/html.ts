/**
 * Safe HTML building for the web view. Everything shown comes from customer clouds (names, labels,
 * image references), so the only way to put text into a page is the `html` tag, which escapes every
 * interpolated value unless it is already `SafeHtml` (built by this tag). `&`, `<`, `>`, `"` and `'`
 * are escaped, so values are safe in element content and in quoted attributes alike.
 */

/** HTML that was built by `html` (its interpolations escaped); only it is inserted unescaped. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

type HtmlValue = SafeHtml | string | number | undefined | null | false | HtmlValue[];

function render(value: HtmlValue): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: `html\`<td>${name}</td>\`` escapes `name`; nested `html` results pass through. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}
