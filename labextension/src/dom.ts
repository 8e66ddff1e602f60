/**
 * Small DOM and formatting helpers shared by the side panel's sections.
 */

/** An element with attributes (null/undefined ones are left out) and children. */
export function el(
  tag: string,
  attrs: { [k: string]: string | null | undefined } = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) {
      continue;
    }
    if (k === 'class') {
      node.className = v;
    } else {
      node.setAttribute(k, v);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined) {
      continue;
    }
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** A value as display text (null for null/undefined; objects as JSON). */
export function str(v: unknown): string | null {
  if (v === null || v === undefined) {
    return null;
  }
  if (typeof v === 'string') {
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    return String(v);
  }
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** A metric for display: four significant digits, integers and large values as they are. */
export function fmtNumber(v: unknown): string | null {
  if (typeof v === 'number' && isFinite(v)) {
    return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toPrecision(4);
  }
  return str(v);
}
