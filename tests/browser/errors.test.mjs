// The page's plain-words explanations, checked without a browser:
// node --test tests/browser/errors.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  explainTwilioError,
  explainTokenFailure,
  insecurePage,
  sdkMissing,
} from '../../public/js/errors.js';

test('53000 and 20101 name the key region and show the server region', () => {
  for (const code of [53000, 20101]) {
    const eu = explainTwilioError({ code }, { region: 'ie1', edge: 'dublin' });
    assert.equal(eu.code, code);
    assert.match(eu.title, new RegExp(String(code)));
    assert.match(eu.explanation, /region ie1 \(TWILIO_VOICE_REGION\)/);
    assert.match(eu.explanation, /edge "dublin"/);
    assert.match(eu.fix, /TWILIO_VOICE_REGION/);
    assert.match(eu.fix, /TWILIO_API_KEY/);

    const us = explainTwilioError({ code }, { region: null, edge: 'roaming' });
    assert.match(us.explanation, /us1, Twilio's default \(TWILIO_VOICE_REGION is not set\)/);
  }
});

test('20104 is an expired token, 31401 the microphone', () => {
  const expired = explainTwilioError({ code: 20104 });
  assert.match(expired.title, /expired/);
  assert.match(expired.fix, /clock/);
  const mic = explainTwilioError({ code: 31401 });
  assert.match(mic.title, /microphone/);
  assert.match(mic.fix, /Allow the microphone/);
});

test('a connection failure while registering means Twilio cannot be reached', () => {
  const down = explainTwilioError({ code: 31005 }, { edge: 'sydney', registering: true });
  assert.match(down.title, /Cannot reach Twilio/);
  assert.match(down.explanation, /wss:\/\/voice-js\.sydney\.twilio\.com\/signal/);
  const during = explainTwilioError({ code: 31005 }, { registering: false });
  assert.doesNotMatch(during.title, /Cannot reach/);
});

test('unknown codes still say something and link the docs', () => {
  const other = explainTwilioError({ code: 31486, message: 'Busy Here' });
  assert.match(other.title, /31486/);
  assert.equal(other.explanation, 'Busy Here');
  assert.match(other.fix, /twilio\.com\/docs\/api\/errors\/31486/);
  const nothing = explainTwilioError(undefined);
  assert.equal(nothing.code, null);
});

test('token failures say which setting to change', () => {
  const unset = explainTokenFailure(503, { error: 'x', missing: ['TWILIO_API_KEY', 'TWILIO_API_SECRET'] });
  assert.match(unset.explanation, /TWILIO_API_KEY, TWILIO_API_SECRET are not set/);
  assert.match(unset.fix, /Simulate/);
  assert.match(explainTokenFailure(401, {}).fix, /TOKEN_AUTH_BEARER/);
  assert.match(explainTokenFailure(401, {}).fix, /\?key= printed in the server's log/);
  assert.match(explainTokenFailure(403, {}).fix, /TOKEN_IDENTITY_ALLOW/);
  assert.match(explainTokenFailure(429, { retry_after: 7 }).fix, /Wait 7 seconds/);
  assert.match(explainTokenFailure(0, null).title, /did not answer/);
});

test('an insecure page and a missing SDK say what to do', () => {
  const insecure = insecurePage('http://192.0.2.10:3000');
  assert.match(insecure.title, /https or localhost/);
  assert.match(insecure.explanation, /http:\/\/192\.0\.2\.10:3000/);
  assert.match(sdkMissing().fix, /npm ci/);
  assert.equal(sdkMissing('Run npm ci here.').fix, 'Run npm ci here.');
});
