/**
 * Every word the consumer portal shows (ui/portal), in the French catalogue (DESIGN.md: French first, all strings
 * together). Pages never carry literal text of their own; messages that come from the services (DMP, source box) are
 * already French. `{name}` placeholders are filled by the server, and by portail.js for live progress.
 */

export const FR = {
  appName: 'DRIMbox',
  portalTitle: 'Portail imagerie',
  skipToContent: 'Aller au contenu',

  // Login
  welcomeTitle: 'Consultation des examens d’imagerie partagés',
  welcomeText: 'Connectez-vous avec Pro Santé Connect (carte CPS ou e-CPS) pour rechercher les examens d’imagerie de vos patients dans le DMP.',
  loginButton: 'Se connecter avec Pro Santé Connect',
  logoutButton: 'Se déconnecter',
  logoutTitle: 'Déconnexion',
  logoutConfirm: 'Fermer votre session sur le portail ? Les examens ouverts ne seront plus accessibles depuis ce navigateur.',
  loggedInAs: 'Connecté :',
  loginFailedTitle: 'Connexion impossible',

  // CPS card at the box (touch screen) and from a workstation (TLS client certificate)
  cardLoginButton: 'Se connecter avec la carte CPS du boîtier',
  cardTitle: 'Connexion par carte CPS',
  cardInsert: 'Insérez votre carte CPS dans le lecteur du boîtier.',
  cardNotCps: 'Cette carte ne porte pas de certificat de professionnel de santé (carte CPS) : elle ne permet pas de se connecter.',
  cardHolder: 'Titulaire',
  cardNationalId: 'Identifiant national',
  cardProfession: 'Profession',
  cardPinLabel: 'Code PIN de la carte',
  cardPinHelp: 'Tapez votre code PIN sur le pavé ci-dessous. Il est vérifié par la carte et n’est jamais conservé.',
  cardPinClear: 'Effacer',
  cardPinSubmit: 'Valider',
  cardPinDigit: 'Chiffre {d}',
  cardWrongPin: 'Code PIN incorrect.',
  cardTriesLow: 'Attention : il reste peu d’essais avant le blocage de la carte.',
  cardFinalTry: 'Attention : dernier essai avant le blocage de la carte.',
  cardPinLocked: 'Le code PIN de cette carte est bloqué. Débloquez-la avec son code PUK (logiciel CPS-Gestion) ou demandez une nouvelle carte à l’ANS.',
  cardBoxLocked: 'Trop de codes PIN erronés : cette carte est refusée sur ce boîtier pendant {minutes} minutes.',
  cardPinFormat: 'Le code PIN d’une carte CPS comporte 4 à 8 chiffres.',
  cardRemoved: 'La carte a été retirée : réinsérez-la pour vous connecter.',
  cardUnreadable: 'La carte n’a pas pu être lue ({detail}). Retirez-la et réinsérez-la.',
  cardSessionNote: 'Retirer la carte ferme la session.',
  cardNoPscNote: 'Connexion par carte CPS : les images venant d’une autre DRIMbox demandent aussi une connexion Pro Santé Connect.',
  cpsCertTitle: 'Connexion par carte CPS (poste de travail)',
  cpsCertMissing: 'Aucun certificat de carte CPS n’a été présenté : insérez votre carte dans le lecteur du poste, puis rechargez cette page et choisissez le certificat d’authentification.',
  cpsCertRefused: 'Ce certificat n’est pas un certificat d’authentification de carte CPS reconnu par ce boîtier ({reason}).',

  // Contextual call onto an open session
  contextConfirmTitle: 'Ouvrir ce patient ?',
  contextConfirmText: 'Un logiciel demande d’ouvrir le dossier d’imagerie de ce patient dans votre session. Vérifiez l’identité et le consentement avant de rechercher ses examens dans le DMP.',
  contextConsent: 'Patient informé et consentant (selon le logiciel appelant)',
  contextConfirmButton: 'Ouvrir et rechercher dans le DMP',
  contextCancelButton: 'Annuler',
  yes: 'oui',
  no: 'non',

  // Home
  homeTitle: 'Accueil',
  searchTitle: 'Rechercher un patient par son INS',
  insLabel: 'Matricule INS (15 caractères)',
  insOidLabel: 'Type d’INS',
  searchButton: 'Rechercher dans le DMP',
  openedPatients: 'Patients ouverts dans cette session',
  noOpenedPatients: 'Aucun patient ouvert pour l’instant.',
  openedStudies: 'Examens récupérés dans cette session',
  recentJobs: 'Travaux en cours et récents',

  // Patient identity (référentiel INS: strict traits)
  identityTitle: 'Identité du patient (traits INS)',
  birthName: 'Nom de naissance',
  firstGivenName: 'Premier prénom de naissance',
  birthGivenNames: 'Prénom(s) de naissance',
  birthDate: 'Date de naissance',
  sex: 'Sexe',
  birthPlace: 'Lieu de naissance (code INSEE)',
  ins: 'INS',
  insOid: 'OID',
  localId: 'IPP local',
  traitsFromContext: 'Traits transmis par votre logiciel (appel contextuel).',
  traitsFromDmp: 'Traits issus des métadonnées du DMP.',
  traitsUnknown: 'Traits d’identité non disponibles : vérifiez l’identité du patient avant toute utilisation.',
  sexLabels: { M: 'Masculin', F: 'Féminin', I: 'Indéterminé', U: 'Inconnu' } as Record<string, string>,
  notProvided: 'non renseigné',

  // Exams
  examsTitle: 'Examens d’imagerie dans le DMP',
  noExams: 'Aucun examen d’imagerie disponible dans le DMP pour ce patient.',
  examDate: 'Date',
  examModality: 'Modalité',
  examRegion: 'Région',
  examDescription: 'Description',
  examFacility: 'Établissement producteur',
  examStatus: 'Statut',
  examAction: 'Action',
  openExam: 'Ouvrir',
  statusLabels: { Approved: 'Disponible', Deprecated: 'Remplacé', Other: 'Autre' } as Record<string, string>,
  dmpErrorTitle: 'Le DMP n’a pas pu être consulté',

  // Jobs
  retrieveTitle: 'Récupération des images',
  importTitle: 'Import dans le PACS',
  jobStates: { waiting: 'En attente', running: 'En cours', done: 'Terminé', failed: 'Échec', cancelled: 'Annulé' } as Record<string, string>,
  // Templates ({name} placeholders): filled by the server, and by portail.js for live progress.
  jobProgress: '{done} / {total} images',
  jobAlreadyCached: '{n} déjà dans le cache',
  jobTransferred: '{n} transférées',
  jobImported: '{n} importées',
  jobBytes: '{mb} Mo',
  jobFailed: '{n} en échec',
  jobSource: 'DRIMbox source',
  failuresTitle: 'Instances non traitées',
  resumeButton: 'Reprendre la récupération',
  viewButton: 'Ouvrir la visionneuse',
  /** Opens the viewer with another exam of the patient beside this one (synchronised scrolling). */
  compareButton: 'Comparer avec l’examen du {date}',
  backToPatient: 'Retour au patient',
  jobUnknown: 'Ce travail n’existe pas ou n’appartient pas à votre session.',

  // Study and import
  studyTitle: 'Examen',
  studyCached: '{present} image(s) sur {total} dans le cache local',
  importFormTitle: 'Importer l’examen dans le PACS du cabinet',
  coerceLabel: 'Remplacer l’identifiant patient par l’IPP local',
  localIdLabel: 'IPP local',
  localIdIssuerLabel: 'Émetteur de l’IPP',
  importButton: 'Importer dans le PACS',
  importReportTitle: 'Compte rendu d’import',

  // Errors
  errorTitle: 'Erreur',
  notFound: 'Page introuvable.',
  sessionRequired: 'Votre session a expiré ou n’existe pas : connectez-vous.',
  forbiddenOrigin: 'Requête refusée : elle ne vient pas du portail.',
  backHome: 'Retour à l’accueil',
  internalError: 'Erreur interne : l’incident est consigné dans le journal de la DRIMbox.',
  pscUnavailable: 'Pro Santé Connect ne répond pas : réessayez dans un instant.',
  patientNotOpened: 'Ce patient n’est pas ouvert dans votre session.',
  studyNotOpened: 'Cet examen n’est pas ouvert dans votre session.',
  badDocument: 'Document demandé invalide.',
  formTypeRequired: 'Type de contenu non pris en charge : application/x-www-form-urlencoded attendu.',
  formTooLarge: 'Corps de requête trop grand (plus de {max} octets).',
} as const;

export type Strings = typeof FR;
