/**
 * The dnsward console in the browser: login, then a hash-routed single page whose views are
 * filled from the REST API and kept current by the live stream. No framework, nothing from a CDN.
 */
import { api, ApiError, live, type Live, setCsrf } from './client.js';
import { clear, h } from './dom.js';
import { auditPage, configPage } from './page-admin.js';
import { feedsPage } from './page-feeds.js';
import { clientPage, domainPage, domainsPage, learningPage } from './page-entities.js';
import { OverviewPage } from './page-overview.js';
import { QueriesPage } from './page-queries.js';
import { statsPage } from './page-stats.js';
import { usersPage } from './page-users.js';
import { ThreatDetailPage } from './page-incident.js';
import { isTunnel, ThreatsPage } from './page-threats.js';
import type { Me, SecurityEvent, StatsSample } from './types.js';

const main = document.getElementById('main')!;
const header = document.querySelector<HTMLElement>('header.top')!;
let me: Me | null = null;
let stream: Live | null = null;
let overview: OverviewPage | null = null;
let threats: ThreatsPage | null = null;
let unseen = 0;
// Routes load asynchronously; only the latest one may draw, or a slow answer for a page the user
// already left (the login form's setup call, say) would paint over the page they are on.
let routeGeneration = 0;

function applyTheme(theme: string): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem('dnsward-theme', theme);
}
applyTheme(
  localStorage.getItem('dnsward-theme') ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
);
document
  .getElementById('theme')!
  .addEventListener('click', () => applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));
document.getElementById('logout')!.addEventListener('click', async () => {
  await api('/api/logout', 'POST').catch(() => undefined);
  stream?.close();
  me = null;
  setCsrf(null);
  location.hash = '#/login';
  void route();
});

function badge(): void {
  const b = document.getElementById('threat-count')!;
  b.hidden = unseen === 0;
  b.textContent = String(unseen);
}

function startLive(): void {
  stream?.close();
  const indicator = document.getElementById('live')!;
  stream = live(
    {
      security: (data) => {
        const e = data as SecurityEvent;
        if (isTunnel(e) && !location.hash.startsWith('#/threats')) {
          unseen++;
          badge();
        }
        threats?.onEvent(e);
      },
      stats: (data) => overview?.onStats(data as StatsSample),
    },
    (up) => indicator.classList.toggle('on', up),
  );
}

async function loginPage(generation: number): Promise<void> {
  header.hidden = true;
  // Drawing the form again would throw away what the user is typing into it.
  if (main.querySelector('form.login') !== null) return;
  const setup = await api<{ hasUsers: boolean; minPasswordLength: number }>('/api/setup');
  if (generation !== routeGeneration) return;
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const form = h(
    'form',
    {
      class: 'card login',
      'aria-label': 'Log in',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          const r = await api<Me>('/api/login', 'POST', { username: user.value, password: pass.value });
          me = r;
          setCsrf(r.csrfToken);
          // Setting the hash to what it already is fires no hashchange, so route by hand then.
          if (location.hash === '#/overview') await route();
          else location.hash = '#/overview';
        } catch (err) {
          error.textContent = err instanceof ApiError ? err.message : String(err);
          pass.select();
        }
      },
    },
    h('h1', {}, 'dnsward console'),
    setup.hasUsers
      ? null
      : h(
          'p',
          { class: 'muted', id: 'no-users' },
          'No console user exists yet. On the server, run ',
          h('code', {}, 'dnsward user add admin'),
          ' (or start dnsward with DNSWARD_ADMIN_PASSWORD set).',
        ),
    h('label', { for: 'username' }, 'User name'),
    user,
    h('label', { for: 'password' }, 'Password'),
    pass,
    error,
    h('p', {}, h('button', { type: 'submit', class: 'primary', id: 'login' }, 'Log in')),
  );
  clear(main, form);
  user.focus();
}

async function ensureSession(): Promise<boolean> {
  if (me !== null) return true;
  try {
    me = await api<Me>('/api/me');
    setCsrf(me.csrfToken);
    return true;
  } catch {
    return false;
  }
}

async function route(): Promise<void> {
  const generation = ++routeGeneration;
  const hash = location.hash || '#/overview';
  if (hash === '#/login' || !(await ensureSession())) {
    if (generation === routeGeneration) await loginPage(generation);
    return;
  }
  if (generation !== routeGeneration) return;
  header.hidden = false;
  document.getElementById('who')!.textContent = `${me!.user} (${me!.role})`;
  // Users & tokens are the admins' (the server refuses viewers anyway).
  document.querySelector<HTMLElement>('a[data-nav="users"]')!.hidden = me!.role !== 'admin';
  if (stream === null) startLive();
  const [path, query] = hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query ?? '');
  for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
    const current =
      a.dataset.nav === parts[0] ||
      (a.dataset.nav === 'threats' && parts[0] === 'threat') ||
      (a.dataset.nav === 'domains' && (parts[0] === 'domain' || parts[0] === 'client'));
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  overview = null;
  threats = null;
  // Each page draws into its own view, shown only if no newer route started meanwhile.
  const view = h('div', { class: 'view' });
  let nextOverview: OverviewPage | null = null;
  let nextThreats: ThreatsPage | null = null;
  try {
    switch (parts[0]) {
      case 'threats':
        nextThreats = new ThreatsPage(view, params);
        await nextThreats.load();
        break;
      case 'threat':
        await new ThreatDetailPage(view, me!).load(parts[1] ?? '');
        break;
      case 'domains':
        await domainsPage(view, params.get('q') ?? '');
        break;
      case 'domain':
        await domainPage(view, parts[1] ?? '');
        break;
      case 'client':
        await clientPage(view, parts[1] ?? '', me!);
        break;
      case 'queries':
        await new QueriesPage(view, params, me).load();
        break;
      case 'stats':
        await statsPage(view, params.get('range') ?? '24h');
        break;
      case 'learning':
        await learningPage(view, me!);
        break;
      case 'feeds':
        await feedsPage(view, me!);
        break;
      case 'users':
        await usersPage(view, me!);
        break;
      case 'audit':
        await auditPage(view, me!);
        break;
      case 'config':
        await configPage(view);
        break;
      default:
        nextOverview = new OverviewPage(view);
        await nextOverview.load();
    }
  } catch (err) {
    if (generation !== routeGeneration) return;
    if (err instanceof ApiError && err.status === 401) {
      me = null;
      await loginPage(generation);
      return;
    }
    clear(view, h('p', { class: 'error' }, String((err as Error).message)));
  }
  if (generation !== routeGeneration) return;
  if (nextThreats !== null) {
    unseen = 0;
    badge();
  }
  overview = nextOverview;
  threats = nextThreats;
  clear(main, view);
  // Focus moves to the page (or the field it asks for), so keyboard and screen-reader users land on it.
  (view.querySelector<HTMLElement>('[autofocus]') ?? main).focus({ preventScroll: true });
}

// Keyboard: "/" jumps to the domain search, "g" then a letter goes to a page.
let pendingG = false;
document.addEventListener('keydown', (ev) => {
  const target = ev.target as HTMLElement;
  if (target.closest('input, select, textarea') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === '/') {
    ev.preventDefault();
    location.hash = '#/domains';
  } else if (ev.key === 'g') pendingG = true;
  else if (pendingG) {
    pendingG = false;
    const to: Record<string, string> = {
      o: 'overview',
      t: 'threats',
      q: 'queries',
      s: 'stats',
      d: 'domains',
      l: 'learning',
      f: 'feeds',
      u: 'users',
      a: 'audit',
      c: 'config',
    };
    if (to[ev.key]) location.hash = `#/${to[ev.key]}`;
  }
});

window.addEventListener('hashchange', () => void route());
void route();
