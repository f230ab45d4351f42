// The console's progressive enhancement: govuk-frontend's components, the
// Safety page's live updates (server-sent events), its banner and its
// audible alarm (Web Audio, switched on by a click, as browsers require),
// and reading a chosen CSV file into the import form. Every page works
// without it.
document.body.classList.add('js-enabled', 'govuk-frontend-supported');
import('/console/govuk/govuk-frontend.min.js')
  .then((m) => m.initAll())
  .catch(() => {});

// A CSV file chosen is read into the text area the form sends.
for (const input of document.querySelectorAll('input[type=file][data-fills]')) {
  input.addEventListener('change', () => {
    const file = input.files && input.files[0];
    const target = document.getElementById(input.dataset.fills);
    if (!file || !target) return;
    file.text().then((text) => { target.value = text; });
  });
}

const safety = document.getElementById('fb-safety');
if (safety) {
  const banner = document.getElementById('fb-alarm-banner');
  const bannerText = document.getElementById('fb-alarm-text');
  const list = document.getElementById('fb-alert-list');
  const status = document.getElementById('fb-live-status');
  const sound = document.getElementById('fb-sound');
  let audio = null;
  let seen = null;
  window.fbAlarm = { played: 0, events: 0 };

  sound.hidden = false;
  sound.addEventListener('click', () => {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { sound.textContent = 'Sound is not available in this browser'; return; }
    audio = audio || new Ctx();
    audio.resume();
    sound.textContent = 'The alarm sound is on';
    sound.disabled = true;
  });

  const beep = () => {
    window.fbAlarm.played += 1;
    if (!audio) return;
    const now = audio.currentTime;
    for (let i = 0; i < 3; i += 1) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'square';
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.4);
      osc.stop(now + i * 0.4 + 0.25);
    }
  };

  const refresh = () => fetch(safety.dataset.list, { credentials: 'same-origin' })
    .then((r) => (r.redirected ? Promise.reject(new Error('signed out')) : r.text()))
    .then((html) => {
      const doc = new DOMParser().parseFromString(html, 'text/html');
      list.innerHTML = doc.body.innerHTML;
    })
    .catch(() => {});

  const source = new EventSource(safety.dataset.live);
  source.addEventListener('open', () => { status.textContent = 'Live: this page updates by itself.'; });
  source.addEventListener('error', () => { status.textContent = 'Reconnecting…'; });
  source.addEventListener('signed-out', () => {
    source.close();
    window.location.assign('/console/sign-in?expired=1');
  });
  source.addEventListener('alerts', (e) => {
    window.fbAlarm.events += 1;
    const data = JSON.parse(e.data);
    const fresh = data.ids.filter((id) => !seen || !seen.has(id));
    const first = seen === null;
    seen = new Set(data.ids);
    banner.hidden = data.count === 0;
    bannerText.textContent = data.count === 0 ? ''
      : `${data.count} lone-worker alert${data.count === 1 ? '' : 's'} open`;
    if (!first || fresh.length > 0) refresh();
    if (fresh.length > 0) beep();
  });
}
