import { describe, expect, it } from 'vitest';
import { MAX_PAGES_PER_LISTING, checkPageCount, nextPageToken } from '../../adapters/aws/paging.js';

describe('AWS NextToken paging guards', () => {
  it.each([
    ['no token: last page', 'a', undefined, undefined],
    ['null token: last page', 'a', null, undefined],
    ['empty token: last page', 'a', '', undefined],
    ['a new token is the next one', 'a', 'b', 'b'],
    ['a first token', undefined, 'b', 'b'],
  ])('%s', (_what, sent, received, expected) => {
    expect(nextPageToken('ListThings', sent, received)).toBe(expected);
  });

  it.each([
    ['the token it was sent', 'a', 'a', /same nextToken/],
    ['a token that is not a string', 'a', 42, /not a string/],
  ])('returning %s is an error naming the operation', (_what, sent, received, message) => {
    expect(() => nextPageToken('ListThings', sent, received)).toThrow(message);
    expect(() => nextPageToken('ListThings', sent, received)).toThrow(/ListThings/);
  });

  it('a loop may read MAX_PAGES_PER_LISTING pages, not one more', () => {
    expect(() => checkPageCount('ListThings', MAX_PAGES_PER_LISTING)).not.toThrow();
    expect(() => checkPageCount('ListThings', MAX_PAGES_PER_LISTING + 1)).toThrow(
      /ListThings kept returning/,
    );
  });
});
