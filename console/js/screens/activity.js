// Activity: failures with a plain-language reason and Retry, and each customer's history (field, before,
// after, outcome).
import { api } from "../api.js";
import { attempt, el, formatDate, showMessage } from "../ui.js";

const CODES = {
  "6240": "QuickBooks already has a customer, vendor or employee with this name",
  "6000": "QuickBooks refused a value",
  "2020": "A value QuickBooks requires is missing",
  "2050": "A value is too long or badly formed for QuickBooks",
  invalid_grant: "The QuickBooks connection was revoked: reconnect QuickBooks",
};
const ACTIONS = {
  created: "Created in QuickBooks", updated: "Updated in QuickBooks", linked: "Linked", unchanged: "Nothing to change",
  skipped: "Skipped", unlinked: "Left unlinked", parked: "Failed (waiting for you)", failed: "Failed",
  deleted: "Deleted in PaySimple", deactivated: "Made inactive in QuickBooks", merged: "Merged",
  manual_link: "Linked by an admin", manual_unlink: "Unlinked by an admin", retried: "Retried",
};

export function plainReason(failure) {
  const known = CODES[failure.code];
  return known ? `${known}. (${failure.reason})` : failure.reason;
}

export async function render(container, { merchantId }) {
  container.append(el("h1", { text: "Activity" }), el("h2", { text: "Failures" }), el("div", { id: "failures" }),
    el("h2", { text: "Customer history" }), historyPicker(merchantId), el("div", { id: "history" }));
  await loadFailures(container, merchantId);
}

async function loadFailures(container, merchantId) {
  const failures = await attempt(() => api.get(`/admin/merchants/${merchantId}/failures`));
  const box = container.querySelector("#failures");
  if (!failures) return;
  const all = [
    ...failures.parked.map((f) => ({ ...f, when: f.parked_at, kind: "Parked", why: plainReason(f) })),
    ...failures.dead_letter.map((f) => ({ ...f, when: f.sent_at, kind: "Retries ran out", why: f.reason })),
  ];
  if (!all.length) {
    box.replaceChildren(el("p", { class: "note", text: "No failures: every change reached QuickBooks or is on its way." }));
    return;
  }
  const retry = async (eventIds) => {
    const result = await attempt(() => api.post(`/admin/merchants/${merchantId}/failures/redrive`,
      eventIds ? { event_ids: eventIds } : {}));
    if (!result) return;
    const problems = result.failed.map((f) => `${f.event_id}: ${f.error}`);
    showMessage(problems.length ? `Some could not be retried: ${problems.join("; ")}`
      : `Sent ${result.redriven.length} change(s) to QuickBooks again.`, { ok: !problems.length });
    await loadFailures(container, merchantId);
  };
  box.replaceChildren(
    el("table", {},
      el("caption", { class: "visually-hidden", text: "Failures" }),
      el("thead", {}, el("tr", {}, ...["PaySimple Customer", "Change", "When", "What went wrong", "Attempts", ""]
        .map((heading) => el("th", { scope: "col", text: heading })))),
      el("tbody", {}, all.map((failure) => el("tr", {},
        el("td", { text: failure.paysimple_customer_id }),
        el("td", { text: `${failure.event_type.replace("customer_", "")} (${failure.kind})` }),
        el("td", { text: formatDate(failure.when) }),
        el("td", { text: failure.why }),
        el("td", { text: String(failure.attempts ?? failure.receive_count ?? "") }),
        el("td", {}, el("button", { type: "button", text: "Retry", "aria-label": `Retry ${failure.event_id}`,
          onclick: () => retry([failure.event_id]) })))))),
    el("p", {}, el("button", { type: "button", text: "Retry all", onclick: () => retry(null) })));
}

function historyPicker(merchantId) {
  const input = el("input", { type: "search", id: "history-customer", placeholder: "Name, email or PaySimple id" });
  const form = el("form", { class: "toolbar" },
    el("div", { class: "field" }, el("label", { for: "history-customer", text: "Customer" }), input),
    el("button", { type: "submit", text: "Show history" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const box = form.parentElement.querySelector("#history");
    let id = /^[0-9]+$/.test(text) ? text : null;
    if (!id) {
      for (const status of ["linked", "unlinked"]) {
        const page = await attempt(() => api.get(`/admin/merchants/${merchantId}/customers`, { status, q: text, limit: 1 }));
        if (page?.items.length) { id = page.items[0].paysimple_customer_id; break; }
      }
    }
    if (!id) { box.replaceChildren(el("p", { class: "note", text: "No such customer." })); return; }
    const detail = await attempt(() => api.get(`/admin/merchants/${merchantId}/customers/${id}`, { history_limit: 50 }));
    if (detail) box.replaceChildren(historyTable(detail));
  });
  return form;
}

function historyTable(detail) {
  const customer = detail.customer;
  const rows = [];
  for (const entry of detail.history) {
    const changes = Object.entries(entry.changes || {});
    const outcome = `${ACTIONS[entry.action] || entry.action}${entry.error ? `: ${entry.error}` : ""}`;
    const show = (value) => (value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value));
    const base = [formatDate(entry.recorded_at), entry.event_type.replace("customer_", "")];
    if (!changes.length) rows.push([...base, "—", "—", "—", outcome]);
    for (const [field, change] of changes) rows.push([...base, field, show(change.before), show(change.after), outcome]);
  }
  return el("div", {},
    el("p", { text: `${customer.first_name} ${customer.last_name} (PaySimple ${customer.paysimple_customer_id}), `
      + `${customer.status}${customer.qbo_customer_id ? ` to QuickBooks customer ${customer.qbo_customer_id}` : ""}` }),
    el("table", {},
      el("caption", { class: "visually-hidden", text: "Customer history" }),
      el("thead", {}, el("tr", {}, ...["When", "Change", "Field", "Before", "After", "Outcome"]
        .map((heading) => el("th", { scope: "col", text: heading })))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", { text: cell })))))));
}
