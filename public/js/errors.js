// Plain-words explanations of what can go wrong on the page, each with the fix.
//
// Pure functions: no DOM, so Node's test runner checks them directly
// (tests/browser/errors.test.mjs). A problem is {code, title, explanation, fix}.

/** Twilio's docs page for an error code. */
export const errorDocs = (code) => `https://www.twilio.com/docs/api/errors/${code}`;

/** "us1" and where it comes from, for messages about the token's region. */
export function describeRegion(region) {
  return region
    ? `${region} (TWILIO_VOICE_REGION)`
    : "us1, Twilio's default (TWILIO_VOICE_REGION is not set)";
}

/** The signaling server the SDK connects to for an edge. */
export const signalingUrl = (edge) => `wss://voice-js.${edge || 'roaming'}.twilio.com/signal`;

/**
 * A Twilio Voice SDK error, explained.
 * ctx: {region, edge, registering} where region and edge are from the token
 * answer and registering says the Device was still connecting.
 */
export function explainTwilioError(error, ctx = {}) {
  const code = Number(error && error.code);
  const region = describeRegion(ctx.region);
  const edge = ctx.edge || 'roaming';
  const keyAndRegion =
    `This server issues tokens for region ${region} and connects to edge "${edge}". ` +
    'An API key works only in the region it was created in.';
  const regionFix =
    'Create the API key (TWILIO_API_KEY, TWILIO_API_SECRET) in that region of the Twilio Console, ' +
    "or set TWILIO_VOICE_REGION to the region your key belongs to; restart callflow and go online again.";
  switch (code) {
    case 53000:
      return {
        code,
        title: 'Twilio closed the signaling connection (53000)',
        explanation:
          `Most often the API key was made in another region than the token says. ${keyAndRegion}`,
        fix: `${regionFix} If the region is right, check that this browser can reach ${signalingUrl(edge)} (firewall, proxy or VPN).`,
      };
    case 20101:
    case 20151:
    case 31202:
    case 31204:
      return {
        code,
        title: `Twilio did not accept the access token (${code})`,
        explanation:
          'The token is signed with an API key Twilio does not accept here: the key was made in another region, ' +
          `its secret is wrong, or it belongs to another account than TWILIO_ACCOUNT_SID. ${keyAndRegion}`,
        fix: `${regionFix} Check that TWILIO_ACCOUNT_SID, TWILIO_API_KEY and TWILIO_API_SECRET belong to the same account.`,
      };
    case 20104:
    case 31205:
      return {
        code,
        title: `The access token has expired (${code})`,
        explanation:
          'Twilio received a token past its expiry time. The page renews the token before it expires, ' +
          "so this usually means the server's clock is wrong or this computer slept through the renewal.",
        fix: "Check the server's clock (it must be set by NTP), then press Go online again.",
      };
    case 31207:
      return {
        code,
        title: 'The access token lives too long (31207)',
        explanation: 'Twilio refuses tokens valid for more than 24 hours.',
        fix: 'Set TWILIO_TOKEN_TTL to 86400 or less, restart callflow and go online again.',
      };
    case 31401:
      return {
        code,
        title: 'The browser blocked the microphone (31401)',
        explanation: 'A call needs the microphone, and this page was not allowed to use it.',
        fix:
          'Allow the microphone for this site (click the icon at the left of the address bar), check the ' +
          "system's privacy settings let the browser use it, then call again.",
      };
    case 31402:
      return {
        code,
        title: 'No microphone could be opened (31402)',
        explanation: 'The browser may use the microphone, but none is connected or another program holds it.',
        fix: 'Connect a microphone or close the program using it, then call again.',
      };
    case 31001:
      return {
        code,
        title: 'Twilio cannot find the TwiML App (31001)',
        explanation: 'The token names a TwiML App that does not exist in this account.',
        fix: 'Set TWILIO_TWIML_APP_SID to the SID (AP…) of a TwiML App of TWILIO_ACCOUNT_SID and restart callflow.',
      };
    case 31404:
      return {
        code,
        title: 'The TwiML App has no Voice URL (31404)',
        explanation: 'Twilio does not know where to fetch TwiML for browser calls.',
        fix: "In the Twilio Console, set the TwiML App's Voice URL to https://<this server's public address>/voice.",
      };
    case 31000:
    case 31005:
    case 31009:
    case 53001:
      if (ctx.registering) {
        return {
          code,
          title: `Cannot reach Twilio (${code})`,
          explanation:
            `The browser could not open the signaling connection to ${signalingUrl(edge)}. ` +
            'This computer may be offline, or a firewall, proxy or VPN blocks WebSocket connections to twilio.com.',
          fix:
            'Check that this computer reaches twilio.com, then press Go online again. ' +
            'Simulated calls work without Twilio.',
        };
      }
      return {
        code,
        title: `The connection to Twilio broke (${code})`,
        explanation: 'The call lost its connection to Twilio.',
        fix: `Check the network and call again. Details: ${errorDocs(code)}`,
      };
    default:
      return {
        code: Number.isFinite(code) ? code : null,
        title: `Twilio error${Number.isFinite(code) ? ` ${code}` : ''}`,
        explanation: (error && (error.explanation || error.message)) || 'Twilio reported an error.',
        fix: Number.isFinite(code) ? `See ${errorDocs(code)}` : 'See the event log for details.',
      };
  }
}

/** Why `GET /voice/token` did not give a token. */
export function explainTokenFailure(status, body) {
  const said = body && typeof body.error === 'string' ? body.error : '';
  switch (status) {
    case 0:
      return {
        code: null,
        title: 'The callflow server did not answer',
        explanation: 'The token request did not reach the server.',
        fix: 'Check that callflow is running, then go online again.',
      };
    case 503: {
      const missing = body && Array.isArray(body.missing) ? body.missing : [];
      return {
        code: 503,
        title: 'Real calls are not set up on this server',
        explanation: missing.length
          ? `The server has no Twilio credentials for browser calls: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set.`
          : said || 'The server cannot issue tokens.',
        fix: 'Set the Twilio variables (see the README, "Browser tokens"), restart callflow, or use Simulate, which needs no Twilio account.',
      };
    }
    case 401:
      return {
        code: 401,
        title: 'The token endpoint wants a key',
        explanation: said || 'This server gives tokens only to a browser with its admin key, or to a frontend with its token secret.',
        fix:
          "Open this page through the link with ?key= printed in the server's log (the admin key lets the page get tokens), " +
          'or paste the value of TOKEN_AUTH_BEARER into "Token secret" (under Token settings), then go online again.',
      };
    case 403:
      return {
        code: 403,
        title: 'This identity may not get a token',
        explanation: said || 'The server refused the identity.',
        fix: 'Use an identity that TOKEN_IDENTITY_ALLOW lets in, or leave Identity empty.',
      };
    case 400:
      return {
        code: 400,
        title: 'The identity is not valid',
        explanation: said || 'The server refused the request.',
        fix: 'Use 1 to 121 letters, digits or _ for the identity, or leave it empty.',
      };
    case 429: {
      const wait = body && body.retry_after ? ` Wait ${body.retry_after} seconds.` : '';
      return {
        code: 429,
        title: 'Too many token requests',
        explanation: said || 'The server limits token requests per client (TOKEN_RATE_LIMIT).',
        fix: `Try again shortly.${wait}`,
      };
    }
    default:
      return {
        code: status,
        title: `The token request failed (HTTP ${status})`,
        explanation: said || 'The server could not issue a token.',
        fix: "Look at the callflow server's log.",
      };
  }
}

/** Browsers give the microphone only to https pages and localhost. */
export function insecurePage(origin) {
  return {
    code: null,
    title: 'This page is not served over https or localhost',
    explanation: `Browsers let only secure pages use the microphone, and ${origin} is plain http on another host.`,
    fix:
      'Open the page as http://localhost:3000/voice-client.html on the machine running callflow, ' +
      'or through an https address (a tunnel such as ngrok, or a proxy with a certificate).',
  };
}

/** The server has no SDK to give. */
export function sdkMissing(fix) {
  return {
    code: null,
    title: 'The Twilio Voice SDK is not installed',
    explanation: 'Real calls need the SDK from the npm package @twilio/voice-sdk, which the server serves to this page.',
    fix: fix || 'Run `npm ci` in the callflow folder, then reload this page. Simulated calls work without it.',
  };
}
