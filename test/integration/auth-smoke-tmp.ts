import { Browser } from '../helpers/browser.js';
import { startFakeIdp } from '../helpers/fake-idp.js';
import { startAuthProxy } from '../helpers/auth-proxy.js';
const idp = await startFakeIdp();
const p = await startAuthProxy({ provider: idp });
try {
  const b = new Browser();
  const page = await b.navigate(p.app('/some/path?q=1'));
  for (const h of page.hops) console.log(h.status, h.method, h.url, '\n   ->', h.location, h.setCookies, h.sentCookies);
  console.log(page.status, page.text().slice(0, 600));
  console.log(b.jar.all());
} finally {
  await p.close(); await idp.close();
  console.log(p.proxy.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n'));
}
