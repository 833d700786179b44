/** The box's version, as the fleet sees it (device tag drimbox.version); equals package.json's (a unit test checks). */
export const BOX_VERSION = '0.1.0';
