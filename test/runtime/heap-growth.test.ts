import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT_ENV, applyHeapGrowth } from '../../src/runtime/heap-growth.js';

describe('SIGHTLINE_HEAP_GROWING_PERCENT', () => {
  it('is applied when it is a whole number from 1 to 400', () => {
    expect(applyHeapGrowth({ [HEAP_GROWING_PERCENT_ENV]: '25' })).toEqual({ applied: 25 });
    expect(applyHeapGrowth({ [HEAP_GROWING_PERCENT_ENV]: ' 400 ' })).toEqual({ applied: 400 });
  });

  it('leaves V8 alone when it is not set', () => {
    expect(applyHeapGrowth({})).toBeUndefined();
    expect(applyHeapGrowth({ [HEAP_GROWING_PERCENT_ENV]: '' })).toBeUndefined();
  });

  it.each(['0', '401', '12.5', 'lots', '-3', '25%'])('refuses %j, saying what it expects', (raw) => {
    expect(applyHeapGrowth({ [HEAP_GROWING_PERCENT_ENV]: raw })).toEqual({
      invalid: `SIGHTLINE_HEAP_GROWING_PERCENT must be a whole number from 1 to 400, got "${raw}"`,
    });
  });
});
