import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';

/**
 * A browser context whose pages report into `refused` what Chromium refused to load or run because of their Content
 * Security Policy: it says so on the console ("Refused to … because it violates the following Content Security Policy
 * directive"). A test that expects the list empty at its end fails on a script, style or image the policy forgot.
 */
export async function cspWatchedContext(browser: Browser, options: BrowserContextOptions, refused: string[]): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  const watch = (page: Page) =>
    page.on('console', (message) => {
      if (message.type() === 'error' && message.text().includes('Content Security Policy')) refused.push(`${page.url()}: ${message.text()}`);
    });
  context.on('page', watch);
  return context;
}
