import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Raw HTML in an answer is shown as the text it is, not markup: nothing a model writes becomes
    // an element (DOMPurify would strip the dangerous parts, but Chrome reports a CSP violation
    // for any event-handler attribute while merely parsing it, which is noise in the console).
    html: ({ text }) => escapeHtml(text),
    // A model's image would be a request to a server it chose (and the CSP blocks it anyway):
    // it becomes a link the user can choose to follow.
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || 'image')}</a>`,
  },
});

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** An instance of its own, so the link hook below touches nothing else on the page. */
const purify = DOMPurify(window);

/** Only these schemes survive in `href`/`src`; relative links, `javascript:` and `data:` do not. */
const allowedUri = /^(?:https?|mailto):/i;

purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    // Model output is untrusted: links open outside the console and get no window.opener.
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const sanitizeConfig = {
  USE_PROFILES: { html: true },
  ALLOWED_URI_REGEXP: allowedUri,
  // img: never produced by the renderer above; refused here too, should that ever change.
  FORBID_TAGS: [
    'style',
    'iframe',
    'form',
    'input',
    'button',
    'textarea',
    'select',
    'svg',
    'math',
    'img',
  ],
  // Inline styles would only trip the CSP (style-src 'self').
  FORBID_ATTR: ['style'],
};

/**
 * Markdown to HTML that is safe to insert: marked renders the Markdown (raw HTML escaped), then
 * DOMPurify keeps only harmless markup and links. Never insert marked's output unsanitised.
 */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false });
  return purify.sanitize(html, sanitizeConfig);
}
