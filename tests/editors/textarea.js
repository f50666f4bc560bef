// DeepSeek / Mistral / Copilot style composer: a textarea owned by a framework.
// Like React's value tracking, it remembers the last value set through the element's
// `value` property and ignores `input` events that do not change it, so setting
// `area.value` directly is lost; only the prototype's setter plus `input` gets in.
import './theme.js';

const area = document.getElementById('chat-input');
const native = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value');
let tracked = area.value;
let state = area.value;
Object.defineProperty(area, 'value', {
  configurable: true,
  get() { return native.get.call(this); },
  set(v) { tracked = String(v); native.set.call(this, v); },
});
area.addEventListener('input', () => {
  const now = native.get.call(area);
  if (now === tracked) return;
  tracked = now;
  state = now;
});
window.__editorText = () => state;
