import { describe, expect, it } from 'vitest';
import { unleanSpans } from './spans';

describe('unleanSpans', () => {
  it('gives each span the resource and scope its indexes name, shared, and drops the indexes', () => {
    const resources = [{ attributes: { 'service.name': { stringValue: 'a' } } }, { attributes: {} }];
    const scopes = [{ name: 's1', version: '1' }];
    const lean = [
      { span_id: '1', resource_index: 1, scope_index: 0 },
      { span_id: '2', resource_index: 0, scope_index: 0 },
      { span_id: '3', resource_index: 0, scope_index: 0 },
    ];
    const spans = unleanSpans(lean as any, { resources, scopes } as any);
    expect(spans.map((s) => s.resource)).toEqual([resources[1], resources[0], resources[0]]);
    expect(spans[1]!.resource).toBe(spans[2]!.resource);
    expect(spans[0]!.scope).toBe(scopes[0]);
    expect(spans[0]).not.toHaveProperty('resource_index');
    expect(spans[0]).not.toHaveProperty('scope_index');
  });

  it('leaves a full answer\'s spans as they came', () => {
    const full = [{ span_id: '1', resource: { attributes: {} }, scope: { name: 'x' } }];
    expect(unleanSpans(full as any, { resources: [], scopes: [] })[0]).toEqual(full[0]);
  });
});
