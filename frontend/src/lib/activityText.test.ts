import { describe, expect, it } from 'vitest';
import { activityLine } from './activityText';

describe('activityLine', () => {
  it('says what happened to a run, by its name', () => {
    expect(activityLine({ type: 'run.created', run: 'abc', data: { id: 'abc', name: 'etl', status: 'queued', queue: 'gpu' } })).toEqual({
      subject: '“etl”',
      text: 'queued on gpu',
      status: 'queued',
    });
    expect(activityLine({ type: 'run.updated', run: 'abc', data: { name: 'etl', status: 'running', latest_attempt: { seq: 2 } } }).text).toBe(
      'started (attempt 2)',
    );
    expect(
      activityLine({ type: 'run.updated', run: 'abc', data: { name: 'etl', status: 'failed', error: { type: 'OOM', message: 'out of memory' } } }),
    ).toMatchObject({ subject: '“etl”', text: 'failed: out of memory', status: 'failed' });
    expect(activityLine({ type: 'run.updated', run: 'abc', data: { name: 'etl', status: 'cancelled' } }).text).toBe('was cancelled');
  });
  it('names a run without a name by its kind, else its short id', () => {
    expect(activityLine({ type: 'run.updated', run: 'abcdef0123', data: { kind: 'train', status: 'succeeded' } }).subject).toBe('a train run');
    expect(activityLine({ type: 'run.updated', run: 'abcdef0123', data: { status: 'succeeded' } }).subject).toBe('run abcdef01');
  });
  it('names the run of an event batch from what the page has seen', () => {
    const names = (id: string) => (id === 'r1' ? { name: 'sweep-7' } : undefined);
    expect(activityLine({ type: 'run.event', run: 'r1', data: { count: 1, level: 'error', message: 'disk full' } }, names)).toEqual({
      subject: '“sweep-7”',
      text: 'logged error: disk full',
    });
    expect(activityLine({ type: 'run.event', run: 'r2xxxxxxxx', data: { count: 3 } }, names)).toEqual({
      subject: 'run r2xxxxxx',
      text: 'logged 3 events',
    });
  });
  it('says what a worker did', () => {
    expect(activityLine({ type: 'worker.updated', data: { name: 'gpu-3', status: 'draining' } })).toMatchObject({
      subject: 'worker gpu-3',
      text: 'is draining',
    });
    expect(activityLine({ type: 'worker.event', data: { worker_name: 'gpu-3', count: 1, message: 'disk 91% full' } }).text).toBe(
      'logged disk 91% full',
    );
  });
  it('never prints a bare RUN.EVENT and id', () => {
    const l = activityLine({ type: 'run.event', run: 'abcdef0123456', data: { count: 2 } });
    expect(`${l.subject} ${l.text}`).not.toMatch(/run\.event/i);
  });
});
