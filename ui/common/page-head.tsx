import type { FC } from 'hono/jsx';

/**
 * The `<head>` of every server-rendered page (portal, setup, status): UTF-8, the viewport, the title, and the page's
 * own style sheets and scripts, served by the box. No CDN, no inline script or style (the CSP forbids them).
 */
export const PageHead: FC<{ title: string; styles: string[]; scripts: string[] }> = ({ title, styles, scripts }) => (
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>{title}</title>
    {styles.map((href) => (
      <link rel="stylesheet" href={href} />
    ))}
    {scripts.map((src) => (
      <script src={src} defer></script>
    ))}
  </head>
);
