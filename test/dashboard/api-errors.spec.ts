import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, describeError, NetworkError } from '../../api/src/dashboard/web/src/api-errors';

describe('dashboard banner wording for API errors', () => {
  it('tells a spent request budget (429 RATE_LIMITED) apart from failed sign-ins (429 TOO_MANY_REQUESTS)', () => {
    const budget = describeError(new ApiError(429, 'RATE_LIMITED', 'rate limit of this key reached; retry after 4 s'));
    assert.match(budget, /request budget/);
    assert.match(budget, /retry after 4 s/, 'the API message, which says when to retry, is shown');
    assert.doesNotMatch(budget, /attempts/);
    const signIns = describeError(new ApiError(429, 'TOO_MANY_REQUESTS', 'too many failed authentications'));
    assert.match(signIns, /Too many attempts/);
  });

  it('names the key problem on 401 and 403, and passes other errors through', () => {
    assert.match(describeError(new ApiError(401, 'UNAUTHORIZED', 'bad key')), /not accepted/);
    assert.match(describeError(new ApiError(403, 'FORBIDDEN', 'scope')), /may not read studies/);
    assert.equal(
      describeError(new ApiError(500, 'INTERNAL_ERROR', 'boom')),
      'The API answered 500 INTERNAL_ERROR: boom',
    );
    assert.equal(describeError(new NetworkError('Cannot reach the API')), 'Cannot reach the API');
  });
});
