// Customer Matching: Unlinked Customers (reason, candidates, a QuickBooks Customer type-ahead, Link?, Merge)
// and Linked Customers (expanded with +, Unlink?). Search and paging use the API's cursors, so a list of
// 10,000 customers costs one page per view.
import { api } from "../api.js";
import { attempt, confirmDialog, el, formatDate, qboCombobox, showMessage } from "../ui.js";

const PAGE_SIZE = 25;
const REASONS = {
  ambiguous: "Several QuickBooks customers match this name",
  inactive_name_holder: "An inactive QuickBooks customer has this name",
  display_name_taken: "A QuickBooks customer nobody is linked to has this name",
  already_linked: "Its match is linked to another PaySimple customer",
  creating: "Being created in QuickBooks",
  manual_unlink: "Unlinked by an admin",
  realm_changed: "QuickBooks company changed",
  name: "Matched by name",
  "name+email": "Matched by name and email",
  manual: "Linked by an admin",
  created: "Created in QuickBooks",
  merged: "Merged",
};

export function reasonText(reason) {
  return REASONS[reason] || reason || "—";
}

let state = null;

export async function render(container, { merchantId, params }) {
  state = {
    merchantId, status: params.get("list") === "linked" ? "linked" : "unlinked", query: "", cursors: [null],
    page: 0, selected: new Set(), container,
  };
  const search = el("input", { type: "search", id: "customer-search", placeholder: "Name, email or PaySimple id" });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.query = search.value.trim(); resetPaging(); load(); }, 300);
  });
  const tabs = el(
    "div", { class: "tabs", role: "group", "aria-label": "Which customers" },
    tabButton("unlinked", "Unlinked Customers"),
    tabButton("linked", "Linked Customers"),
  );
  container.append(
    el("h1", { text: "Customer Matching" }),
    tabs,
    el("div", { class: "toolbar" },
      el("div", { class: "field" }, el("label", { for: "customer-search", text: "Search" }), search),
      el("button", { type: "button", id: "merge-button", text: "Merge", onclick: mergeSelected,
        hidden: state.status !== "unlinked" })),
    el("div", { id: "customer-list" }),
    el("div", { class: "pager" },
      el("button", { type: "button", id: "previous-page", text: "Previous page", onclick: () => turn(-1) }),
      el("span", { id: "page-number", "aria-live": "polite" }),
      el("button", { type: "button", id: "next-page", text: "Next page", onclick: () => turn(1) })),
  );
  await load();
}

function tabButton(status, label) {
  return el("button", {
    type: "button", "aria-pressed": String(state.status === status), text: label,
    onclick: (event) => {
      state.status = status;
      for (const button of event.target.parentElement.children) button.setAttribute("aria-pressed", "false");
      event.target.setAttribute("aria-pressed", "true");
      state.container.querySelector("#merge-button").hidden = status !== "unlinked";
      resetPaging();
      load();
    },
  });
}

function resetPaging() {
  state.cursors = [null];
  state.page = 0;
  state.selected.clear();
}

function turn(step) {
  state.page = Math.max(0, state.page + step);
  load();
}

async function load() {
  const { merchantId, status, query, page } = state;
  const result = await attempt(() =>
    api.get(`/admin/merchants/${merchantId}/customers`, {
      status, q: query, cursor: state.cursors[page], limit: PAGE_SIZE,
    }),
  );
  if (!result) return;
  state.cursors[page + 1] = result.next_cursor;
  const list = state.container.querySelector("#customer-list");
  list.replaceChildren(status === "unlinked" ? unlinkedTable(result.items) : linkedTable(result.items));
  state.container.querySelector("#previous-page").disabled = page === 0;
  state.container.querySelector("#next-page").disabled = !result.next_cursor;
  state.container.querySelector("#page-number").textContent = `Page ${page + 1}`;
}

function customerName(customer) {
  return `${customer.first_name} ${customer.last_name}`.trim();
}

function qboSearch(merchantId) {
  return async (text) => {
    const found = await api.get(`/admin/merchants/${merchantId}/qbo/customers`, { q: text });
    return found.items.map((hit) => ({
      id: hit.qbo_customer_id,
      label: `${hit.display_name}${hit.email ? ` <${hit.email}>` : ""}${hit.active ? "" : " (inactive)"}${
        hit.linked_paysimple_customer_id ? ` (linked to ${hit.linked_paysimple_customer_id})` : ""}`,
      name: hit.display_name,
    }));
  };
}

function candidatesOf(merchantId, customerId) {
  return async () => {
    const detail = await api.get(`/admin/merchants/${merchantId}/customers/${customerId}`, { history_limit: 1 });
    return detail.candidates.map((candidate) => ({
      id: candidate.qbo_customer_id,
      label: `${candidate.display_name}${candidate.email ? ` <${candidate.email}>` : ""} (candidate)`,
      name: candidate.display_name,
    }));
  };
}

function unlinkedTable(items) {
  if (!items.length) return el("p", { class: "note", text: "No unlinked customers." });
  const rows = items.map((customer) => {
    const name = customerName(customer);
    const combo = qboCombobox({
      label: `QuickBooks Customer for ${name}`,
      search: qboSearch(state.merchantId),
      initial: candidatesOf(state.merchantId, customer.paysimple_customer_id),
    });
    const select = el("input", {
      type: "checkbox", "aria-label": `Select ${name} for merge`,
      onchange: (event) => {
        if (event.target.checked) state.selected.add(customer);
        else state.selected.delete(customer);
      },
    });
    const link = el("button", {
      type: "button", text: "Link?", "aria-label": `Link? ${name}`,
      onclick: () => linkCustomer(customer, combo),
    });
    const candidates = customer.candidate_count
      ? `${customer.candidate_count} candidate${customer.candidate_count === 1 ? "" : "s"}` : "no candidates";
    return el("tr", {},
      el("td", {}, select),
      el("td", {}, name, el("div", { class: "note", text: `PaySimple ${customer.paysimple_customer_id}` })),
      el("td", { text: customer.email || "—" }),
      el("td", {}, reasonText(customer.reason), el("div", { class: "note", text: candidates })),
      el("td", {}, combo.element),
      el("td", {}, link));
  });
  return el("table", {},
    el("caption", { class: "visually-hidden", text: "Unlinked Customers" }),
    el("thead", {}, el("tr", {}, ...["Merge", "PaySimple Customer", "Email", "Reason", "QuickBooks Customer", ""]
      .map((heading) => el("th", { scope: "col", text: heading })))),
    el("tbody", {}, rows));
}

async function linkCustomer(customer, combo) {
  const name = customerName(customer);
  if (!combo.selected) {
    showMessage(`Pick a QuickBooks customer for ${name} first: type in its QuickBooks Customer box.`);
    combo.input.focus();
    return;
  }
  const confirmed = await confirmDialog({
    title: "Link these customers?",
    body: `Link PaySimple customer ${name} (${customer.paysimple_customer_id}) to QuickBooks customer `
      + `${combo.selected.name}? From now on its changes update that QuickBooks customer.`,
    action: "Link",
  });
  if (!confirmed) return;
  const linked = await attempt(() => api.post(`/admin/merchants/${state.merchantId}/links`, {
    paysimple_customer_id: customer.paysimple_customer_id, qbo_customer_id: combo.selected.id,
  }));
  if (linked) {
    showMessage(`${name} is linked to ${combo.selected.name}.`, { ok: true });
    await load();
  }
}

async function mergeSelected() {
  const chosen = [...state.selected];
  if (chosen.length < 2) {
    showMessage("Select two or more duplicate unlinked customers to merge.");
    return;
  }
  const combo = qboCombobox({
    label: "QuickBooks Customer for the merged record",
    search: qboSearch(state.merchantId),
    initial: candidatesOf(state.merchantId, chosen[0].paysimple_customer_id),
  });
  const radios = chosen.map((customer, index) => el("div", {},
    el("input", { type: "radio", name: "merge-primary", id: `primary-${index}`, value: customer.paysimple_customer_id,
      checked: index === 0 }),
    el("label", { for: `primary-${index}`, text: ` ${customerName(customer)} (${customer.paysimple_customer_id})` })));
  const confirmed = await confirmDialog({
    title: "Merge duplicates?",
    body: [
      el("p", { text: "The record you keep is linked; the others are merged into it and no longer sync on their own." }),
      el("fieldset", {}, el("legend", { text: "Keep" }), radios),
      el("p", {}, el("span", { text: "QuickBooks Customer: " })), combo.element,
    ],
    action: "Merge",
  });
  if (!confirmed) return;
  const primary = document.querySelector('input[name="merge-primary"]:checked')?.value || chosen[0].paysimple_customer_id;
  const merged = await attempt(() => api.post(`/admin/merchants/${state.merchantId}/merges`, {
    primary_paysimple_customer_id: primary,
    duplicate_paysimple_customer_ids: chosen.map((c) => c.paysimple_customer_id).filter((id) => id !== primary),
    qbo_customer_id: combo.selected ? combo.selected.id : undefined,
  }));
  if (merged) {
    showMessage(`Merged ${merged.merged_paysimple_customer_ids.length} duplicate(s) into ${primary}.`, { ok: true });
    resetPaging();
    await load();
  }
}

function linkedTable(items) {
  if (!items.length) return el("p", { class: "note", text: "No linked customers." });
  const body = el("tbody");
  for (const customer of items) {
    const name = customerName(customer);
    const detailRow = el("tr", { class: "detail", hidden: true, id: `detail-${customer.paysimple_customer_id}` },
      el("td", { colspan: "6" }));
    const expand = el("button", {
      type: "button", text: "+", "aria-expanded": "false", "aria-label": `Show details of ${name}`,
      "aria-controls": detailRow.id,
      onclick: async (event) => {
        const open = event.target.getAttribute("aria-expanded") !== "true";
        event.target.setAttribute("aria-expanded", String(open));
        event.target.textContent = open ? "−" : "+";
        detailRow.hidden = !open;
        if (open) await fillDetail(detailRow.firstChild, customer);
      },
    });
    body.append(
      el("tr", {},
        el("td", {}, expand),
        el("td", {}, name, el("div", { class: "note", text: `PaySimple ${customer.paysimple_customer_id}` })),
        el("td", { text: customer.email || "—" }),
        el("td", { text: customer.qbo_customer_id || "—" }),
        el("td", { text: reasonText(customer.reason) }),
        el("td", { text: formatDate(customer.last_synced_at) })),
      detailRow);
  }
  return el("table", {},
    el("caption", { class: "visually-hidden", text: "Linked Customers" }),
    el("thead", {}, el("tr", {}, ...["", "PaySimple Customer", "Email", "QuickBooks Customer", "Linked by", "Last synced"]
      .map((heading) => el("th", { scope: "col", text: heading })))),
    body);
}

async function fillDetail(cell, customer) {
  const detail = await attempt(() =>
    api.get(`/admin/merchants/${state.merchantId}/customers/${customer.paysimple_customer_id}`, { history_limit: 5 }));
  if (!detail) return;
  const name = customerName(customer);
  const unlink = el("button", {
    type: "button", class: "danger", text: "Unlink?", "aria-label": `Unlink? ${name}`,
    onclick: async () => {
      const confirmed = await confirmDialog({
        title: "Unlink this customer?",
        body: `Unlink ${name} from QuickBooks customer ${customer.qbo_customer_id}? It moves back to Unlinked `
          + "Customers, and its changes stop reaching QuickBooks until it is linked again. Its history is kept.",
        action: "Unlink",
      });
      if (!confirmed) return;
      const done = await attempt(() =>
        api.delete(`/admin/merchants/${state.merchantId}/links/${customer.paysimple_customer_id}`));
      if (done) {
        showMessage(`${name} is unlinked and back in Unlinked Customers.`, { ok: true });
        await load();
      }
    },
  });
  const history = detail.history.map((entry) => el("li", {},
    `${formatDate(entry.recorded_at)}: ${entry.action}`,
    Object.keys(entry.changes || {}).length ? ` (${Object.keys(entry.changes).join(", ")})` : ""));
  cell.replaceChildren(
    el("dl", { class: "facts" },
      el("dt", { text: "QuickBooks customer" }), el("dd", { text: customer.qbo_customer_id }),
      el("dt", { text: "Why linked" }), el("dd", { text: reasonText(customer.reason) }),
      el("dt", { text: "Last change in PaySimple" }), el("dd", { text: formatDate(customer.last_event_at) })),
    el("p", { class: "note", text: "Recent history" }),
    el("ul", {}, history),
    unlink);
}
