/** The French catalogue: every word the UIs show, one file per UI. */
export { FR as PORTAL, type Strings as PortalStrings } from './portal.js';
export { STRINGS as VIEWER } from './viewer.js';
export { SETUP } from './setup.js';
export { PROBES } from './probes.js';
export { KEYBOARD } from './keyboard.js';
export { STATUS } from './status.js';
