// The office console in Debian's Chromium, against a real fieldbook-server
// fed by real signed device events: sign-in, lock-out, CSRF, role and team
// scope, every page (screenshots in build/console/, axe-core on each),
// enforcement with the warning reaching a device, safety alerts live with
// acknowledgement, revocation and shredding, CSV import with a bad row,
// an expired session, single sign-on, and scoped API keys.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TOKEN, freePort, tempDir, startServer, createAdmin, fixture, startProvider } from './harness.mjs';

const SHOTS = process.env.FIELDBOOK_SCREENSHOTS || path.resolve('../../build/console');
const GOVUK = process.env.FIELDBOOK_GOVUK_DIR || path.resolve('node_modules/govuk-frontend/dist/govuk');
const ADMIN_PASSWORD = 'admin-password-for-tests-1';
const PASSWORD = 'a-long-test-password-2';

let browser; let server; let provider; let base; let dir; let db; let data;
const shots = [];

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  shots.push(name);
}

async function axe(page, name) {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  const bad = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(bad, [], `axe-core found violations on ${name}`);
}

async function check(page, name) {
  await axe(page, name);
  await shot(page, name);
}

async function newPage() {
  const context = await browser.newContext({ baseURL: base });
  return context.newPage();
}

async function signIn(page, username, password) {
  await page.goto('/console/sign-in');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function createAccount(admin, { username, name, role, teams, password }) {
  await admin.goto('/console/accounts');
  const form = admin.locator('form[action="/console/accounts"]');
  await form.getByLabel('Username').fill(username);
  await form.getByLabel('Full name').fill(name);
  await form.getByLabel(role, { exact: true }).check();
  await form.getByLabel(/^Teams/).fill(teams);
  if (password) await form.getByLabel(/^Initial password/).fill(password);
  await form.getByRole('button', { name: 'Create the account' }).click();
  await admin.locator('#created').waitFor();
}

describe('the office console', () => {
  let admin;

  before(async () => {
    dir = tempDir();
    db = path.join(dir, 'office', 'office.db');
    fs.mkdirSync(path.dirname(db), { recursive: true, mode: 0o700 });
    const [port, idpPort] = [await freePort(), await freePort()];
    provider = await startProvider(idpPort);
    await createAdmin(db, 'admin', ADMIN_PASSWORD);
    server = await startServer({
      db,
      port,
      extra: ['--console-assets', GOVUK, '--oidc-issuer', provider.issuer, '--oidc-client-id', provider.clientId,
        '--oidc-redirect-url', `http://127.0.0.1:${port}/console/sign-in/oidc/callback`],
    });
    base = server.url;
    data = await fixture('setup', base, path.join(dir, 'devices'));
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    admin = await newPage();
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    await provider?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('signs in and shows the field day on Today', async () => {
    await admin.goto('/console/today');
    assert.match(admin.url(), /\/console\/sign-in/, 'not signed in: sent to sign in');
    await check(admin, '01-sign-in');
    await signIn(admin, 'admin', 'wrong-password-here');
    await admin.getByText('Enter a correct username and password').first().waitFor();
    await check(admin, '02-sign-in-error');
    await signIn(admin, 'admin', ADMIN_PASSWORD);
    await admin.waitForURL(/\/console\/today/);
    const main = admin.locator('main');
    await assert.doesNotReject(main.getByRole('heading', { name: /Riverside Park clean-up/ }).waitFor());
    const alex = main.getByRole('row', { name: /Alex Example/ });
    assert.match(await alex.innerText(), /ATTC/);
    assert.match(await alex.innerText(), /[23] h 00 min/, 'the credited minutes of the current version');
    assert.match(await main.getByRole('row', { name: /Sam Sample/ }).innerText(), /UACP/);
    assert.match(await main.getByRole('row', { name: /Jo Onsite/ }).innerText(), /On site/);
    assert.equal(await admin.locator('#devices tbody tr').count(), 5, 'five devices enrolled');
    await check(admin, '03-today');
  });

  test('administrators create accounts and scoped API keys; the shared token is one key', async () => {
    await createAccount(admin, { username: 'upw', name: 'Uma Manager', role: 'Unpaid work manager', teams: 'sup-ada', password: PASSWORD });
    await createAccount(admin, { username: 'om', name: 'Omar Manager', role: 'Offender manager', teams: 'po-ben', password: PASSWORD });
    await createAccount(admin, { username: 'monitor', name: 'Mo Monitor', role: 'Safety monitor', teams: 'po-ben, po-cat', password: PASSWORD });
    await createAccount(admin, { username: 'sso.user', name: 'Sol Single', role: 'Offender manager', teams: 'po-ben' });
    // A too-short password is refused and nothing is created.
    await admin.goto('/console/accounts');
    const form = admin.locator('form[action="/console/accounts"]');
    await form.getByLabel('Username').fill('shorty');
    await form.getByLabel('Full name').fill('Short Password');
    await form.getByLabel('Safety monitor', { exact: true }).check();
    await form.getByLabel(/^Teams/).fill('po-ben');
    await form.getByLabel(/^Initial password/).fill('short');
    await form.getByRole('button', { name: 'Create the account' }).click();
    await admin.getByText(/a password must be 12 to 200 characters/).first().waitFor();
    assert.equal(await admin.locator('#accounts').getByText('shorty').count(), 0);

    const keyForm = admin.locator('form[action="/console/api-keys"]');
    await keyForm.getByLabel(/^Name/).fill('reporting');
    await keyForm.getByLabel(/^Read attendance/).check();
    await keyForm.getByRole('button', { name: 'Create the key' }).click();
    const key = (await admin.locator('#new-key').innerText()).trim();
    assert.match(key, /^fbk_[0-9a-f]{16}_[0-9a-f]{64}$/);
    await check(admin, '04-accounts');
    const read = await fetch(`${base}/v1/office/attendance`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(read.status, 200, 'a read key reads');
    const write = await fetch(`${base}/v1/office/officers`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'x-1', name: 'X', role: 'supervisor' }) });
    assert.equal(write.status, 403, 'a read key does not write');
    const forged = await fetch(`${base}/v1/office/attendance`, { headers: { authorization: `Bearer ${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}` } });
    assert.equal(forged.status, 401);
    const shared = await fetch(`${base}/v1/office/attendance`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(shared.status, 200, 'the configured office token is a key with every scope');
    // Revoked: refused from then on.
    await admin.getByRole('button', { name: 'Revoke reporting' }).click();
    const after = await fetch(`${base}/v1/office/attendance`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(after.status, 401, 'a revoked key is refused');
  });

  test('five wrong passwords lock an account until an administrator unlocks it', async () => {
    const page = await newPage();
    for (let i = 0; i < 4; i += 1) {
      await signIn(page, 'om', `wrong-password-${i}`);
      await page.getByText('Enter a correct username and password').first().waitFor();
    }
    await signIn(page, 'om', 'wrong-password-4');
    await page.getByText(/This account is locked after 5 failed sign-in attempts/).first().waitFor();
    await shot(page, '05-locked-out');
    await signIn(page, 'om', PASSWORD);
    await page.getByText(/This account is locked/).first().waitFor();
    assert.match(page.url(), /sign-in/, 'even the right password is refused while locked');
    await admin.goto('/console/accounts');
    await admin.getByRole('button', { name: 'Unlock om' }).click();
    await signIn(page, 'om', PASSWORD);
    await page.waitForURL(/\/console\/today/);
    await page.context().close();
  });

  test('a form posted from another site, or without its token, is refused and changes nothing', async () => {
    const before = await admin.evaluate(() => document.cookie);
    assert.equal(before, '', 'the session cookie is HttpOnly: scripts cannot read it');
    const cookies = await admin.context().cookies();
    const session = cookies.find((c) => c.name === 'fb_session');
    assert.ok(session.httpOnly);
    assert.equal(session.sameSite, 'Lax');
    provider.evilTarget = `${base}/console/devices/codes`;
    await admin.goto(`${provider.issuer}/evil`);
    await admin.getByRole('heading', { name: 'This form could not be accepted' }).waitFor();
    await shot(admin, '06-cross-site-refused');
    // Same origin but no token: refused too.
    const r = await admin.request.post(`${base}/console/sign-out-everywhere`, { form: { csrf: 'wrong' }, maxRedirects: 0 });
    assert.equal(r.status(), 403);
    // Still signed in, and no enrolment code was issued.
    await admin.goto('/console/audit');
    assert.equal(await admin.locator('#audit').getByText('enrolment code issued').count(), 0);
    assert.match(admin.url(), /\/console\/audit/);
  });

  test('an offender manager sees only their team, by menu and by link', async () => {
    const page = await newPage();
    await signIn(page, 'om', PASSWORD);
    await page.waitForURL(/\/console\/today/);
    const menu = page.getByRole('navigation', { name: 'Menu' });
    assert.equal(await menu.getByRole('link', { name: 'Devices' }).count(), 0);
    assert.equal(await menu.getByRole('link', { name: 'Audit log' }).count(), 0);
    await menu.getByRole('link', { name: 'People' }).click();
    await page.getByRole('link', { name: 'Casey Client' }).waitFor();
    assert.equal(await page.getByText('Alex Example').count(), 0, 'another team\'s person is not listed');
    assert.equal(await page.getByText('Dana Other').count(), 0);
    await check(page, '07-people');
    await page.getByRole('link', { name: 'Casey Client' }).click();
    await page.locator('#next-due').waitFor();
    assert.match(await page.locator('#visits').innerText(), /ATTC/);
    await check(page, '08-person-visits');
    const other = await page.goto('/console/people/X100001');
    assert.equal(other.status(), 404, 'another team\'s case by link');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    const devices = await page.goto('/console/devices');
    assert.equal(devices.status(), 403);
    await page.context().close();
  });

  test('an enforcement decision is recorded with its evidence and the warning reaches the device', async () => {
    const page = await newPage();
    await signIn(page, 'upw', PASSWORD);
    await page.waitForURL(/\/console\/today/);
    await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Enforcement' }).click();
    const row = page.locator('#open').getByRole('row', { name: /Sam Sample/ });
    assert.match(await row.innerText(), /UACP/);
    await check(page, '09-enforcement');
    await row.getByRole('link', { name: /View evidence and decide/ }).click();
    const evidence = page.locator('#evidence');
    assert.match(await evidence.innerText(), /upw\.outcome_recorded/);
    assert.match(await evidence.innerText(), /sup-ada/);
    assert.equal(await evidence.getByText(data.devices.supervisor).count() > 0, true, 'the device is named');
    await check(page, '10-enforcement-item');
    // A warning without its date is refused, nothing recorded.
    await page.getByLabel('Warning given').check();
    await page.getByRole('button', { name: 'Record the decision' }).click();
    await page.getByText(/Enter the date the warning was given/).first().waitFor();
    await axe(page, 'enforcement-error');
    const now = new Date();
    await page.getByLabel('Warning given').check();
    await page.getByLabel('Day').fill(String(now.getDate()));
    await page.getByLabel('Month').fill(String(now.getMonth() + 1));
    await page.getByLabel('Year').fill(String(now.getFullYear()));
    await page.getByLabel('Note').fill('Warning letter sent');
    await page.getByRole('button', { name: 'Record the decision' }).click();
    await page.locator('#decision').getByText(/Warning given on/).waitFor();
    const iso = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
    const synced = await fixture('sync', base, path.join(dir, 'devices'), ['--device', 'supervisor']);
    assert.ok(synced.pulled >= 1, 'the device pulled the change');
    assert.deepEqual(synced.warnings, [iso], 'the warning is in the device\'s ledger');
    await page.goto('/console/enforcement');
    assert.match(await page.locator('#closed').innerText(), /Warning given/);
    await page.context().close();
    await admin.goto('/console/audit');
    const audit = admin.locator('#audit');
    assert.match(await audit.getByRole('row', { name: /enforcement decision/ }).first().innerText(), /account:upw/);
    assert.ok(await audit.getByRole('row', { name: /consultation.*enforcement evidence/ }).count() > 0);
  });

  test('a conflict from two devices is one record; it is resolved by choosing, and the audit log shows it', async () => {
    const page = await newPage();
    await signIn(page, 'upw', PASSWORD);
    await page.waitForURL(/\/console\/today/);
    await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Conflicts' }).click();
    const open = page.locator('#open-conflicts tbody tr');
    assert.equal(await open.count(), 1, 'one record, not one row per pair');
    assert.match(await open.first().innerText(), /Alex Example \(X100001\)/);
    assert.equal((await open.first().locator('td').nth(2).innerText()).trim(), '2', 'two versions');
    await page.getByText('None resolved yet.').waitFor();
    await check(page, '10b-conflicts');
    await open.first().getByRole('link', { name: /Compare and resolve/ }).click();
    const table = page.locator('table.fb-conflict');
    assert.equal(await table.count(), 1);
    assert.match(await table.locator('caption').innerText(), /Alex Example \(X100001\): 2 versions/);
    assert.equal(await table.getByText('Current').count(), 1, 'exactly one version is current');
    const text = await table.innerText();
    assert.match(text, /3 h 00 min/);
    assert.match(text, /2 h 00 min/);
    assert.ok(text.includes(data.devices.supervisor) && text.includes(data.devices.supervisor2), 'both devices named');
    assert.match(await table.getByRole('row', { name: /Credited/ }).innerText(), /Differs/);
    await check(page, '10c-conflict-record');
    // Without a reason: refused, nothing resolved.
    const first = page.getByLabel(`Version 1, from device ${data.devices.supervisor}`);
    await first.check();
    await page.getByRole('button', { name: 'Resolve the conflict' }).click();
    await page.getByText('Enter the reason for this resolution').first().waitFor();
    await axe(page, 'conflict-error');
    await page.getByLabel(`Version 1, from device ${data.devices.supervisor}`).check();
    await page.getByLabel('Reason').fill('Ada\'s sign-in sheet shows three hours');
    await page.getByRole('button', { name: 'Resolve the conflict' }).click();
    await page.waitForURL(/resolved=1/);
    const history = page.locator('#history');
    assert.match(await history.innerText(), /Chose version 1/);
    assert.match(await history.innerText(), /Uma Manager \(upw\)/);
    assert.match(await history.innerText(), /sign-in sheet shows three hours/);
    assert.equal(await page.getByRole('button', { name: 'Resolve the conflict' }).count(), 0, 'no form once resolved');
    const header = await page.locator('table.fb-conflict thead th').nth(1).innerText();
    assert.match(header, /Version 1\s+Current/, 'the chosen version is current');
    await shot(page, '10d-conflict-resolved');
    // The office's reads show the chosen version.
    await page.goto('/console/today');
    assert.match(await page.locator('main').getByRole('row', { name: /Alex Example/ }).innerText(), /3 h 00 min/);
    // Resolved conflicts stay listed, as history.
    await page.goto('/console/conflicts');
    await page.getByText('No conflicts.').waitFor();
    assert.equal(await page.locator('#resolved-conflicts tbody tr').count(), 1);
    // Posting another resolution is refused.
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const subject = (await page.locator('#resolved-conflicts a').getAttribute('href')).split('/').pop();
    const again = await page.request.post(`${base}/console/conflicts/${subject}`, { form: { csrf, choice: 'correct', code: 'UACP', minutes: '0', reason: 'again' } });
    assert.equal(again.status(), 400);
    await page.context().close();
    const om = await newPage();
    await signIn(om, 'om', PASSWORD);
    await om.goto('/console/conflicts');
    await om.getByText('No conflicts.').waitFor();
    const byLink = await om.goto(`/console/conflicts/${subject}`);
    assert.equal(byLink.status(), 404, 'another team\'s record by link');
    await om.context().close();
    await admin.goto('/console/audit');
    const row = admin.locator('#audit').getByRole('row', { name: /conflict resolved/ }).first();
    assert.match(await row.innerText(), /account:upw/);
    assert.match(await row.innerText(), /alteration/);
    assert.match(await row.innerText(), new RegExp(`from device ${data.devices.supervisor}`));
  });

  test('reports show the field day\'s figures with charts, and their CSV files hold the same numbers', async () => {
    const page = await newPage();
    await signIn(page, 'upw', PASSWORD);
    await page.waitForURL(/\/console\/today/);
    await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Reports' }).click();
    assert.equal(await page.locator('#hours-total').innerText(), '3 h 00 min', 'Alex\'s chosen version; Sam none');
    const hoursRow = page.locator('#hours tbody tr', { hasText: 'Riverside Park clean-up' });
    const [project, week, minutes] = (await hoursRow.locator('td').allInnerTexts()).map((t) => t.trim());
    assert.equal(project, 'Riverside Park clean-up');
    assert.equal(minutes, '180');
    const charts = page.locator('svg[role=img]');
    assert.equal(await charts.count(), 4, 'a chart for each figure');
    assert.match(await page.locator('#hours-week-desc').textContent(), new RegExp(`Week of ${week}: 3 h 00 min`));
    const attendance = await page.locator('#attendance-desc').textContent();
    assert.match(attendance, /Attended: 1;/);
    assert.match(attendance, /Failed to attend: 1;/);
    const weekRow = (await page.locator('#attendance tbody tr').first().locator('th, td').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(weekRow, [week, '1', '0', '1', '0', '0', '0', '0', '2']);
    assert.match(await page.locator('#enforcement tbody').innerText(), /Warning or referral\s+Warning given\s+1/);
    await check(page, '22-reports');
    // The CSV files hold the same numbers.
    const hours = await page.request.get(await page.locator('#hours-csv').getAttribute('href'));
    assert.equal(hours.status(), 200);
    assert.equal(hours.headers()['content-type'], 'text/csv; charset=utf-8');
    assert.match(hours.headers()['content-disposition'], /^attachment; filename="hours-by-project-and-week-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.csv"$/);
    assert.deepEqual((await hours.text()).trim().split('\r\n'), [
      'Project,Week beginning,Minutes credited,Hours credited', `Riverside Park clean-up,${week},180,3`]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#attendance-csv').click()]);
    assert.match(download.suggestedFilename(), /^attendance-by-week-.*\.csv$/);
    const lines = fs.readFileSync(await download.path(), 'utf8').trim().split('\r\n');
    assert.equal(lines[0], 'Week beginning,Attended,Sent home,Failed to attend,Failed to comply,Acceptable absence,Rescheduled,Other,Total');
    assert.equal(lines[1], weekRow.join(','));
    const enforcement = await page.request.get(await page.locator('#enforcement-csv').getAttribute('href'));
    assert.match(await enforcement.text(), /\r\nWarning or referral,Warning given,1\r\n/);
    // A range that ends before it starts is refused with the reason.
    await page.locator('#from-day').fill('2');
    await page.locator('#from-month').fill('12');
    await page.locator('#from-year').fill('2026');
    await page.locator('#to-day').fill('1');
    await page.locator('#to-month').fill('12');
    await page.locator('#to-year').fill('2026');
    await page.keyboard.press('Enter');
    await page.getByText('The end date must be the same as or after the start date').first().waitFor();
    assert.equal(await page.locator('#hours-report').count(), 0, 'no figures for a bad range');
    await axe(page, 'reports-error');
    const bad = await page.request.get(`${base}/console/reports/hours/download?from-day=31&from-month=2&from-year=2026`);
    assert.equal(bad.status(), 400, 'the CSV checks the range too');
    await page.context().close();
    // Another team's manager sees none of these hours.
    const om = await newPage();
    await signIn(om, 'om', PASSWORD);
    await om.goto('/console/reports');
    assert.equal(await om.locator('#hours-total').innerText(), '0 h 00 min');
    await om.context().close();
    await admin.goto('/console/audit');
    assert.match(await admin.locator('#audit').getByRole('row', { name: /report CSV download/ }).first().innerText(), /disclosure/);
  });

  test('visits and follow-ups: arranged or not, who was seen, overdue follow-ups filtered, in the team only', async () => {
    const page = await newPage();
    await signIn(page, 'om', PASSWORD);
    await page.waitForURL(/\/console\/today/);
    await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Visits' }).click();
    const cases = page.locator('#cases tbody tr');
    assert.equal(await cases.count(), 1, 'only the team\'s case');
    assert.match(await cases.first().innerText(), /Casey Client/);
    assert.match(await cases.first().innerText(), /1 overdue/);
    assert.equal(await page.getByText('Dana Other').count(), 0);
    await check(page, '23-visits');
    // By keyboard alone: Tab from the top of the page to the filter, Enter.
    await page.keyboard.press('Tab');
    let label = '';
    for (let i = 0; i < 40 && label !== 'Only cases with overdue follow-ups'; i += 1) {
      await page.keyboard.press('Tab');
      label = await page.evaluate(() => document.activeElement.textContent.trim());
    }
    assert.equal(label, 'Only cases with overdue follow-ups');
    await page.keyboard.press('Enter');
    await page.waitForURL(/show=overdue/);
    assert.equal(await page.locator('#cases tbody tr').count(), 1);
    await page.getByRole('link', { name: /Casey Client/ }).click();
    assert.match(await page.locator('#next-due').innerText(), /\d{4}-\d\d-\d\d/);
    const card = page.locator('.govuk-summary-card').first();
    assert.match(await card.innerText(), /ATTC/);
    assert.match(await card.innerText(), /Arranged/);
    assert.match(await card.innerText(), /The person on probation/);
    const followUps = card.locator('.fb-follow-ups');
    assert.match(await followUps.getByRole('row', { name: /tenancy agreement/ }).innerText(), /Overdue/);
    assert.match(await followUps.getByRole('row', { name: /GP registration/ }).innerText(), /Open/);
    await check(page, '24-visit-case');
    const caseUrl = page.url();
    await page.context().close();
    // Another team's manager: not in the menu's list, and not by link.
    const upw = await newPage();
    await signIn(upw, 'upw', PASSWORD);
    await upw.goto('/console/visits?show=overdue');
    await upw.getByText('No case has an overdue follow-up.').waitFor();
    const byLink = await upw.goto(caseUrl);
    assert.equal(byLink.status(), 404);
    await upw.context().close();
    await admin.goto('/console/audit');
    assert.match(await admin.locator('#audit').getByRole('row', { name: /case visits/ }).first().innerText(), /account:om/);
  });

  test('safety alerts arrive live with an alarm and are acknowledged by the signed-in monitor', async () => {
    const page = await newPage();
    await signIn(page, 'monitor', PASSWORD);
    await page.waitForURL(/\/console\/today/);
    await page.goto('/console/safety');
    const list = page.locator('#fb-alert-list');
    await list.getByText('Casey Client').waitFor();
    await list.getByText('Dana Other').waitFor();
    assert.match(await page.locator('#fb-alarm-text').innerText(), /2 lone-worker alerts open/);
    await page.getByRole('button', { name: 'Turn on the alarm sound' }).click();
    await page.getByRole('button', { name: 'The alarm sound is on' }).waitFor();
    await page.waitForFunction(() => window.fbAlarm && window.fbAlarm.events >= 1);
    const played = await page.evaluate(() => window.fbAlarm.played);
    await check(page, '11-safety');
    // A new alert from Cat's device arrives while the page is open.
    await fixture('alert', base, path.join(dir, 'devices'));
    await page.waitForFunction(() => document.getElementById('fb-alarm-text').textContent.includes('3 lone-worker alerts'), null, { timeout: 15000 });
    await page.waitForFunction((n) => window.fbAlarm.played > n, played);
    await page.waitForFunction(() => document.querySelectorAll('#fb-alert-list .fb-alert').length === 3);
    // An empty note is refused.
    const casey = list.locator('.fb-alert', { hasText: 'Casey Client' });
    await casey.getByRole('button', { name: 'Acknowledge alert' }).click();
    await page.getByText(/Enter a note of what was done/).first().waitFor();
    await axe(page, 'safety-error');
    const caseyAgain = page.locator('#fb-alert-list .fb-alert', { hasText: 'Casey Client' });
    await caseyAgain.getByLabel(/What was done/).fill('Called Ben: safe, phone had died');
    await caseyAgain.getByRole('button', { name: 'Acknowledge alert' }).click();
    await page.waitForURL(/\/console\/safety$/);
    assert.equal(await page.locator('#fb-alert-list').getByText('Casey Client').count(), 0);
    assert.match(await page.locator('#acks').innerText(), /by Mo Monitor \(monitor\) — Called Ben: safe/);
    await shot(page, '12-safety-acknowledged');
    // The offender manager's team holds only Ben: they never saw Dana's.
    const om = await newPage();
    await signIn(om, 'om', PASSWORD);
    await om.goto('/console/safety');
    await om.getByText('There are no open alerts.').waitFor();
    await om.context().close();
    // An administrator sees alerts but cannot acknowledge them.
    await admin.goto('/console/safety');
    assert.equal(await admin.getByRole('button', { name: 'Acknowledge alert' }).count(), 0);
    await admin.getByText(/Only a safety monitor or a manager/).first().waitFor();
    const forged = await admin.request.post(`${base}/console/safety/${'0'.repeat(32)}/acknowledge`, {
      form: { csrf: await admin.locator('input[name=csrf]').first().inputValue(), note: 'x' }, maxRedirects: 0 });
    assert.equal(forged.status(), 403, 'the administrator role may not acknowledge');
    await page.context().close();
    await admin.goto('/console/audit');
    assert.match(await admin.locator('#audit').getByRole('row', { name: /safety alert acknowledged/ }).first().innerText(), /account:monitor/);
  });

  test('a revoked device is shredded at its next sync', async () => {
    await admin.goto('/console/devices');
    await admin.getByRole('button', { name: 'Issue a code' }).click();
    assert.match(await admin.locator('#enrolment-code').innerText(), /^[0-9A-F]{20}$/);
    assert.equal(await admin.locator('#enrolment-qr svg').count(), 1, 'the code as a QR code too');
    await check(admin, '13-devices-code');
    const row = admin.locator(`#device-${data.devices.cat}`);
    await row.getByRole('link', { name: /Revoke/ }).click();
    await admin.getByRole('button', { name: 'Revoke the device' }).click();
    await admin.getByText('Select whether the device may send what it holds first').first().waitFor();
    await check(admin, '14-device-revoke');
    await admin.getByLabel(/No, it may be in someone else's hands/).check();
    await admin.getByRole('button', { name: 'Revoke the device' }).click();
    await admin.waitForURL(/\/console\/devices$/);
    assert.match(await admin.locator(`#device-${data.devices.cat} .fb-status`).innerText(), /Revoked, not yet shredded/);
    const r = await fixture('sync', base, path.join(dir, 'devices'), ['--device', 'cat']);
    assert.equal(r.shredded, true);
    assert.equal(r.store_shredded, true);
    await admin.reload();
    assert.match(await admin.locator(`#device-${data.devices.cat} .fb-status`).innerText(), /Shredded/);
    await shot(admin, '15-devices-shredded');
  });

  test('a CSV import with a bad row shows the error and writes nothing', async () => {
    await admin.goto('/console/reference');
    assert.equal(await admin.locator('#count-hv_case').innerText(), '2');
    const good = 'a'.repeat(32);
    const header = 'id,audience,crn,name,restricted:json,risk_level,registrations:json,staff_risks:json,known_occupants:json,addresses:json,assessment,supervision_start';
    const row = (id, crn) => `${id},po-ben,${crn},New Person,false,low,[],[],[],[],current,2026-11-01`;
    const csv = [header, row(good, 'X400001'), row('not-an-id', 'X400002')].join('\n');
    await admin.getByLabel('What the file holds').selectOption('hv_case');
    await admin.getByLabel('Or paste the CSV').fill(csv);
    await admin.getByRole('button', { name: 'Check the file' }).click();
    await admin.getByText('1 of 2 rows have a problem. Nothing has been imported.').first().waitFor();
    assert.match(await admin.locator('#preview').getByRole('row', { name: /not-an-id/ }).innerText(), /32 lowercase hex digits/);
    assert.equal(await admin.locator('#do-import').count(), 0, 'no import while a row is wrong');
    await check(admin, '16-reference-preview-error');
    // Posting the import anyway is refused the same way.
    const csrf = await admin.locator('input[name=csrf]').first().inputValue();
    const forced = await admin.request.post(`${base}/console/reference/import`, { form: { csrf, entity: 'hv_case', csv, action: 'import' } });
    assert.match(await forced.text(), /Nothing has been imported/);
    await admin.goto('/console/reference');
    assert.equal(await admin.locator('#count-hv_case').innerText(), '2', 'nothing written');
    await admin.getByLabel('What the file holds').selectOption('hv_case');
    await admin.getByLabel('Or paste the CSV').fill([header, row(good, 'X400001')].join('\n'));
    await admin.getByRole('button', { name: 'Check the file' }).click();
    await admin.getByRole('button', { name: 'Import 1 rows' }).click();
    await admin.locator('#imported').waitFor();
    assert.equal(await admin.locator('#count-hv_case').innerText(), '3');
    await check(admin, '17-reference-imported');
  });

  test('a reference item is edited: a wrong field is refused, a right one reaches Today', async () => {
    await admin.goto('/console/reference');
    await admin.getByRole('link', { name: 'upw_project' }).click();
    await admin.getByRole('link', { name: /Riverside Park clean-up/ }).click();
    const data = admin.getByLabel(/^The item/);
    const original = JSON.parse(await data.inputValue());
    await data.fill(JSON.stringify({ ...original, colour: 'green' }));
    await admin.getByRole('button', { name: 'Save and send to devices' }).click();
    await admin.getByText(/unknown field `colour`/).first().waitFor();
    await check(admin, '18-reference-item-error');
    await admin.goto('/console/today');
    assert.equal(await admin.getByRole('heading', { name: /Riverside Park clean-up \(PARK01\)/ }).count(), 1, 'nothing written');
    await admin.goto('/console/reference/upw_project');
    await admin.getByRole('link', { name: /Riverside Park clean-up/ }).click();
    await admin.getByLabel(/^The item/).fill(JSON.stringify({ ...original, name: 'Riverside Park north' }));
    await admin.getByRole('button', { name: 'Save and send to devices' }).click();
    await admin.waitForURL(/\/console\/reference\/upw_project$/);
    await admin.getByRole('link', { name: /Riverside Park north/ }).waitFor();
    await check(admin, '19-reference-list');
    await admin.goto('/console/today');
    await admin.getByRole('heading', { name: /Riverside Park north \(PARK01\)/ }).waitFor();
  });

  test('a reference edit with a bad value shows the error and writes nothing; long lists are paged', async () => {
    await admin.goto('/console/reference/upw_session');
    await admin.locator('#items tbody tr a').first().click();
    const itemUrl = admin.url();
    const field = admin.getByLabel(/^The item/);
    const original = JSON.parse(await field.inputValue());
    await field.fill(JSON.stringify({ ...original, date: '2026-13-45' }));
    await admin.getByLabel(/^Officers who receive it/).fill('sup-ada, not an id!');
    await admin.getByRole('button', { name: 'Save and send to devices' }).click();
    const summary = admin.locator('.govuk-error-summary');
    await summary.waitFor();
    assert.match(await summary.innerText(), /upw_session does not validate/, 'the bad date is refused by the session type');
    assert.equal(await summary.getByRole('link', { name: /does not validate/ }).getAttribute('href'), '#data');
    assert.match(await summary.innerText(), /not an officer id/, 'the bad audience is named');
    await axe(admin, 'reference-item-bad-value');
    await shot(admin, '19b-reference-item-bad-value');
    await admin.goto(itemUrl);
    assert.deepEqual(JSON.parse(await admin.getByLabel(/^The item/).inputValue()), original, 'nothing written');
    await admin.goto('/console/today');
    await admin.getByRole('heading', { name: /Riverside Park north/ }).waitFor();
    // Field by field: a JSON field with a bad value is refused, nothing written; a text field saves.
    await admin.goto('/console/reference/upw_project');
    await admin.getByRole('link', { name: /Riverside Park north/ }).click();
    const projectUrl = admin.url();
    const before = JSON.parse(await admin.getByLabel(/^The item/).inputValue());
    await admin.getByLabel('hi vis required (JSON)').fill('maybe');
    await admin.getByRole('button', { name: 'Save the fields and send to devices' }).click();
    await admin.locator('.govuk-error-summary').getByText('field hi_vis_required: not JSON').waitFor();
    assert.equal(await admin.getByLabel('hi vis required (JSON)').inputValue(), 'maybe', 'the value as entered is shown again');
    await axe(admin, 'reference-fields-error');
    await admin.goto(projectUrl);
    assert.deepEqual(JSON.parse(await admin.getByLabel(/^The item/).inputValue()), before, 'nothing written');
    await admin.getByLabel('name', { exact: true }).fill('Riverside Park north field');
    await admin.getByRole('button', { name: 'Save the fields and send to devices' }).click();
    await admin.waitForURL(/\/console\/reference\/upw_project$/);
    await admin.getByRole('link', { name: /Riverside Park north field/ }).waitFor();
    // Sixty cases arrive by CSV: the list shows fifty a page.
    const header = 'id,audience,crn,name,restricted:json,risk_level,registrations:json,staff_risks:json,known_occupants:json,addresses:json,assessment,supervision_start';
    const rows = Array.from({ length: 60 }, (_, i) => `${(i + 1).toString(16).padStart(32, 'b')},po-cat,X5${String(i).padStart(5, '0')},Paged Person ${i},false,low,[],[],[],[],current,2026-11-01`);
    await admin.goto('/console/reference');
    await admin.getByLabel('What the file holds').selectOption('hv_case');
    await admin.getByLabel('Or paste the CSV').fill([header, ...rows].join('\n'));
    await admin.getByRole('button', { name: 'Check the file' }).click();
    await admin.getByRole('button', { name: 'Import 60 rows' }).click();
    await admin.locator('#imported').waitFor();
    await admin.getByRole('link', { name: 'hv_case' }).click();
    assert.equal(await admin.locator('#items tbody tr').count(), 50, 'fifty on the first page');
    assert.match(await admin.locator('main').innerText(), /Showing 1 to 50 of 63/);
    await check(admin, '19c-reference-list-paged');
    await admin.getByRole('link', { name: /Next/ }).click();
    await admin.waitForURL(/page=2/);
    assert.equal(await admin.locator('#items tbody tr').count(), 13);
    assert.match(await admin.locator('main').innerText(), /Showing 51 to 63 of 63/);
    // A new item offers the fields an item of its kind has, empty.
    await admin.goto('/console/reference/upw_project/new');
    assert.equal(await admin.getByLabel('name', { exact: true }).inputValue(), '');
    await check(admin, '19d-reference-new');
  });

  test('the audit log lists reads and decisions and cannot be edited', async () => {
    await admin.goto('/console/audit');
    const text = await admin.locator('#audit').innerText();
    for (const what of ['roll calls (Today)', 'person record', 'enforcement decision', 'device revoked', 'reference CSV import', 'reference item saved', 'API key created']) {
      assert.ok(text.includes(what), `audit holds ${what}`);
    }
    assert.match(text, /api:office-token/, 'API reads are logged with the key');
    await check(admin, '20-audit');
  });

  test('single sign-on with PKCE signs in a provisioned account, and a forged token is refused', async () => {
    const page = await newPage();
    await page.goto('/console/sign-in');
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await page.waitForURL(/\/console\/today/);
    assert.match(await page.locator('.fb-user').innerText(), /Sol Single/);
    assert.equal(provider.pkceFailures, 0);
    await page.context().close();
    provider.forge = true;
    const forged = await newPage();
    await forged.goto('/console/sign-in');
    await forged.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await forged.getByText('Single sign-on did not complete').first().waitFor();
    await forged.goto('/console/today');
    assert.match(forged.url(), /sign-in/, 'no session from a token the provider did not sign');
    provider.forge = false;
    provider.user = 'nobody';
    await forged.goto('/console/sign-in');
    await forged.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await forged.getByText('Single sign-on did not complete').first().waitFor();
    await forged.context().close();
  });

  test('works by keyboard alone: skip link, sign-in and the menu', async () => {
    const page = await newPage();
    await page.goto('/console/sign-in');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to main content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'username', 'the skip link leads to the form');
    await page.keyboard.type('upw');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/today/);
    // Tab from the top of the page to the menu's Enforcement link.
    await page.keyboard.press('Tab');
    let label = '';
    for (let i = 0; i < 10 && label !== 'Enforcement'; i += 1) {
      await page.keyboard.press('Tab');
      label = await page.evaluate(() => document.activeElement.textContent.trim());
    }
    assert.equal(label, 'Enforcement');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle + getComputedStyle(document.activeElement).backgroundColor);
    assert.notEqual(outline, 'none' + 'rgba(0, 0, 0, 0)', 'the focused link is visibly focused');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/enforcement/);
    await page.context().close();
  });

  test('an idle session returns to sign-in; sign out everywhere ends every session', async () => {
    const port = await freePort();
    const short = await startServer({ db, port, extra: ['--console-assets', GOVUK, '--console-idle-seconds', '2'] });
    try {
      const context = await browser.newContext({ baseURL: short.url });
      const page = await context.newPage();
      await page.goto('/console/sign-in');
      await page.getByLabel('Username').fill('upw');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/console\/today/);
      await page.waitForTimeout(3000);
      await page.goto('/console/enforcement');
      assert.match(page.url(), /\/console\/sign-in\?expired=1/);
      await page.getByText('Your session has ended').first().waitFor();
      await shot(page, '21-session-expired');
      await context.close();
    } finally {
      short.stop();
    }
    const other = await newPage();
    await signIn(other, 'admin', ADMIN_PASSWORD);
    await other.waitForURL(/\/console\/today/);
    await admin.goto('/console/today');
    await admin.getByRole('button', { name: 'Sign out everywhere' }).click();
    await admin.waitForURL(/sign-in/);
    await other.goto('/console/today');
    assert.match(other.url(), /sign-in/, 'the other session ended too');
    await other.context().close();
    assert.ok(shots.length >= 15, `screenshots: ${shots.length}`);
  });
});

// Deliveries to the Community Payback API: a small fake of the far end
// (OAuth2 token, its reference lists, the outcome endpoint that refuses
// with 409 and the API's own message while told to), a server pointed at
// it, and the field day's outcomes; first unlinked, then linked and
// refused, then accepted, each Retry pressed in the console as a manager.
describe('deliveries and evidence packs in the console', () => {
  const run = promisify(execFile);
  const CODES = ['AACL', 'AAEM', 'AAFC', 'AAME', 'AARC', 'AASD', 'AFDA', 'AFTC', 'ATCH', 'ATFI', 'ATSH', 'ATSS', 'ATTC',
    'CO05', 'CO10', 'CO38', 'CO39', 'CO40', 'RSOF', 'RSSR', 'UACP'];
  const far = { refuse: true, received: [] };
  let farServer; let srv; let browser2; let dir2; let page;

  async function attention() {
    const res = await fetch(`${srv.url}/v1/office/deliveries?state=attention`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return res.json();
  }

  before(async () => {
    const http = await import('node:http');
    farServer = http.createServer((req, res) => {
      const json = (status, v) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        if (req.url === '/oauth/token') return json(200, { access_token: 'tok-1', token_type: 'bearer', expires_in: 3600 });
        if (req.headers.authorization !== 'Bearer tok-1') return json(401, {});
        if (req.url === '/references/contact-outcomes') {
          return json(200, { contactOutcomes: CODES.map((c, i) => ({ id: `5b5f8c3a-0000-4000-8000-${String(i).padStart(12, '0')}`, code: c, name: c })) });
        }
        if (req.url === '/references/enforcement-actions') {
          return json(200, { enforcementActions: [{ id: '0b6f0c8e-1f5d-4c1e-9a51-000000000e01', code: 'ROM', name: 'Refer to Offender Manager' }] });
        }
        if (/^\/projects\/[^/]+\/appointments\/\d+\/outcome$/.test(req.url) && req.method === 'POST') {
          if (!req.headers['idempotency-key']) return json(400, { userMessage: 'no Idempotency-key' });
          if (far.refuse) return json(409, { status: 409, userMessage: 'A newer version of the appointment exists in Delius' });
          far.received.push(JSON.parse(body));
          return json(200, {});
        }
        return json(404, {});
      });
    });
    await new Promise((resolve) => farServer.listen(0, '127.0.0.1', resolve));
    const farUrl = `http://127.0.0.1:${farServer.address().port}`;
    dir2 = tempDir();
    const db2 = path.join(dir2, 'office', 'office.db');
    fs.mkdirSync(path.dirname(db2), { recursive: true, mode: 0o700 });
    // A database of its own: on the PostgreSQL run, a second database on
    // the run's cluster (the suite above holds the first).
    let dbEnv = {};
    if (process.env.FIELDBOOK_DATABASE_URL) {
      const u = new URL(process.env.FIELDBOOK_DATABASE_URL);
      const name = `deliveries_${Date.now()}`;
      await run('/usr/lib/postgresql/15/bin/createdb', ['-h', u.hostname, '-p', u.port, '-U', u.username, name]);
      u.pathname = `/${name}`;
      dbEnv = { FIELDBOOK_DATABASE_URL: u.toString() };
    }
    await run(path.join(process.env.FIELDBOOK_BIN_DIR || path.resolve('../../target/debug'), 'fieldbook-server'),
      ['create-admin', '--username', 'admin', '--name', 'Avery Admin', '--db', db2],
      { env: { ...process.env, FIELDBOOK_ADMIN_PASSWORD: ADMIN_PASSWORD, ...dbEnv } });
    srv = await startServer({
      db: db2,
      port: await freePort(),
      extra: ['--console-assets', GOVUK, '--cp-base-url', farUrl, '--cp-token-url', `${farUrl}/oauth/token`,
        '--cp-client-id', 'fieldbook', '--cp-tick-ms', '100', '--cp-enforcement-action', 'warning_or_referral=ROM',
        '--cp-enforcement-action', 'breach_referral=ROM'],
      env: { FIELDBOOK_CP_CLIENT_SECRET: 'client-secret-for-tests', ...dbEnv },
    });
    await fixture('setup', srv.url, path.join(dir2, 'devices'));
    browser2 = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    page = await (await browser2.newContext({ baseURL: srv.url })).newPage();
  });

  after(async () => {
    await browser2?.close();
    srv?.stop();
    await new Promise((resolve) => (farServer ? farServer.close(resolve) : resolve()));
    if (dir2) fs.rmSync(dir2, { recursive: true, force: true });
  });

  test('a refused delivery shows with the far end\'s reason, and Retry sends it again', async () => {
    // The day's outcomes wait for their nDelius links: the reason says so.
    let waiting = [];
    for (let i = 0; i < 100 && waiting.length === 0; i += 1) {
      waiting = await attention();
      if (waiting.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(waiting.length > 0, 'unlinked outcomes need attention');
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.waitForURL(/\/console\/today/);
    await page.getByRole('link', { name: 'Deliveries' }).click();
    await page.waitForURL(/\/console\/deliveries/);
    const list = page.locator('#attention');
    assert.match(await list.innerText(), /not linked to an nDelius appointment/);
    // The office links them (as the API import would); each Retry then
    // reaches the far end, which refuses.
    for (const [i, d] of waiting.entries()) {
      const res = await fetch(`${srv.url}/v1/office/integration/appointments/${d.subject}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ delius_id: 9000 + i, delius_version: '7a0b6c1e-0000-4000-8000-000000000001', project_code: 'PARK01' }),
      });
      assert.equal(res.status, 204);
    }
    const first = waiting[0].event_id;
    await page.locator(`#attention-${first}`).getByRole('button', { name: /^Retry/ }).click();
    await page.waitForURL(/\/console\/deliveries$/);
    let refused = false;
    for (let i = 0; i < 100 && !refused; i += 1) {
      refused = (await attention()).some((d) => d.event_id === first && d.status_code === 409);
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(refused, 'the far end refused it');
    await page.goto('/console/deliveries');
    const row = page.locator(`#attention-${first}`);
    assert.match(await row.innerText(), /A newer version of the appointment exists in Delius \(answered 409\)/);
    await check(page, '22-deliveries-refused');
    // The cause fixed at the far end, Retry delivers it: once.
    far.refuse = false;
    await row.getByRole('button', { name: /^Retry/ }).click();
    await page.waitForURL(/\/console\/deliveries$/);
    let delivered = false;
    for (let i = 0; i < 100 && !delivered; i += 1) {
      await page.goto('/console/deliveries');
      delivered = /Delivered/.test(await page.locator(`#delivery-${first}`).innerText());
      if (!delivered) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(delivered, 'shown as delivered');
    assert.equal(await page.locator(`#attention-${first}`).count(), 0, 'no longer needs attention');
    assert.equal(far.received.length, 1, 'the far end recorded it once');
    await check(page, '23-deliveries-delivered');
    // Each Retry is in the audit log as the signed-in account.
    await page.goto('/console/audit');
    const retried = page.locator('main').getByRole('row', { name: /delivery retried/ });
    assert.equal(await retried.count(), 2);
    assert.match(await retried.first().innerText(), /account:admin/);
  });

  test('a Retry without the form\'s token is refused and changes nothing', async () => {
    const before = (await attention()).length;
    assert.ok(before > 0);
    const target = (await attention())[0].event_id;
    const res = await page.request.post(`/console/deliveries/${target}/retry`, { form: { csrf: 'guess' } });
    assert.equal(res.status(), 403);
    assert.ok((await attention()).some((d) => d.event_id === target), 'still waiting');
  });

  test('an evidence pack is produced from the person page as the signed-in account and downloaded', async () => {
    await page.goto('/console/people');
    await page.locator('main').getByRole('link', { name: /Alex Example/ }).click();
    await page.waitForURL(/\/console\/people\//);
    const day = (d) => new Date(Date.now() + d * 86400000).toISOString().slice(0, 10);
    const form = page.locator('form[action$="/evidence-pack"]');
    await form.getByLabel(/^From/).fill(day(-1));
    await form.getByLabel(/^To/).fill(day(1));
    await form.getByLabel(/^Who it is for/).fill('Magistrates court and the defence');
    await check(page, '24-person-evidence-form');
    // The reason is required: refused, nothing produced.
    await form.getByRole('button', { name: 'Produce the evidence pack' }).click();
    await page.getByText(/reason: is required/).first().waitFor();
    await page.goBack();
    await form.getByLabel(/^From/).fill(day(-1));
    await form.getByLabel(/^To/).fill(day(1));
    await form.getByLabel(/^Who it is for/).fill('Magistrates court and the defence');
    await form.getByLabel(/^Why it is needed/).fill('Breach hearing listed');
    await form.getByRole('button', { name: 'Produce the evidence pack' }).click();
    await page.locator('#pack').waitFor();
    const reference = (await page.locator('#pack strong').innerText()).trim();
    assert.match(reference, /^FB-EP-\d{8}-[0-9A-F]{8}$/);
    await check(page, '25-evidence-pack');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-pdf').click()]);
    const file = path.join(dir2, 'pack.pdf');
    await download.saveAs(file);
    assert.equal(fs.readFileSync(file).subarray(0, 4).toString(), '%PDF');
    const bundle = await page.request.get(await page.locator('#download-bundle').getAttribute('href'));
    assert.equal(bundle.status(), 200);
    const manifest = JSON.parse((await bundle.json()).manifest);
    assert.equal(manifest.request.produced_by, 'Avery Admin (admin)', 'produced as the signed-in account');
    assert.equal(manifest.request.reason, 'Breach hearing listed');
    await page.goto('/console/audit');
    const made = page.locator('main').getByRole('row', { name: new RegExp(`disclosure evidence pack .*${reference} for Magistrates`) });
    assert.equal(await made.count(), 1);
    assert.match(await made.innerText(), /account:admin/);
    assert.match(await made.innerText(), /Magistrates court and the defence: Breach hearing listed/);
    assert.ok(await page.locator('main').getByRole('row', { name: /evidence pack download/ }).count() >= 2);
  });

  test('an evidence pack for one enforcement item holds only that appointment', async () => {
    await page.goto('/console/enforcement');
    await page.locator('#open').getByRole('link', { name: /View evidence and decide/ }).first().click();
    await page.waitForURL(/\/console\/enforcement\/[0-9a-f]+$/);
    const form = page.locator('form[action$="/evidence-pack"]');
    assert.match(await form.getByLabel(/^From/).inputValue(), /^\d{4}-\d{2}-\d{2}$/, 'the session date is given');
    await form.getByLabel(/^Why it is needed/).fill('Breach hearing for this absence');
    await form.getByLabel(/^Who it is for/).fill('Defence solicitor');
    await form.getByRole('button', { name: 'Produce the evidence pack' }).click();
    await page.locator('#pack').waitFor();
    const bundle = await page.request.get(await page.locator('#download-bundle').getAttribute('href'));
    const manifest = JSON.parse((await bundle.json()).manifest);
    assert.match(manifest.request.appointment_id, /^[0-9a-f]{32}$/, 'narrowed to the item');
    assert.equal(manifest.request.recipient, 'Defence solicitor');
  });
});
