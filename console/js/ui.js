// Small DOM helpers shared by the screens: element building, the page message, the confirm <dialog>, and a
// type-ahead combobox (ARIA 1.2 pattern) for picking a QuickBooks customer.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function showMessage(text, { ok = false } = {}) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.classList.toggle("ok", ok);
  box.setAttribute("role", ok ? "status" : "alert");
  box.hidden = !text;
}

export function clearMessage() {
  showMessage("");
}

// Runs `work`, showing an API refusal's message in the page; returns undefined when it failed.
export async function attempt(work) {
  try {
    return await work();
  } catch (error) {
    showMessage(error.text || error.message || String(error));
    return undefined;
  }
}

export function confirmDialog({ title, body, action }) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  const text = document.getElementById("confirm-text");
  text.replaceChildren(...(Array.isArray(body) ? body : [el("p", { text: body })]));
  document.getElementById("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  document.getElementById("confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export function formatDate(value) {
  return value ? new Date(value).toLocaleString() : "—";
}

let comboCount = 0;

// A text box that suggests QuickBooks customers as you type. `search(text)` returns [{id, label}];
// `initial` are shown on focus (e.g. the matching candidates). `combo.selected` is the chosen one.
export function qboCombobox({ label, search, initial = () => Promise.resolve([]) }) {
  const id = `combo-${++comboCount}`;
  const input = el("input", {
    type: "text", id, role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
    "aria-controls": `${id}-list`, autocomplete: "off", "aria-label": label,
  });
  const list = el("ul", { id: `${id}-list`, role: "listbox", "aria-label": label, hidden: true });
  const wrapper = el("div", { class: "combo" }, input, list);
  const combo = { element: wrapper, input, selected: null };
  let options = [];
  let active = -1;
  let timer = null;

  function render(items) {
    options = items;
    active = -1;
    list.replaceChildren(
      ...items.map((item, index) =>
        el("li", {
          role: "option", id: `${id}-${index}`, "aria-selected": "false", text: item.label,
          onmousedown: (event) => { event.preventDefault(); choose(index); },
        }),
      ),
    );
    const open = items.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    input.removeAttribute("aria-activedescendant");
  }
  function highlight(index) {
    active = index;
    [...list.children].forEach((node, i) => node.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) input.setAttribute("aria-activedescendant", `${id}-${index}`);
  }
  function choose(index) {
    combo.selected = options[index];
    input.value = options[index].label;
    render([]);
    input.dispatchEvent(new Event("change"));
  }
  input.addEventListener("focus", async () => {
    if (!input.value) render(await initial());
  });
  input.addEventListener("input", () => {
    combo.selected = null;
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) return render([]);
    timer = setTimeout(async () => {
      const found = await search(text).catch((error) => { showMessage(error.text || error.message); return []; });
      if (input.value.trim() === text) render(found);
    }, 250);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && options.length) { event.preventDefault(); highlight((active + 1) % options.length); }
    else if (event.key === "ArrowUp" && options.length) { event.preventDefault(); highlight((active - 1 + options.length) % options.length); }
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(active); }
    else if (event.key === "Escape") render([]);
  });
  input.addEventListener("blur", () => setTimeout(() => render([]), 150));
  return combo;
}
