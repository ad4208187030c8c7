// Field Mapping: one row per PaySimple field, a toggle and a QuickBooks Field drop-down limited to the
// allowed targets; a row is grey when off; first and last name are locked on. Save Changes (top right)
// makes a new version that applies only to customers saved from now on. Leaving with unsaved changes asks.
import { api } from "../api.js";
import { attempt, el, formatDate, showMessage } from "../ui.js";

const LABELS = {
  FirstName: "First name", LastName: "Last name", MiddleName: "Middle name", Company: "Company", Email: "Email",
  Phone: "Phone", AltPhone: "Alternate phone", MobilePhone: "Mobile phone", Fax: "Fax", Website: "Website",
  Notes: "Notes", BillingAddress: "Billing address", ShippingAddress: "Shipping address",
  CustomerAccount: "Customer account",
};

let rows = [];
let saved = "";

function snapshot() {
  return JSON.stringify(rows.map(({ paysimple_field, qbo_field, enabled }) => ({ paysimple_field, qbo_field, enabled })));
}

export function hasUnsavedChanges() {
  return rows.length > 0 && snapshot() !== saved;
}

export function discardChanges() {
  rows = [];
  saved = "";
}

export async function render(container, { merchantId }) {
  rows = [];
  saved = "";
  const loaded = await attempt(() => Promise.all([
    api.get("/admin/field-catalog"), api.get(`/admin/merchants/${merchantId}/mapping`),
  ]));
  if (!loaded) return;
  const [catalog, mapping] = loaded;
  const current = new Map(mapping.fields.map((row) => [row.paysimple_field, row]));
  rows = catalog.fields.map((entry) => {
    const row = current.get(entry.paysimple_field);
    return {
      paysimple_field: entry.paysimple_field,
      qbo_field: row ? row.qbo_field : entry.default_qbo_field,
      enabled: entry.required || (row ? row.enabled : false),
      required: entry.required,
      targets: entry.qbo_fields,
    };
  });
  saved = snapshot();

  const version = el("p", { class: "note", id: "mapping-version" });
  const showVersion = (m) => {
    version.textContent = m.version === 0 ? "The default mapping: never saved."
      : `Version ${m.version}, in effect since ${formatDate(m.effective_at)}.`;
  };
  showVersion(mapping);
  const save = el("button", { type: "button", class: "primary", text: "Save Changes" });
  save.addEventListener("click", async () => {
    const fields = rows.map(({ paysimple_field, qbo_field, enabled }) => ({ paysimple_field, qbo_field, enabled }));
    const result = await attempt(() => api.put(`/admin/merchants/${merchantId}/mapping`, { fields }));
    if (!result) return;
    saved = snapshot();
    showVersion(result);
    showMessage(`Saved. Version ${result.version} applies to customers saved in PaySimple from now on.`, { ok: true });
  });

  const body = el("tbody", {}, rows.map((row) => mappingRow(row)));
  container.append(
    el("div", { class: "screen-head" }, el("h1", { text: "Field Mapping" }), save),
    el("p", { class: "note", text: "Changes apply only to customers saved in PaySimple from now on. "
      + "Customers already in QuickBooks are not updated until they are saved again." }),
    version,
    el("table", {},
      el("caption", { class: "visually-hidden", text: "PaySimple fields and the QuickBooks fields they fill" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "PaySimple Field" }),
        el("th", { scope: "col", text: "Sync" }), el("th", { scope: "col", text: "QuickBooks Field" }))),
      body),
  );
}

function mappingRow(row) {
  const label = LABELS[row.paysimple_field] || row.paysimple_field;
  const id = `map-${row.paysimple_field}`;
  const toggle = el("input", {
    type: "checkbox", role: "switch", id: `${id}-on`, checked: row.enabled, disabled: row.required,
    "aria-label": `Sync ${label}`,
  });
  const target = el("select", { id: `${id}-target`, "aria-label": `QuickBooks Field for ${label}`, disabled: row.required },
    row.targets.map((name) => el("option", { value: name, text: name, selected: name === row.qbo_field })));
  const tr = el("tr", { class: row.enabled ? "" : "off" },
    el("th", { scope: "row" }, label, row.required ? el("div", { class: "note", text: "Always on" }) : null),
    el("td", {}, toggle),
    el("td", {}, target));
  toggle.addEventListener("change", () => {
    row.enabled = toggle.checked;
    tr.className = row.enabled ? "" : "off";
  });
  target.addEventListener("change", () => { row.qbo_field = target.value; });
  return tr;
}
