/** The consumer portal's server-rendered pages (French), its words and its static files. */
export { FR, type Strings } from './strings.js';
export { esc, fill, layout, type LayoutUser } from './html.js';
export { contextConfirmPage, errorPage, homePage, importForm, identityBlock, jobPage, logoutPage, patientPage, studyPage, welcomePage } from './pages.js';
export { loadPortalAssets, type PortalAsset } from './assets.js';
export { cardPage, cardStateSignature, type CardView } from './card-page.js';
