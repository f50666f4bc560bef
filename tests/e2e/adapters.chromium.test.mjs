// Every site adapter proved on a page in real Chromium: the real snapshots in
// tests/fixtures/real (chatgpt, claude, gemini, perplexity) and hand-written pages
// for the sites without one (tests/fixtures/sites), each served at the site's real URL
// with request routing. The page reader and the adapter registry are injected as one
// bundle (reader-bundle.mjs); the extension itself is not needed here.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { readerBundle } from './reader-bundle.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const REAL = path.resolve(ROOT, 'tests/fixtures/real');
const OURS = path.join(ROOT, 'tests/fixtures/sites');

let browser;
let bundle;

before(async () => {
  bundle = await readerBundle();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'],
  });
});
after(async () => { await browser?.close(); });

/** A snapshot file as a whole document (the real snapshots are fragments). */
function documentOf(file, title = 'Chat') {
  const html = fs.readFileSync(file, 'utf8');
  if (/<html[\s>]/i.test(html)) return html;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${html}</body></html>`;
}

/**
 * Serves `html` at `url` (every other request of that origin is refused, nothing
 * reaches the network), injects the reader, and reads the page as the content script
 * would: {site, conversationId, title, model, messages, composer}.
 */
async function readPage(url, html) {
  const context = await browser.newContext();
  try {
    await context.route('**/*', (route) => (route.request().url() === url
      ? route.fulfill({ contentType: 'text/html; charset=utf-8', body: html })
      : route.abort()));
    const page = await context.newPage();
    await page.goto(url);
    await page.addScriptTag({ content: bundle });
    return await page.evaluate(() => window.__tkReader.read());
  } finally {
    await context.close();
  }
}

const roles = (read) => read.messages.map((m) => m.role);
const text = (read) => read.messages.map((m) => m.markdown).join('\n\n');
const repeat = (pattern, n) => Array.from({ length: n }, () => pattern).flat();

function assertComposer(read, kind) {
  assert.ok(read.composer, 'the composer selector finds an element');
  assert.equal(read.composer.kind, kind);
  const c = read.composer;
  const ok = {
    prosemirror: c.contentEditable && c.classes.includes('ProseMirror'),
    quill: c.contentEditable && c.classes.includes('ql-editor'),
    lexical: c.contentEditable && c.lexical === 'true',
    textarea: c.tag === 'textarea',
    contenteditable: c.contentEditable,
  }[kind];
  assert.ok(ok, `the composer found is a ${kind} editor: ${JSON.stringify(c)}`);
}

function assertNoChrome(read, phrases) {
  for (const m of read.messages) {
    for (const phrase of phrases) {
      assert.ok(!m.markdown.includes(phrase), `interface text "${phrase}" leaked into a ${m.role} turn:\n${m.markdown}`);
    }
  }
}

/**
 * One row per page: where it is served, what it holds (counted by hand from the HTML),
 * and how its markup would look after the site renamed what the adapter relies on.
 */
const PAGES = [
  {
    name: 'ChatGPT',
    file: path.join(REAL, 'chatgpt/page-chat-simple.html'),
    url: 'https://chatgpt.com/c/6981fbd6-7a54-8006-a3c5-9e2d1f0b7c11',
    id: '6981fbd6-7a54-8006-a3c5-9e2d1f0b7c11',
    // 5 user + 6 assistant: the Deep Research request is answered twice (ack, report).
    roles: ['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'assistant', 'user', 'assistant'],
    phrases: ['「はい」とだけ答えて', 'いいえ', '# ChatGPTの機能概要', '**文章生成・編集**', '$\\int e^{x}\\,dx = e^{x} + C$'],
    chrome: ['Copy', 'help.openai.com', 'You said', 'ChatGPT said', 'QuillBot'],
    model: 'gpt-5-2',
    composer: 'prosemirror',
    renamed: (html) => html.replaceAll('data-message-author-role', 'data-author').replaceAll('data-turn=', 'data-speaker='),
  },
  {
    name: 'ChatGPT code',
    file: path.join(REAL, 'chatgpt/page-chat-code.html'),
    url: 'https://chatgpt.com/c/697a0c21-0b10-8327-9d2e-51f0c8a1b2c3',
    id: '697a0c21-0b10-8327-9d2e-51f0c8a1b2c3',
    roles: ['user', 'assistant'],
    phrases: ['check if a number is prime in TypeScript', '```typescript\nfunction isPrime(n: number): boolean {', 'if (n <= 1) return false;', '6k±1 optimization'],
    chrome: [],
    model: 'gpt-4',
    renamed: (html) => html.replaceAll('data-message-author-role', 'data-author').replaceAll('data-turn=', 'data-speaker='),
  },
  {
    name: 'Claude',
    file: path.join(REAL, 'claude/page-chat-simple.html'),
    url: 'https://claude.ai/chat/2f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a71',
    id: '2f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a71',
    roles: repeat(['user', 'assistant'], 7),
    phrases: ['Claude の html構造をテストするための質問です', '次の内容の artifact を作成して。\n\n-   Claude Code の概要について。', '1.  **調査の深さ**', '料金プラン（月額$20〜）', '$$\ne^{i\\pi} + 1 = 0\n$$', '$E = mc^2$'],
    chrome: ['Created a file', 'Presented file', 'Done', 'Copy', 'Retry', 'Jan 29', 'Research complete', '108 sources', 'Download', 'Preview contents'],
    title: 'Claude の HTML構造テスト',
    composer: 'prosemirror',
    renamed: (html) => html.replaceAll('data-testid="user-message"', 'data-testid="human-turn"').replaceAll('font-user-message', 'font-human')
      .replaceAll('data-is-streaming', 'data-live').replaceAll('font-claude-response', 'font-reply'),
  },
  {
    name: 'Gemini',
    file: path.join(REAL, 'gemini/page-chat-simple.html'),
    url: 'https://gemini.google.com/app/8c2f7d3e1a9b4c60',
    id: '8c2f7d3e1a9b4c60',
    roles: repeat(['user', 'assistant'], 3),
    phrases: ['テストのための質問をします', 'ありがとうございます。次は「いいえ」と回答してください。', '## 物理学・数学の主要な数式', '$$\n    E = mc^2\n    $$', '\\hat{f}(\\xi)'],
    chrome: ['あなたのプロンプト', 'Gemini の回答', 'コピー', '良い回答', 'content_copy'],
    model: '高速モード',
    composer: 'quill',
    renamed: (html) => html.replace(/user-query/g, 'prompt-turn').replace(/model-response/g, 'reply-turn').replace(/response-container/g, 'reply-box'),
  },
  {
    name: 'Gemini code block',
    file: path.join(REAL, 'gemini/page-code-block.html'),
    url: 'https://gemini.google.com/app/3b1e9a7c5d2f8e04',
    id: '3b1e9a7c5d2f8e04',
    roles: ['user', 'assistant'],
    phrases: ['Show me a code sample', 'Here is a markdown example.', '```markdown\n# Example\n\nconsole.log("ok");\n```'],
    chrome: ['09:01', '\nMarkdown\n'],
    renamed: (html) => html.replace(/user-query/g, 'prompt-turn').replace(/model-response/g, 'reply-turn').replace(/response-container/g, 'reply-box'),
  },
  {
    name: 'Perplexity',
    file: path.join(REAL, 'perplexity/page-chat-simple.html'),
    url: 'https://www.perplexity.ai/search/perplexitynohtmlgou-zao-wotesu-Qm3xT8a1Rk2',
    id: 'perplexitynohtmlgou-zao-wotesu-Qm3xT8a1Rk2',
    roles: repeat(['user', 'assistant'], 3),
    phrases: ['html構造をテストするための質問です', '次は「いいえ」だけ答えて', 'LaTeX 形式でいくつか数式を表示して', '$\\sin^2\\theta + \\cos^2\\theta = 1$'],
    chrome: ['Copy Query', 'Reviewed 10 sources', '10 sources', 'perplexity', 'Helpful', '\u200b'],
    composer: 'lexical',
    renamed: (html) => html.replaceAll('group/query', 'group/prompt').replaceAll('whitespace-pre-line', 'ws-lines')
      .replaceAll('markdown-content-', 'answer-body-').replace(/\bprose\b/g, 'copy-text').replaceAll('select-text', 'sel-text'),
  },
  {
    name: 'Perplexity without www',
    file: path.join(REAL, 'perplexity/page-chat-simple.html'),
    url: 'https://perplexity.ai/search/latex-maths-Zx81',
    id: 'latex-maths-Zx81',
    roles: repeat(['user', 'assistant'], 3),
    phrases: ['LaTeX 形式でいくつか数式を表示して'],
    chrome: [],
  },
  {
    name: 'Grok',
    file: path.join(OURS, 'grok.html'),
    url: 'https://grok.com/c/0e2b5d4a-7c1f-4a22-8b33-9e4455a6b7c8',
    id: '0e2b5d4a-7c1f-4a22-8b33-9e4455a6b7c8',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['What hydration is a 500 g flour, 375 g water dough?\nAnd is that too wet for a beginner?', '**75% hydration**', '-   Above 80% gets slack and sticky.', '```python\ndef hydration(flour_g, water_g):'],
    chrome: ['Thought for 12s', 'Copy', 'Regenerate', 'Edit', '\npython\n'],
    title: 'Sourdough hydration math',
    composer: 'textarea',
    renamed: (html) => html.replaceAll('id="response-', 'id="row-').replaceAll('items-end', 'self-end').replaceAll('items-start', 'self-start'),
  },
  {
    name: 'DeepSeek',
    file: path.join(OURS, 'deepseek.html'),
    url: 'https://chat.deepseek.com/a/chat/s/5d1f9c2a-3e7b-4a60-b8d4-2c9e0f1a7b36',
    id: '5d1f9c2a-3e7b-4a60-b8d4-2c9e0f1a7b36',
    roles: repeat(['user', 'assistant'], 3),
    phrases: ['为什么这个函数需要生命周期标注？', "```rust\nfn longest<'a>(a: &'a str, b: &'a str) -> &'a str {", '*the result lives no longer than both inputs*', '| String | yes |'],
    chrome: ['复制', '重新生成'],
    title: 'Rust lifetimes question',
    composer: 'textarea',
    renamed: (html) => html.replaceAll('ds-message', 'ds-chat-item'),
  },
  {
    name: 'Copilot',
    file: path.join(OURS, 'copilot.html'),
    url: 'https://copilot.microsoft.com/chats/Xk9pQ2rT7vLmB4nH',
    id: 'Xk9pQ2rT7vLmB4nH',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['Packing list for Iceland in October?\nFour days, mostly driving the Ring Road.', '**wind, rain and short days**', '3.  Microspikes for icy trails', '[Safetravel](https://safetravel.is/)', 'aurora forecast after 9 pm'],
    chrome: ['Copilot said', 'Copy', 'Like'],
    title: 'Packing list for Iceland in October',
    composer: 'textarea',
    renamed: (html) => html.replaceAll('data-content=', 'data-kind=').replaceAll('user-message', 'human-msg').replaceAll('ai-message', 'bot-msg'),
  },
  {
    name: 'Mistral',
    file: path.join(OURS, 'mistral.html'),
    url: 'https://chat.mistral.ai/chat/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['Conjugue « venir » au subjonctif présent.', '-   que nous venions', "```javascript\nconst formes = ['que je vienne', 'que nous venions'];"],
    chrome: ['Thought for 4s', 'The user wants', 'Copy', 'Rewrite', 'Edit'],
    title: 'Conjugaison du subjonctif',
    composer: 'textarea',
    renamed: (html) => html.replaceAll('data-message-author-role', 'data-sender'),
  },
  // Layouts of Aug-Oct 2026 and older/reduced pages (tests/fixtures/sites, each page's
  // head says what it models and the facts it rests on).
  {
    name: 'ChatGPT 2026-09',
    file: path.join(OURS, 'chatgpt-2026-09.html'),
    url: 'https://chatgpt.com/c/69c1d2e3-4f50-8001-9a2b-3c4d5e6f7a80',
    id: '69c1d2e3-4f50-8001-9a2b-3c4d5e6f7a80',
    roles: repeat(['user', 'assistant'], 3),
    phrases: ['How do I sort a Vec of structs by one field?\nDescending, please.', '```rust\npeople.sort_by(|a, b| b.age.cmp(&a.age));\n```',
      'For floats use **partial\\_cmp**.', '-   stable: keeps equal elements in order', 'And stable?', "You're welcome."],
    chrome: ['You said', 'ChatGPT said', 'Edit', 'Copy', 'Good response'],
    title: 'Sorting a list in Rust',
    composer: 'prosemirror',
    renamed: (html) => html.replaceAll('data-chatgpt-search-unit-key', 'data-unit').replaceAll('data-conversation-role', 'data-role')
      .replaceAll('data-user-message-bubble', 'data-bubble').replaceAll('data-markdown-text-style', 'data-style'),
  },
  {
    name: 'Claude 2026-10',
    file: path.join(OURS, 'claude-2026-10.html'),
    url: 'https://claude.ai/chat/7d3e9a10-2b4c-4f6e-8a01-c2d3e4f5a6b7',
    id: '7d3e9a10-2b4c-4f6e-8a01-c2d3e4f5a6b7',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['How long is the train from Paris to Lyon?', 'About **two hours** by TGV from Gare de Lyon.', '-   Fastest: 1 h 56', 'And the first train?', 'The first TGV leaves around 6 am.'],
    chrome: ['Searched the web', 'Thought for 12s', 'Copy', 'Retry', 'Feb 3', 'Edit'],
    title: 'Train times to Lyon',
    composer: 'contenteditable',
    renamed: (html) => html.replaceAll('data-testid="user-message"', 'data-testid="human"').replaceAll('data-cds=', 'data-ds=')
      .replaceAll('data-testid="assistant-message"', 'data-testid="reply"').replaceAll('data-is-streaming', 'data-live'),
  },
  {
    name: 'Claude older answers without the streaming wrapper',
    file: path.join(OURS, 'claude-unwrapped.html'),
    url: 'https://claude.ai/chat/2f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a71',
    id: '2f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a71',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['Claude の html構造をテストするための質問です', 'はい', '次は「いいえ」だけ答えて。', 'いいえ'],
    chrome: ['Copy', 'Retry', 'Edit'],
    title: 'Claude の HTML構造テスト',
  },
  {
    name: 'Perplexity 2026-09',
    file: path.join(OURS, 'perplexity-2026-09.html'),
    url: 'https://www.perplexity.ai/search/best-time-to-visit-kyoto-Hq7Zp2Lw',
    id: 'best-time-to-visit-kyoto-Hq7Zp2Lw',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['Best time to visit Kyoto?\nAvoiding crowds.', 'Go to **Fushimi Inari** before 7 am.', 'Plan three days there.', '## Three days in Kyoto', '1.  Higashiyama and Gion'],
    chrome: ['Copy Query', 'Reviewed 10 sources', 'japan-guide', 'Deep Research report', 'Working notes', '\u200b'],
    title: 'Best time to visit Kyoto',
    composer: 'lexical',
    renamed: (html) => html.replaceAll('group/user-bubble', 'group/bubble').replaceAll('data-renderer', 'data-r').replaceAll('select-text', 'sel-text')
      .replaceAll('data-workflow-final-text', 'data-final').replace(/\bprose\b/g, 'copy-text'),
  },
  {
    name: 'Perplexity with the question only in span.select-text',
    file: path.join(OURS, 'perplexity-reduced.html'),
    url: 'https://www.perplexity.ai/search/perplexitynohtmlgou-zao-wotesu-Qm3xT8a1Rk2',
    id: 'perplexitynohtmlgou-zao-wotesu-Qm3xT8a1Rk2',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['erplexityのhtml構造をテストするための質問です。「はい」とだけ答えて。', '次は「いいえ」だけ答えて'],
    chrome: ['Copy Query', '\u200b'],
  },
  {
    name: 'DeepSeek DeepThink',
    file: path.join(OURS, 'deepseek-deepthink.html'),
    url: 'https://chat.deepseek.com/a/search/s/7c2e4a18-9b3d-4f60-a1c2-d3e4f5a6b7c8',
    id: '7c2e4a18-9b3d-4f60-a1c2-d3e4f5a6b7c8',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['判断 97 是不是质数？', '**97 是质数。** 它不能被 2、3、5、7 整除。', '那 91 呢？', '91 不是质数：`91 = 7 × 13`。'],
    // The reasoning (and its header) is not the answer.
    chrome: ['REASONING', '平方根', '已深度思考', '复制'],
    title: 'Prime check',
    composer: 'textarea',
  },
  {
    name: 'Gemini 2026-03',
    file: path.join(OURS, 'gemini-2026-03.html'),
    url: 'https://gemini.google.com/app/5e7a9c1b3d2f4e60',
    id: '5e7a9c1b3d2f4e60',
    roles: ['user', 'assistant'],
    phrases: ['Show me a code sample', '```markdown\n# Example'],
    chrome: ['09:01', '\nMarkdown\n'],
    title: 'Show me a code sample',
  },
  {
    name: 'Grok 2026',
    file: path.join(OURS, 'grok-2026.html'),
    url: 'https://grok.com/chat/0a1b2c3d-5e6f-4a70-8b91-c2d3e4f5a6b7',
    id: '0a1b2c3d-5e6f-4a70-8b91-c2d3e4f5a6b7',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['How far is the Moon?', 'About **384,400 km** on average.', 'In light seconds?', 'About 1.28 light seconds.'],
    chrome: ['Thought for 3s', 'Copy', 'Regenerate', 'Edit'],
    title: 'Moon distance',
    composer: 'prosemirror',
    renamed: (html) => html.replaceAll('data-testid="user-message"', 'data-testid="q"').replaceAll('data-testid="assistant-message"', 'data-testid="a"'),
  },
  {
    name: 'Grok inside X',
    file: path.join(OURS, 'grok-2026.html'),
    url: 'https://x.com/i/grok?conversation=1949223611530703142',
    id: '1949223611530703142',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['About **384,400 km** on average.'],
    chrome: [],
  },
  {
    name: 'Mistral 2026',
    file: path.join(OURS, 'mistral-2026.html'),
    url: 'https://chat.mistral.ai/chat/6f5e4d3c-2b1a-4098-8776-655443322110',
    id: '6f5e4d3c-2b1a-4098-8776-655443322110',
    roles: ['user', 'assistant'],
    phrases: ['Un tableau des planètes, et du code pour le trier.', '| Planète | Lunes |', '| Mars | 2 |', '```python\nsorted(planetes, key=lambda p: p.lunes)\n```', 'Mars a **2** lunes.'],
    chrome: ['Planètes', 'Copier', 'Télécharger', 'Copy', '1:34am', '\npython\n'],
    title: 'Tableau des planètes',
    composer: 'textarea',
  },
  {
    name: 'Copilot 2026',
    file: path.join(OURS, 'copilot-2026.html'),
    url: 'https://copilot.microsoft.com/chats/Qw3eR5tY7uI9oP1a',
    id: 'Qw3eR5tY7uI9oP1a',
    roles: repeat(['user', 'assistant'], 2),
    phrases: ['How long to boil an egg?', '**6 minutes** for a soft yolk, 10 for hard.', 'At altitude?', 'Add about a minute per 1,000 m.'],
    chrome: ['Copilot said', 'Sources', 'bbcgoodfood', 'Was this helpful?'],
    title: 'Boiling an egg',
    composer: 'textarea',
  },
];

for (const page of PAGES) {
  describe(page.name, () => {
    test(`a ${page.name} conversation is read turn by turn, in order, with who said what`, async () => {
      const read = await readPage(page.url, documentOf(page.file));
      assert.ok(read, `an adapter claims ${new URL(page.url).hostname}`);
      assert.deepEqual(roles(read), page.roles);
      for (const m of read.messages) assert.notEqual(m.markdown, '', `no ${m.role} turn is empty`);
    });

    test(`the saved ${page.name} text holds what was said, code fenced with its language and math as TeX`, async () => {
      const read = await readPage(page.url, documentOf(page.file));
      const all = text(read);
      for (const phrase of page.phrases) assert.ok(all.includes(phrase), `"${phrase}" is in the saved text:\n${all}`);
    });

    if (page.chrome.length) {
      test(`buttons, labels and counters of the ${page.name} interface are not saved as chat text`, async () => {
        const read = await readPage(page.url, documentOf(page.file));
        assert.ok(read.messages.length > 0);
        assertNoChrome(read, page.chrome);
      });
    }

    test(`the ${page.name} conversation is known by the id in its address${page.model ? ', with the model shown on the page' : ''}${page.title ? ' and its title' : ''}`, async () => {
      const read = await readPage(page.url, documentOf(page.file));
      assert.equal(read.conversationId, page.id);
      if (page.model) assert.equal(read.model, page.model);
      if (page.title) assert.equal(read.title, page.title);
    });

    if (page.composer) {
      test(`the ${page.name} message box is found, and it is the ${page.composer} editor the restore must type into`, async () => {
        const read = await readPage(page.url, documentOf(page.file));
        assertComposer(read, page.composer);
      });
    }

    if (page.renamed) {
      test(`when ${page.name} renames its markup, no turns are found, so the health warning can fire`, async () => {
        const html = page.renamed(documentOf(page.file));
        const read = await readPage(page.url, html);
        assert.equal(read.conversationId, page.id, 'still a conversation address');
        assert.deepEqual(read.messages, []);
        // The same page before renaming does have turns: the rename is what broke it.
        const before = await readPage(page.url, documentOf(page.file));
        assert.equal(before.messages.length, page.roles.length);
      });
    }
  });
}

test('a Claude answer still being written is marked as streaming, and only that one', async () => {
  const page = PAGES.find((p) => p.name === 'Claude');
  const html = documentOf(page.file);
  const last = html.lastIndexOf('data-is-streaming="false"');
  const read = await readPage(page.url, html.slice(0, last) + 'data-is-streaming="true"' + html.slice(last + 'data-is-streaming="false"'.length));
  assert.deepEqual(read.messages.map((m) => m.streaming), [...Array(13).fill(false), true]);
});

test('a Gemini prompt typed on several lines keeps its line breaks', async () => {
  const page = PAGES.find((p) => p.name === 'Gemini');
  const line = /<p([^>]*class="query-text-line[^"]*")\s*>\s*ありがとうございます。次は「いいえ」と回答してください。/;
  const html = documentOf(page.file).replace(line, '<p$1>First line</p><p$1><br></p><p$1>ありがとうございます。次は「いいえ」と回答してください。');
  const read = await readPage(page.url, html);
  assert.equal(read.messages[2].markdown, 'First line\n\nありがとうございます。次は「いいえ」と回答してください。');
});

test('ChatGPT turns keep the message ids the site gives them', async () => {
  const page = PAGES.find((p) => p.name === 'ChatGPT code');
  const read = await readPage(page.url, documentOf(page.file));
  assert.deepEqual(read.messages.map((m) => m.turnId), ['msg-0', 'msg-1']);
});

test('addresses that are not a conversation give no conversation id', async () => {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.setContent('<!doctype html><title>x</title>');
  await tab.addScriptTag({ content: bundle });
  const ids = await tab.evaluate(() => {
    const { adapterFor, conversationIdOf } = window.__tkReader;
    return [
      'https://chatgpt.com/', 'https://claude.ai/new', 'https://gemini.google.com/app',
      'https://www.perplexity.ai/', 'https://grok.com/', 'https://chat.deepseek.com/',
      'https://copilot.microsoft.com/', 'https://chat.mistral.ai/chat',
      'https://x.com/i/grok', 'https://grok.com/c?rid=abc', 'https://x.com/home?conversation=123',
      'https://chat.deepseek.com/a/chat/', 'https://x.com/i/grok/share/abc?conversation=123',
    ].map((url) => conversationIdOf(adapterFor(new URL(url).hostname), url));
  });
  await context.close();
  assert.deepEqual(ids, Array(13).fill(null));
});

test('on x.com only the Grok pages belong to an adapter', async () => {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.setContent('<!doctype html><title>x</title>');
  await tab.addScriptTag({ content: bundle });
  const sites = await tab.evaluate(() => [
    'https://x.com/i/grok', 'https://x.com/i/grok?conversation=1', 'https://x.com/i/grok/share/a',
    'https://x.com/', 'https://x.com/home', 'https://x.com/i/grokker', 'https://x.com/elonmusk/status/1?conversation=2',
  ].map((url) => window.__tkReader.adapterForUrl(url)?.site ?? null));
  await context.close();
  assert.deepEqual(sites, ['grok', 'grok', 'grok', null, null, null, null]);
});

test('ChatGPT 2026-09 turns keep the first of their message ids', async () => {
  const page = PAGES.find((p) => p.name === 'ChatGPT 2026-09');
  const read = await readPage(page.url, documentOf(page.file));
  assert.deepEqual(read.messages.map((m) => m.turnId), ['a1f0-user-7', 'b2e1-asst-7', 'c3d2-user-8', 'd4c3-asst-8', 'e5b4-user-9', 'f6a5-asst-9']);
});

test('a Claude 2026-10 answer still being written is marked as streaming, and only that one', async () => {
  const page = PAGES.find((p) => p.name === 'Claude 2026-10');
  const read = await readPage(page.url, documentOf(page.file));
  assert.deepEqual(read.messages.map((m) => m.streaming), [false, false, false, true]);
});

test('a page mixing ChatGPT generations keeps every turn, in document order', async () => {
  // The real 2026-02 turns (article / data-message-author-role), then the 2026-09 ones
  // (data-turn-key units), as a page re-rendered mid-rollout shows them.
  const old = fs.readFileSync(path.join(REAL, 'chatgpt/page-chat-code.html'), 'utf8').replace(/<!--[\s\S]*?-->/, '');
  const html = documentOf(path.join(OURS, 'chatgpt-2026-09.html')).replace('<div class="thread-scroll-container">', `<div class="thread-scroll-container">${old}`);
  const read = await readPage('https://chatgpt.com/c/697a0c21-0b10-8327-9d2e-51f0c8a1b2c3', html);
  assert.deepEqual(roles(read), repeat(['user', 'assistant'], 4));
  assert.deepEqual(read.messages.map((m) => m.turnId), ['msg-0', 'msg-1', 'a1f0-user-7', 'b2e1-asst-7', 'c3d2-user-8', 'd4c3-asst-8', 'e5b4-user-9', 'f6a5-asst-9']);
  assert.match(read.messages[1].markdown, /^Here's a TypeScript function/);
  assert.equal(read.messages[7].markdown, "You're welcome.");
});

test('a page mixing Claude generations keeps every turn, in document order', async () => {
  // The reduced real page (one answer with the streaming wrapper, one without), then a
  // 2026-10 exchange.
  const older = documentOf(path.join(OURS, 'claude-unwrapped.html'));
  const newer = documentOf(path.join(OURS, 'claude-2026-10.html'));
  const thread = newer.slice(newer.indexOf('<div class="flex-1 flex flex-col">'), newer.indexOf('<fieldset>'));
  const html = older.replace('</body>', `${thread}</body>`);
  const read = await readPage('https://claude.ai/chat/2f9a4c1e-8d3b-4e7a-9c15-0b6d2e8f4a71', html);
  assert.deepEqual(roles(read), repeat(['user', 'assistant'], 4));
  assert.deepEqual(read.messages.map((m) => m.markdown.split('\n')[0]),
    ['Claude の html構造をテストするための質問です。「はい」とだけ答えて。', 'はい', '次は「いいえ」だけ答えて。', 'いいえ',
      'How long is the train from Paris to Lyon?', 'About **two hours** by TGV from Gare de Lyon.', 'And the first train?', 'The first TGV leaves around 6 am.']);
});

test('each role falls back on its own, containers and nested matches are resolved', async () => {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.setContent(`<!doctype html><body>
    <div id="t1" class="u">Q1</div>
    <div id="c1" class="old-q"><div id="t2" class="u">Q2</div><div id="t3" class="a"><p class="md">A2</p></div></div>
    <div id="t4" class="u a"><p class="md">A3</p></div>
    <div id="x1" class="u a">neither</div>
    <div id="t5" class="old-a"><div class="a"><p class="md">A4</p></div></div>
    <div id="t6" class="a"><div class="a"><p class="md">A5</p></div></div>
  </body>`);
  await tab.addScriptTag({ content: bundle });
  const found = await tab.evaluate(() => {
    const adapter = {
      layouts: [
        { turns: { user: ['.u'], assistant: ['.a'] } },
        { turns: { user: ['.old-q'], assistant: ['.old-a'] } },
      ],
      content: { user: { selectors: ['.q'], format: 'text' }, assistant: { selectors: ['.md'], format: 'markdown' } },
    };
    const perRole = {
      // No user turn at the first level: users fall back alone, answers keep theirs.
      turns: { user: ['.missing', 'b'], assistant: ['i'] },
      content: { user: { selectors: [], format: 'text' }, assistant: { selectors: [], format: 'text' } },
    };
    const other = document.createElement('div');
    other.innerHTML = '<b>q</b><i>a</i><b>q2</b><i>a2</i>';
    return {
      layouts: window.__tkReader.findTurns(adapter).map(({ el, role }) => `${el.id}:${role}`),
      perRole: window.__tkReader.findTurns(perRole, other).map(({ el, role }) => `${el.textContent}:${role}`),
    };
  });
  await context.close();
  // c1 holds turns of both roles: a container, not a turn. t4 matches both roles equally
  // and holds an answer's content: an answer. x1 matches both and holds neither: no turn.
  // t5 (an older layout) holds a newer answer of the same role: one turn. t6 nests.
  assert.deepEqual(found.layouts, ['t1:user', 't2:user', 't3:assistant', 't4:assistant', 't5:assistant', 't6:assistant']);
  assert.deepEqual(found.perRole, ['q:user', 'a:assistant', 'q2:user', 'a2:assistant']);
});

test('a Le Chat table kept in an attribute is parsed inert: nothing in it runs or loads', async () => {
  const page = PAGES.find((p) => p.name === 'Mistral 2026');
  const requests = [];
  const context = await browser.newContext();
  try {
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.request().url() === page.url
        ? route.fulfill({ contentType: 'text/html; charset=utf-8', body: documentOf(page.file) })
        : route.abort();
    });
    const tab = await context.newPage();
    await tab.goto(page.url);
    await tab.addScriptTag({ content: bundle });
    const before = await tab.evaluate(() => document.documentElement.outerHTML);
    const read = await tab.evaluate(() => window.__tkReader.read());
    await tab.waitForTimeout(200);
    assert.ok(text(read).includes('| Mars | 2 |'));
    assert.equal(await tab.evaluate(() => window.__tkPwned), undefined, 'no handler of the table HTML ran');
    assert.ok(!requests.some((u) => u.includes('tracker.example')), `nothing of the table HTML loaded: ${requests.join(', ')}`);
    assert.equal(await tab.evaluate(() => document.documentElement.outerHTML), before, 'the live page is unchanged');
  } finally {
    await context.close();
  }
});
