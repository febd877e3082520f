import './style.css';
import { ApiError, api, describeError, session } from './api';
import { fill, h } from './dom';
import { type Page, pollIntervalMs } from './page';
import { runnersPage } from './pages/runners';
import { signInPage } from './pages/sign-in';
import { studiesPage } from './pages/studies';
import { studyPage } from './pages/study';

const root = document.getElementById('app') as HTMLElement;
const banner = h('div', { id: 'banner', class: 'banner', role: 'alert', hidden: true });
const main = h('main');
const navLinks = { studies: h('a', { href: '#/' }, 'Studies'), runners: h('a', { href: '#/runners' }, 'Runners') };
const live = h('span', { class: 'live muted', id: 'live' });
const signOutButton = h('button', { type: 'button', class: 'link', onclick: () => signOut(null) }, 'Sign out');
/** The project switch: lists show one project (or all, for an admin key seeing several). */
const projectSwitch = h('select', {
  id: 'project',
  'aria-label': 'Project',
  onchange: () => {
    session.chooseProject(projectSwitch.value === '' ? null : projectSwitch.value);
    void render();
  },
});
const nav = h(
  'nav',
  {},
  h('a', { href: '#/', class: 'brand' }, 'meshtune'),
  navLinks.studies,
  navLinks.runners,
  h('span', { class: 'spacer' }),
  projectSwitch,
  live,
  signOutButton,
);

let current: Page | null = null;
let timer: number | undefined;
/** Bumped on every navigation, so a slow refresh of a page already left is ignored. */
let generation = 0;

function route(): { page: () => Page; tab: keyof typeof navLinks } {
  const path = window.location.hash.replace(/^#/, '') || '/';
  const study = /^\/studies\/([\w-]+)$/.exec(path);
  if (study !== null) return { page: () => studyPage(study[1]), tab: 'studies' };
  if (path === '/runners') return { page: runnersPage, tab: 'runners' };
  return { page: studiesPage, tab: 'studies' };
}

function showBanner(text: string | null): void {
  banner.hidden = text === null;
  fill(banner, text ?? '');
}

function stop(): void {
  generation += 1;
  window.clearTimeout(timer);
  current?.dispose();
  current = null;
}

function signOut(reason: string | null): void {
  stop();
  session.signOut();
  projectSwitch.dataset.loaded = 'false';
  showBanner(null);
  nav.hidden = true;
  fill(
    main,
    signInPage(() => void render(), reason),
  );
}

/** Refreshes the page now and again every poll interval, until the route changes. */
async function poll(page: Page, mine: number): Promise<void> {
  try {
    await page.refresh();
    if (mine !== generation) return;
    showBanner(null);
    const now = new Date();
    fill(live, `live · updated ${now.toLocaleTimeString()}`);
    document.body.dataset.refreshedAt = String(now.getTime());
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.isAuth) {
      signOut(describeError(error));
      return;
    }
    if (error instanceof ApiError && error.status === 404) {
      showBanner(`Not found: ${error.message}`);
      return;
    }
    showBanner(`Live updates interrupted, retrying: ${describeError(error)}`);
  }
  if (mine === generation) timer = window.setTimeout(() => void poll(page, mine), pollIntervalMs());
}

/** Fills the project switch from GET /v1/projects (once per sign-in); a key seeing one project gets it fixed. */
async function loadProjects(): Promise<void> {
  if (projectSwitch.dataset.loaded === 'true') return;
  try {
    const { items } = await api.projects();
    const options = items.map((project) => h('option', { value: project.id }, project.name));
    if (items.length > 1) options.unshift(h('option', { value: '' }, 'All projects'));
    fill(projectSwitch, ...options);
    const chosen = session.project();
    if (chosen !== null && !items.some((project) => project.id === chosen)) session.chooseProject(null);
    projectSwitch.value = session.project() ?? (items.length > 1 ? '' : (items[0]?.id ?? ''));
    projectSwitch.disabled = items.length <= 1;
    projectSwitch.dataset.loaded = 'true';
  } catch {
    // An older server without projects: no switch, lists as before.
    projectSwitch.hidden = true;
  }
}

async function render(): Promise<void> {
  stop();
  if (session.key() === null) {
    signOut(null);
    return;
  }
  nav.hidden = false;
  await loadProjects();
  const { page, tab } = route();
  for (const [name, link] of Object.entries(navLinks)) link.classList.toggle('active', name === tab);
  current = page();
  fill(main, current.element);
  await poll(current, generation);
}

root.append(h('header', { class: 'top' }, nav), banner, main);
window.addEventListener('hashchange', () => void render());
void render();
