// Keyboard navigation shared by every list: `/` focuses the page's search, `j`/`k` move a
// highlight through the rows of the list on screen, Enter opens the highlighted row. Lists
// opt in by marking rows `data-kb-row="<stable key>"` (and search inputs `data-kb-search`);
// this module works on the DOM, so a virtualised table (only the rows on screen exist)
// needs nothing more: moving past the last rendered row scrolls it, which renders the next.
// Drawers and modals close on Esc by themselves (Mantine); the app shell closes its own menu.

export const KB_ROW = 'data-kb-row';
export const KB_ACTIVE = 'data-kb-active';
export const KB_SEARCH = 'data-kb-search';

/** Keys are ignored while the user types in a field, or with a modifier held. */
export function isTypingTarget(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  if (t.isContentEditable) return true;
  const tag = t.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (t as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
  }
  return false;
}

function rows(root: ParentNode): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(`[${KB_ROW}]`));
}

/** The highlighted row's key, and the page it was highlighted on. The highlight is an
 * attribute on a DOM element, which a list rendered again from scratch (a refetch that
 * remounts it, a live update) loses: the key finds the same row again. Another page starts
 * afresh. */
let remembered: { key: string; path: string } | null = null;

/** Forgets the highlight (Esc): the next j starts from the top again. */
export function forgetRow(root: ParentNode = document): void {
  remembered = null;
  for (const el of root.querySelectorAll(`[${KB_ACTIVE}]`)) el.removeAttribute(KB_ACTIVE);
}

/** The row highlighted now: the marked one, or the one of the remembered key once the list
 * was rendered again (marked anew). */
export function activeRow(root: ParentNode = document): HTMLElement | null {
  const marked = root.querySelector<HTMLElement>(`[${KB_ROW}][${KB_ACTIVE}]`);
  if (marked || !remembered || remembered.path !== window.location.pathname) return marked;
  const key = remembered.key.replace(/["\\]/g, '\\$&');
  const again = root.querySelector<HTMLElement>(`[${KB_ROW}="${key}"]`);
  again?.setAttribute(KB_ACTIVE, 'true');
  return again;
}

/** Moves the highlight `step` rows (1 = j, -1 = k); the first press highlights the first
 * row. Returns the newly highlighted row. */
export function moveRow(step: number, root: ParentNode = document): HTMLElement | null {
  const all = rows(root);
  if (all.length === 0) return null;
  const cur = activeRow(root);
  let i = cur ? all.indexOf(cur) + step : step > 0 ? 0 : all.length - 1;
  i = Math.max(0, Math.min(all.length - 1, i));
  const next = all[i]!;
  if (cur && cur !== next) cur.removeAttribute(KB_ACTIVE);
  next.setAttribute(KB_ACTIVE, 'true');
  remembered = { key: next.getAttribute(KB_ROW) ?? '', path: window.location.pathname };
  next.scrollIntoView?.({ block: 'nearest' });
  return next;
}

/** Enter: follows the highlighted row's first link, or clicks the row. */
export function openRow(root: ParentNode = document): boolean {
  const cur = activeRow(root);
  if (!cur) return false;
  const link = cur.matches('a[href]') ? cur : cur.querySelector<HTMLElement>('a[href]');
  (link ?? cur).click();
  return true;
}

/** `/`: focuses the page's search input; false when the page has none. */
export function focusSearch(root: ParentNode = document): boolean {
  const el = root.querySelector<HTMLElement>(`[${KB_SEARCH}]`);
  if (!el) return false;
  el.focus();
  if (el instanceof HTMLInputElement) el.select();
  return true;
}

export const SHORTCUTS: ReadonlyArray<{ keys: string; what: string }> = [
  { keys: '/', what: 'focus the search of the page' },
  { keys: 'j / k', what: 'next / previous row of the list' },
  { keys: 'Enter', what: 'open the highlighted row' },
  { keys: 'Esc', what: 'close a drawer, dialog or the menu; clear the highlighted row' },
  { keys: '?', what: 'this help' },
];
