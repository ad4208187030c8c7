// Settings: sync on/off (and what "on" means under the no-retroactive rule), deactivate on delete, the name
// used when a QuickBooks name is taken, and what a save does to a customer made inactive in QuickBooks.
import { api } from "../api.js";
import { attempt, el, formatDate, showMessage } from "../ui.js";

export async function render(container, { merchantId }) {
  const settings = await attempt(() => api.get(`/admin/merchants/${merchantId}/settings`));
  if (!settings) return;
  const sync = el("input", { type: "checkbox", role: "switch", id: "sync-enabled", checked: settings.sync_enabled });
  const deactivate = el("input", { type: "checkbox", id: "deactivate-on-delete", checked: settings.deactivate_on_delete });
  const suffix = el("input", { type: "text", id: "collision-suffix", value: settings.collision_suffix || "" });
  const inactiveChoice = (value, label) => el("div", {},
    el("input", { type: "radio", name: "on-qbo-inactive", id: `on-qbo-inactive-${value}`, value,
      checked: (settings.on_qbo_inactive || "hold") === value }),
    el("label", { for: `on-qbo-inactive-${value}`, text: ` ${label}` }));
  const since = el("p", { class: "note", id: "enabled-at" });
  const showSince = (s) => {
    since.textContent = s.sync_enabled && s.enabled_at
      ? `On since ${formatDate(s.enabled_at)}: only changes saved in PaySimple after that reach QuickBooks.`
      : "Off: nothing is sent to QuickBooks.";
  };
  showSince(settings);
  const form = el("form", { class: "settings" },
    el("h2", { text: "Sync" }),
    el("div", {}, sync, el("label", { for: "sync-enabled", text: " Sync customers to QuickBooks" })),
    el("p", { class: "note", text: "On means: every customer saved in PaySimple from the moment you switch it on is "
      + "matched, created or updated in QuickBooks. Nothing is ever applied retroactively: customers saved "
      + "before that, or while sync was off, are not sent until they are saved again." }),
    since,
    el("h2", { text: "Deleted customers" }),
    el("div", {}, deactivate, el("label", { for: "deactivate-on-delete",
      text: " Make the QuickBooks customer inactive when the PaySimple customer is deleted" })),
    el("h2", { text: "Made inactive in QuickBooks" }),
    el("fieldset", {},
      el("legend", { text: "When a customer made inactive in QuickBooks is saved in PaySimple" }),
      inactiveChoice("hold", "Hold the change until it is active in QuickBooks again (then it is applied)"),
      inactiveChoice("reactivate", "Make it active in QuickBooks again, and apply the change")),
    el("h2", { text: "Name already taken" }),
    el("label", { for: "collision-suffix", text: "QuickBooks name to use when the name is taken" }),
    el("p", { class: "note", text: "Use {first}, {last} and {id} (required), e.g. \"{first} {last} (PS-{id})\"." }),
    suffix,
    el("div", { class: "dialog-buttons" }, el("button", { type: "submit", class: "primary", text: "Save Changes" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      sync_enabled: sync.checked,
      deactivate_on_delete: deactivate.checked,
      on_qbo_inactive: form.querySelector('input[name="on-qbo-inactive"]:checked')?.value || "hold",
    };
    if (suffix.value.trim()) body.collision_suffix = suffix.value.trim();
    const result = await attempt(() => api.put(`/admin/merchants/${merchantId}/settings`, body));
    if (!result) return;
    showSince(result);
    showMessage("Settings saved.", { ok: true });
  });
  container.append(el("h1", { text: "Settings" }), form);
}
