import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen } from '@testing-library/react';
import { renderApp } from '../../test/render';
import type { Span } from '../../api/spans';
import { Waterfall } from './Waterfall';

const T = '0af7651916cd43dd8448eb211c80319c';
const s = (id: string, parent: string | null, a: number, b: number, extra: Partial<Span> = {}): Span => ({
  trace_id: T,
  span_id: id,
  parent_span_id: parent,
  name: 'span-' + id,
  kind: 1,
  start_time_unix_nano: String(1767225600000000000n + BigInt(a) * 1000000n),
  end_time_unix_nano: String(1767225600000000000n + BigInt(b) * 1000000n),
  status: { code: 0 },
  attributes: {},
  ...extra,
});

// jsdom lays nothing out: give every element a size, so the virtualiser sees a viewport.
const sizes = ['clientHeight', 'clientWidth', 'offsetHeight', 'offsetWidth'] as const;
const saved = sizes.map((k) => Object.getOwnPropertyDescriptor(HTMLElement.prototype, k));
beforeAll(() => {
  for (const k of sizes) Object.defineProperty(HTMLElement.prototype, k, { configurable: true, get: () => (k.endsWith('Height') ? 400 : 1000) });
});
afterAll(() => {
  sizes.forEach((k, i) => saved[i] && Object.defineProperty(HTMLElement.prototype, k, saved[i]!));
});

describe('Waterfall', () => {
  const spans = [
    s('root', null, 0, 200),
    s('llm', 'root', 10, 150, {
      attributes: {
        'gen_ai.request.model': { stringValue: 'gpt-4o-mini' },
        'gen_ai.usage.input_tokens': { intValue: '812' },
        'gen_ai.usage.output_tokens': { intValue: '64' },
      },
    }),
    s('tool', 'llm', 20, 40, { status: { code: 2, message: 'timeout' } }),
  ];
  it('nests rows, colours errors, shows LLM model and tokens and durations', () => {
    renderApp(<Waterfall spans={spans} onSelect={() => {}} height={400} />);
    const rows = screen.getAllByTestId('span-row');
    expect(rows.map((r) => [r.dataset.spanId, r.dataset.depth, r.dataset.status])).toEqual([
      ['root', '0', 'unset'],
      ['llm', '1', 'unset'],
      ['tool', '2', 'error'],
    ]);
    expect(screen.getByTestId('span-genai').textContent).toBe('gpt-4o-mini · 812→64 tok');
    expect(rows[0]!.querySelector('[data-testid=span-duration]')!.textContent).toBe('200ms');
  });
  it('collapses and expands a subtree, and selects a span', () => {
    const onSelect = vi.fn();
    renderApp(<Waterfall spans={spans} onSelect={onSelect} height={400} />);
    fireEvent.click(screen.getByRole('button', { name: 'collapse span-llm' }));
    expect(screen.getAllByTestId('span-row')).toHaveLength(2);
    fireEvent.click(screen.getByRole('button', { name: 'expand span-llm' }));
    expect(screen.getAllByTestId('span-row')).toHaveLength(3);
    fireEvent.click(screen.getAllByTestId('span-row')[2]!);
    expect(onSelect).toHaveBeenCalledWith(spans[2]);
  });
  it('puts only the rows on screen in the DOM', () => {
    const many = [s('r', null, 0, 5000)];
    for (let i = 0; i < 5000; i++) many.push(s('c' + i, 'r', i, i + 1));
    renderApp(<Waterfall spans={many} onSelect={() => {}} height={400} />);
    expect(screen.getByTestId('waterfall').dataset.rows).toBe('5001');
    expect(screen.getAllByTestId('span-row').length).toBeLessThan(100);
  });
});
