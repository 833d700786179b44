/**
 * The consumer portal's server-rendered pages (hono/jsx components; words from ui/strings/portal.ts) and its static
 * files. Each page comes as a component (`<HomePage … />`) and as the call the routes make (`homePage(…)`), both JSX
 * for `c.html`.
 */
export { fill, frenchDate, frenchDateTime, megabytes } from './format.js';
export { Layout, type LayoutUser } from './layout.js';
export { IdentityBlock, ImportForm } from './parts.js';
export { ContextConfirmPage, contextConfirmPage, ErrorPage, errorPage, HomePage, homePage, LogoutPage, logoutPage, WelcomePage, welcomePage } from './pages.js';
export { PatientPage, patientPage, type ExamsOutcome } from './patient-page.js';
export { JobPage, jobPage, StudyPage, studyPage } from './job-pages.js';
export { CardPage, cardPage, cardStateSignature, type CardView } from './card-page.js';
export { loadPortalAssets, type PortalAsset } from './assets.js';
