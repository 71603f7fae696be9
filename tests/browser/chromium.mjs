// Headless Chromium for the page's browser tests, launched the same way for each file.
import { before, after } from 'node:test';
import { mkdirSync } from 'node:fs';

/**
 * Launches the browser at `executablePath` before a file's tests, when they can run (`ready`),
 * and closes it after them; makes the `artifacts` folder for their screenshots. Returns a
 * function that gives the browser.
 */
export function chromiumForTests({ ready, executablePath, artifacts }) {
  let browser = null;
  before(async () => {
    if (!ready) return;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        // A name for this machine that is not localhost, to see the page as a
        // browser elsewhere would (the traffic still goes to loopback only).
        '--host-resolver-rules=MAP callflow.test 127.0.0.1',
      ],
    });
    mkdirSync(artifacts, { recursive: true });
  });
  after(async () => {
    if (browser) await browser.close();
  });
  return () => browser;
}
