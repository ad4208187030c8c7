// Customer Matching: Unlinked Customers (reason, candidates, a QuickBooks Customer type-ahead, Link?, Create
// in QuickBooks, Merge), Linked Customers (expanded with +: what a person changed in QuickBooks, history,
// Unlink?) and Merged Customers (Unmerge). Search and paging use the API's cursors, so a list of 10,000
// customers costs one page per view.
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
  created_by_admin: "Created in QuickBooks by an admin",
  merged: "Merged",
  merge: "Merged duplicates",
  unmerged: "Unmerged by an admin",
  unlinked_by_admin: "Unlinked by an admin",
  no_match: "No QuickBooks customer matches: created on its next save in PaySimple",
  qbo_customer_missing: "Its QuickBooks customer was deleted or merged away",
  qbo_merge: "Moved to the customer QuickBooks merged it into",
  qbo_merged_into_linked: "QuickBooks merged its customer into one linked to someone else",
  create_rejected: "QuickBooks refused to create it",
  name_collision: "Its name is taken in QuickBooks, even with the suffix",
};
const FLAGS = { inactive: "Inactive in QuickBooks", deleted: "Deleted in QuickBooks" };
const FIELDS = {
  GivenName: "First name", FamilyName: "Last name", MiddleName: "Middle name", CompanyName: "Company",
  PrimaryEmailAddr: "Email", PrimaryPhone: "Phone", AlternatePhone: "Alternate phone", Mobile: "Mobile",
  Fax: "Fax", WebAddr: "Website", Notes: "Notes", BillAddr: "Billing address", ShipAddr: "Shipping address",
};
const TABS = { unlinked: "Unlinked Customers", linked: "Linked Customers", merged: "Merged Customers" };

export function reasonText(reason) {
  return REASONS[reason] || reason || "—";
}

let state = null;

export async function render(container, { merchantId, params }) {
  const list = params.get("list");
  state = {
    merchantId, status: list in TABS ? list : "unlinked", query: "", cursors: [null],
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
    ...Object.entries(TABS).map(([status, label]) => tabButton(status, label)),
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
  const tables = { unlinked: unlinkedTable, linked: linkedTable, merged: mergedTable };
  list.replaceChildren(tables[status](result.items));
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
      label: `${candidateText(candidate)} (candidate)`,
      name: candidate.display_name,
    }));
  };
}

function candidateText(candidate) {
  return `${candidate.display_name}${candidate.email ? ` <${candidate.email}>` : ""}${
    candidate.active ? "" : " (inactive)"}`;
}

// The row's candidates as the list gives them (the first three, and how many in all): no request per row.
function candidatesNote(customer) {
  if (!customer.candidate_count) return el("div", { class: "note", text: "No candidates" });
  const named = customer.first_candidates.map(candidateText);
  const more = customer.candidate_count - named.length;
  if (more > 0) named.push(`+${more} more`);
  return el("div", { class: "note candidates" },
    `Candidate${customer.candidate_count === 1 ? "" : "s"}: `,
    el("ul", {}, named.map((text) => el("li", { text }))));
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
    const create = el("button", {
      type: "button", text: "Create in QuickBooks", "aria-label": `Create ${name} in QuickBooks`,
      onclick: () => createInQuickBooks(customer),
    });
    return el("tr", {},
      el("td", {}, select),
      el("td", {}, name, el("div", { class: "note", text: `PaySimple ${customer.paysimple_customer_id}` })),
      el("td", { text: customer.email || "—" }),
      el("td", {}, reasonText(customer.reason), candidatesNote(customer)),
      el("td", {}, combo.element),
      el("td", { class: "actions" }, link, create));
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

async function createInQuickBooks(customer) {
  const name = customerName(customer);
  const confirmed = await confirmDialog({
    title: "Create in QuickBooks?",
    body: `Create a new QuickBooks customer for ${name} (${customer.paysimple_customer_id}) from what PaySimple `
      + "holds, and link the two? If QuickBooks already has that name, the new one gets your collision suffix "
      + "(Settings). Asking twice creates only one.",
    action: "Create",
  });
  if (!confirmed) return;
  const created = await attempt(() => api.post(
    `/admin/merchants/${state.merchantId}/customers/${customer.paysimple_customer_id}/qbo-customer`));
  if (created) {
    showMessage(`${name} is created in QuickBooks (customer ${created.qbo_customer_id}) and linked.`, { ok: true });
    await load();
  }
}

function mergedTable(items) {
  if (!items.length) return el("p", { class: "note", text: "No merged customers." });
  const rows = items.map((customer) => {
    const name = customerName(customer);
    const unmerge = el("button", {
      type: "button", text: "Unmerge?", "aria-label": `Unmerge? ${name}`,
      onclick: async () => {
        const confirmed = await confirmDialog({
          title: "Unmerge this customer?",
          body: `${name} (${customer.paysimple_customer_id}) is merged into PaySimple customer `
            + `${customer.merged_into}: its saves are recorded but not synced. Unmerge it? It moves back to `
            + "Unlinked Customers, and its next save is matched on its own.",
          action: "Unmerge",
        });
        if (!confirmed) return;
        const done = await attempt(() =>
          api.delete(`/admin/merchants/${state.merchantId}/merges/${customer.paysimple_customer_id}`));
        if (done) {
          showMessage(`${name} is unmerged and back in Unlinked Customers.`, { ok: true });
          await load();
        }
      },
    });
    return el("tr", {},
      el("td", {}, name, el("div", { class: "note", text: `PaySimple ${customer.paysimple_customer_id}` })),
      el("td", { text: customer.email || "—" }),
      el("td", { text: `PaySimple ${customer.merged_into}` }),
      el("td", {}, unmerge));
  });
  return el("table", {},
    el("caption", { class: "visually-hidden", text: "Merged Customers" }),
    el("thead", {}, el("tr", {}, ...["PaySimple Customer", "Email", "Merged into", ""]
      .map((heading) => el("th", { scope: "col", text: heading })))),
    el("tbody", {}, rows));
}

function inQuickBooks(customer) {
  const notes = [];
  if (customer.qbo_flag) notes.push(FLAGS[customer.qbo_flag] || customer.qbo_flag);
  if (customer.drifted_fields?.length) {
    notes.push(`Edited in QuickBooks: ${customer.drifted_fields.map((f) => FIELDS[f] || f).join(", ")}`);
  }
  return notes.length ? el("span", { class: "flag", text: notes.join("; ") }) : "";
}

function shown(value) {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (typeof value === "object") return Object.values(value).filter(Boolean).join(", ") || "(empty)";
  return String(value);
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
        el("td", {}, customer.qbo_customer_id || "—", el("div", {}, inQuickBooks(customer))),
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
    Object.keys(entry.changes || {}).length ? ` (${Object.keys(entry.changes).join(", ")})` : "",
    entry.detail ? ` — ${entry.detail}` : ""));
  const flag = detail.customer.qbo_flag;
  const drift = detail.drift.length ? [
    el("table", { class: "drift" },
      el("caption", { text: `Edited in QuickBooks by a person since our last write (${name})` }),
      el("thead", {}, el("tr", {}, ...["Field", "We wrote", "QuickBooks has", "Since"]
        .map((heading) => el("th", { scope: "col", text: heading })))),
      el("tbody", {}, detail.drift.map((entry) => el("tr", {},
        el("td", { text: FIELDS[entry.field] || entry.field }),
        el("td", { text: shown(entry.ours) }),
        el("td", { text: shown(entry.theirs) }),
        el("td", { text: formatDate(entry.detected_at) }))))),
    el("p", { class: "note", text: "PaySimple is the source of record: the next save of this customer in PaySimple "
      + "writes PaySimple's values over these edits (a field PaySimple has nothing for is left as it is)." }),
  ] : [];
  const flagNote = flag ? el("p", { class: "flag", text: flag === "inactive"
    ? "Inactive in QuickBooks: PaySimple saves are held (see Settings) until it is made active again there."
    : "Deleted or merged away in QuickBooks: its next save moves it to Unlinked Customers." }) : "";
  cell.replaceChildren(
    el("dl", { class: "facts" },
      el("dt", { text: "QuickBooks customer" }), el("dd", { text: customer.qbo_customer_id }),
      el("dt", { text: "Why linked" }), el("dd", { text: reasonText(customer.reason) }),
      el("dt", { text: "Last change in PaySimple" }), el("dd", { text: formatDate(customer.last_event_at) })),
    flagNote,
    ...drift,
    el("p", { class: "note", text: "Recent history" }),
    el("ul", {}, history),
    unlink);
}
