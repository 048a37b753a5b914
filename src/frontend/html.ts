// HTML escaping for every page Postern renders itself (error pages, the
// user and sign-out pages, the development identity provider, the demo).
// One implementation, so that a fix to it reaches every page.

/** Escapes `& < > " '` for HTML text and quoted attributes; returns `text` itself when nothing needs escaping. */
export function escapeHtml(text: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    let entity: string;
    switch (text.charCodeAt(i)) {
      case 0x26: entity = '&amp;'; break;
      case 0x3c: entity = '&lt;'; break;
      case 0x3e: entity = '&gt;'; break;
      case 0x22: entity = '&quot;'; break;
      case 0x27: entity = '&#39;'; break;
      default: continue;
    }
    out += text.slice(last, i) + entity;
    last = i + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}
