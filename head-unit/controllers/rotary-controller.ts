/**
 * Keyboard and rotary-controller use: head units often have a knob whose turns arrive as arrow keys and whose
 * press arrives as Enter. Down/Right move the focus to the next control in reading order (the Tab order: header,
 * navigation, then the view's content, left column before right), Up/Left to the previous one, wrapping round;
 * Enter and Space activate (buttons do natively; Enter also toggles a checkbox). When the focused control has
 * gone (a view changed), the next turn starts from the view's content. Arrows inside a text field stay there.
 */
import type { ReactiveController } from 'lit';

const CONTROL = 'button, input, textarea, select, a[href], [tabindex]';

function isFocusable(el: HTMLElement): boolean {
  if (!el.matches(CONTROL) || el.tabIndex < 0) return false;
  if ((el as HTMLButtonElement).disabled) return false;
  return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
}

/**
 * Every focusable control under `root`, through shadow roots, in document (Tab) order; and where `mark` (say,
 * the focused element) stands among them: how many controls come before it, or -1 when it is not under `root`.
 */
export function focusableControls(
  root: Element | ShadowRoot,
  mark?: Element | null,
): { controls: HTMLElement[]; before: number } {
  const controls: HTMLElement[] = [];
  let before = -1;
  const walk = (node: Element | ShadowRoot) => {
    for (const child of node.children) {
      if (child === mark) before = controls.length;
      if (child instanceof HTMLElement && isFocusable(child)) controls.push(child);
      if (child.shadowRoot) walk(child.shadowRoot);
      walk(child);
    }
  };
  walk(root);
  return { controls, before };
}

/** The focused element itself, looking into shadow roots. */
export function deepActiveElement(): Element | null {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

const STEP: Record<string, 1 | -1> = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };

export class RotaryController implements ReactiveController {
  private readonly onKey = (event: KeyboardEvent) => this.handle(event);

  /** `root`: the app's shadow root; `content`: where a turn starts when the focus has gone */
  constructor(
    private readonly root: () => ShadowRoot | null,
    private readonly content: () => Element | null,
  ) {}

  hostConnected(): void {
    window.addEventListener('keydown', this.onKey);
  }

  hostDisconnected(): void {
    window.removeEventListener('keydown', this.onKey);
  }

  private handle(event: KeyboardEvent): void {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const target = event.composedPath()[0];
    if (event.key === 'Enter' && target instanceof HTMLInputElement && target.type === 'checkbox') {
      event.preventDefault();
      target.click();
      return;
    }
    const step = STEP[event.key];
    const root = this.root();
    if (!step || !root) return;
    if (
      target instanceof HTMLTextAreaElement ||
      (target instanceof HTMLInputElement && target.type !== 'checkbox')
    )
      return;
    const active = deepActiveElement();
    const { controls, before } = focusableControls(root, active);
    if (controls.length === 0) return;
    event.preventDefault();
    let next: HTMLElement | undefined;
    if (before >= 0) {
      // From a control, or from another focused element (an offer that took the focus): the next or previous.
      const onControl = controls[before] === active;
      const index = step > 0 ? before + (onControl ? 1 : 0) : before - 1;
      next = controls[(index + controls.length) % controls.length];
    } else {
      // The focus has gone (its view changed): start from the content, at its first or last control.
      const content = this.content();
      const inContent = content ? controls.filter((c) => isInside(c, content)) : [];
      const from = inContent.length > 0 ? inContent : controls;
      next = step > 0 ? from[0] : from[from.length - 1];
    }
    next?.focus();
  }
}

/** Whether `el` is inside `container`, through the shadow roots of the components between them. */
function isInside(el: Element, container: Element): boolean {
  for (let node: Node | null = el; node; ) {
    if (node === container) return true;
    node = node.parentNode instanceof ShadowRoot ? node.parentNode.host : node.parentNode;
  }
  return false;
}
