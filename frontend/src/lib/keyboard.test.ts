import { afterEach, describe, expect, it, vi } from 'vitest';
import { activeRow, focusSearch, forgetRow, isTypingTarget, moveRow, openRow } from './keyboard';

afterEach(() => {
  forgetRow();
  document.body.innerHTML = '';
});

function list(n: number) {
  document.body.innerHTML =
    '<input data-kb-search id="s" />' +
    Array.from({ length: n }, (_, i) => `<div data-kb-row="r${i}"><a href="#r${i}">run ${i}</a></div>`).join('');
}

describe('keyboard lists', () => {
  it('j/k move a highlight through the rows, stopping at the ends', () => {
    list(3);
    expect(moveRow(1)?.getAttribute('data-kb-row')).toBe('r0');
    expect(moveRow(1)?.getAttribute('data-kb-row')).toBe('r1');
    expect(moveRow(1)?.getAttribute('data-kb-row')).toBe('r2');
    expect(moveRow(1)?.getAttribute('data-kb-row')).toBe('r2');
    expect(moveRow(-1)?.getAttribute('data-kb-row')).toBe('r1');
    expect(document.querySelectorAll('[data-kb-active]')).toHaveLength(1);
  });
  it('k first highlights the last row; no rows, no highlight', () => {
    list(3);
    expect(moveRow(-1)?.getAttribute('data-kb-row')).toBe('r2');
    document.body.innerHTML = '';
    expect(moveRow(1)).toBeNull();
    expect(openRow()).toBe(false);
  });
  it('a list rendered again from scratch keeps its highlight, by key; Esc forgets it', () => {
    list(3);
    moveRow(1);
    moveRow(1);
    list(3); // the same rows, new elements: the attribute is gone
    expect(document.querySelector('[data-kb-active]')).toBeNull();
    expect(activeRow()?.getAttribute('data-kb-row')).toBe('r1');
    expect(moveRow(1)?.getAttribute('data-kb-row')).toBe('r2');
    forgetRow();
    expect(activeRow()).toBeNull();
    expect(moveRow(1)?.getAttribute('data-kb-row')).toBe('r0');
  });
  it("Enter follows the highlighted row's link", () => {
    list(2);
    moveRow(1);
    moveRow(1);
    const clicked = vi.fn((e: Event) => e.preventDefault());
    activeRow()!.querySelector('a')!.addEventListener('click', clicked);
    expect(openRow()).toBe(true);
    expect(clicked).toHaveBeenCalledTimes(1);
  });
  it('/ focuses the search; typing in a field is not a shortcut', () => {
    list(1);
    expect(focusSearch()).toBe(true);
    expect(document.activeElement?.id).toBe('s');
    expect(isTypingTarget(document.activeElement)).toBe(true);
    const box = document.createElement('input');
    box.type = 'checkbox';
    expect(isTypingTarget(box)).toBe(false);
    expect(isTypingTarget(document.body)).toBe(false);
  });
});
