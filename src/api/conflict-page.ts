/**
 * The conflict review page served at /conflicts: open conflicts, a side-by-side view of Aurora,
 * the external system and the base with the conflicting fields highlighted, and buttons to keep
 * one side or pick per field. Plain HTML and DOM calls (values are set as text, never as HTML).
 *
 * The page itself carries no data: it asks for the API token (or the read-only API_READ_TOKEN),
 * keeps it in sessionStorage only (gone when the tab closes; never localStorage or a cookie) and
 * sends it as `Authorization: Bearer` on every call. A refused token is forgotten and said so.
 */
export function conflictPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aurora Sync: conflicts</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2733;background:#f7f8fa}
 h1{font-size:20px;margin:0 0 16px} h2{font-size:16px;margin:20px 0 8px}
 .bar{display:flex;gap:12px;align-items:center;margin-bottom:16px;flex-wrap:wrap}
 input{padding:4px 6px;border:1px solid #c5ccd6;border-radius:4px}
 button{padding:6px 12px;border:1px solid #2d6cdf;background:#2d6cdf;color:#fff;border-radius:4px;cursor:pointer}
 button.secondary{background:#fff;color:#2d6cdf}
 ul#list{list-style:none;padding:0;margin:0} ul#list li{padding:8px;background:#fff;border:1px solid #dde2e8;margin-bottom:6px;border-radius:4px;cursor:pointer}
 ul#list li.selected{border-color:#2d6cdf}
 table{border-collapse:collapse;background:#fff;width:100%} th,td{border:1px solid #dde2e8;padding:6px 8px;text-align:left;vertical-align:top}
 tr.conflicting td{background:#fff4e5} tr.conflicting td.field{font-weight:600;color:#a15c00}
 #message{margin-top:12px;font-weight:600} .error{color:#b3261e} .ok{color:#1b7f3b} .muted{color:#6b7785}
</style></head>
<body>
<h1>Aurora Sync &middot; conflicts</h1>
<form class="bar" id="signin">
 <label>API token <input id="token" type="password" size="24" autocomplete="off" placeholder="API_TOKEN or API_READ_TOKEN"></label>
 <button id="show" type="submit">Show conflicts</button>
</form>
<div class="bar" id="session" hidden>
 <label>Your name <input id="who" size="18" value=""></label>
 <button class="secondary" id="reload" type="button">Reload</button>
 <button class="secondary" id="signout" type="button">Forget token</button>
</div>
<ul id="list"></ul>
<p id="empty" class="muted" hidden>No open conflicts.</p>
<section id="detail" hidden>
 <h2 id="title"></h2>
 <p class="muted" id="meta"></p>
 <table><thead><tr><th>Field</th><th>Base (last synced)</th><th>Aurora</th><th>External</th><th>Keep</th></tr></thead><tbody id="rows"></tbody></table>
 <div class="bar" style="margin-top:12px">
  <button id="keep-local">Keep Aurora</button>
  <button id="keep-external">Keep external</button>
  <button id="merge" class="secondary">Apply per-field choice</button>
  <label>Comment <input id="comment" size="30"></label>
 </div>
</section>
<div id="message" role="status"></div>
<script>
const $ = (id) => document.getElementById(id);
localStorage.removeItem('aurora-token'); // an earlier version kept it there
$('who').value = localStorage.getItem('aurora-who') || '';
let current = null;
function show(msg, ok) { const m = $('message'); m.textContent = msg; m.className = ok ? 'ok' : 'error'; }
function cell(text) { const td = document.createElement('td'); td.textContent = text === null || text === undefined ? '—' : String(text); return td; }
const token = () => sessionStorage.getItem('aurora-token') || '';
function clearData() {
  $('list').replaceChildren(); $('rows').replaceChildren(); $('detail').hidden = true; $('empty').hidden = true; current = null;
}
function signedOut(msg) {
  sessionStorage.removeItem('aurora-token');
  clearData();
  $('session').hidden = true; $('signin').hidden = false; $('token').value = '';
  show(msg, false);
  $('token').focus();
}
/** fetch with the session's token; a refused token signs out with a clear message (null: nothing to show) */
async function api(path, init) {
  const headers = Object.assign({}, (init && init.headers) || {}, { authorization: 'Bearer ' + token() });
  const res = await fetch(path, Object.assign({}, init || {}, { headers }));
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  if (res.status === 401) { signedOut('Wrong or missing token: the server refused it (401). Enter API_TOKEN or API_READ_TOKEN.'); return null; }
  if (res.status === 503) { signedOut((body && body.error) || 'The server has no token configured (503).'); return null; }
  return { res, body: body || {} };
}
async function load() {
  if (!token()) { signedOut('Enter the API token to see conflicts.'); return; }
  const out = await api('/api/conflicts');
  if (!out) return;
  if (!out.res.ok) { show(out.body.error || ('HTTP ' + out.res.status), false); return; }
  $('signin').hidden = true; $('session').hidden = false;
  const conflicts = out.body.conflicts || [];
  const list = $('list'); list.replaceChildren();
  $('empty').hidden = conflicts.length > 0;
  for (const c of conflicts) {
    const li = document.createElement('li');
    li.dataset.id = c.id;
    li.textContent = c.system + ' ' + c.entity_type + ' ' + c.local_id + ' — ' + (c.fields.join(', ') || 'changed on both sides');
    li.onclick = () => open(c.id);
    list.appendChild(li);
  }
  if (current && !conflicts.some((c) => c.id === current.id)) { $('detail').hidden = true; current = null; }
}
async function open(id) {
  const out = await api('/api/conflicts/' + encodeURIComponent(id));
  if (!out) return;
  if (!out.res.ok) { show(out.body.error || ('HTTP ' + out.res.status), false); return; }
  current = out.body;
  for (const li of $('list').children) li.classList.toggle('selected', li.dataset.id === id);
  const d = current.details;
  $('title').textContent = d.system + ' ' + d.entityType + ' ' + d.localId;
  $('meta').textContent = 'external id ' + d.externalId + ' · Aurora changed ' + d.local.updated_at + (d.local.deleted ? ' (deleted)' : '') +
    ' · external changed ' + d.external.updated_at + (current.autoResolveAt ? ' · resolves by policy at ' + current.autoResolveAt : '');
  const rows = $('rows'); rows.replaceChildren();
  for (const f of Object.keys(d.kinds)) {
    const tr = document.createElement('tr');
    const conflicting = d.fields.includes(f);
    if (conflicting) tr.className = 'conflicting';
    const name = cell(f); name.className = 'field'; tr.appendChild(name);
    tr.appendChild(cell(d.base ? d.base[f] : null));
    tr.appendChild(cell(d.local.values[f]));
    tr.appendChild(cell(d.external.values[f]));
    const pick = document.createElement('td');
    if (conflicting) {
      for (const side of ['local', 'external']) {
        const label = document.createElement('label');
        const r = document.createElement('input'); r.type = 'radio'; r.name = 'pick-' + f; r.value = side; r.checked = side === 'local';
        label.appendChild(r); label.appendChild(document.createTextNode(side === 'local' ? ' Aurora ' : ' external '));
        pick.appendChild(label);
      }
    }
    tr.appendChild(pick);
    rows.appendChild(tr);
  }
  $('detail').hidden = false;
}
async function resolve(body) {
  localStorage.setItem('aurora-who', $('who').value);
  body.resolvedBy = $('who').value || 'review page';
  if ($('comment').value) body.comment = $('comment').value;
  const out = await api('/api/conflicts/' + encodeURIComponent(current.id) + '/resolve', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!out) return;
  if (!out.res.ok) { show(out.body.error || ('HTTP ' + out.res.status), false); return; }
  show('Resolved: ' + out.body.summary, true);
  await load();
}
$('keep-local').onclick = () => resolve({ choice: 'local' });
$('keep-external').onclick = () => resolve({ choice: 'external' });
$('merge').onclick = () => {
  const fields = {};
  for (const f of current.details.fields) { const r = document.querySelector('input[name="pick-' + f + '"]:checked'); fields[f] = r ? r.value : 'local'; }
  resolve({ choice: 'merged', fields });
};
$('reload').onclick = load;
$('signout').onclick = () => signedOut('Token forgotten.');
$('signin').onsubmit = (ev) => {
  ev.preventDefault();
  const t = $('token').value.trim();
  $('token').value = '';
  if (!t) { show('Enter the API token to see conflicts.', false); return; }
  sessionStorage.setItem('aurora-token', t);
  show('', true);
  void load();
};
if (token()) void load(); else show('Enter the API token (API_TOKEN, or the read-only API_READ_TOKEN) to see conflicts.', false);
</script>
</body></html>`;
}
