// Go-live: the dry run (what the sync would do for each customer, no QuickBooks writes) in a table, a page
// of PaySimple customers at a time, with a CSV download of the same page, and "Link the matches": the
// page's unambiguous matches linked (nothing written to QuickBooks), the rest listed for review.
import { request } from "../api.js";
import { attempt, confirmDialog, el, showMessage } from "../ui.js";

const OUTCOMES = {
  link_by_name: "Link by name", link_by_name_and_email: "Link by name and email", ambiguous: "Left unlinked: several match",
  create: "Create in QuickBooks", display_name_collision: "Name taken in QuickBooks", already_linked: "Already linked",
  unlinked_by_admin: "Unlinked by an admin", merged: "Merged", source_deleted: "Deleted in PaySimple",
  not_in_paysimple: "Not in PaySimple",
};

export async function render(container, { merchantId }) {
  let page = 1;
  const path = `/admin/merchants/${merchantId}/dry-run`;
  const table = el("div", { id: "dry-run" });
  const summary = el("p", { class: "note", id: "dry-run-summary", "aria-live": "polite" });
  const next = el("button", { type: "button", text: "Next page", disabled: true });
  const download = el("button", { type: "button", text: "Download CSV", disabled: true });
  const preview = el("button", { type: "button", class: "primary", text: "Preview go-live" });
  const apply = el("button", { type: "button", text: "Link the matches on this page", disabled: true });

  async function run() {
    const report = await attempt(() => request("POST", path, { body: { page, page_size: 50 } }));
    if (!report) return;
    const counts = Object.entries(report.summary).map(([key, n]) => `${OUTCOMES[key] || key}: ${n}`).join(", ");
    summary.textContent = `Page ${page}${report.total_customers ? ` of ${report.total_customers} customers` : ""}. ${counts}`;
    table.replaceChildren(el("table", {},
      el("caption", { class: "visually-hidden", text: "Go-live preview" }),
      el("thead", {}, el("tr", {}, ...["PaySimple Customer", "Name", "Email", "What would happen", "QuickBooks Customer", "Detail"]
        .map((heading) => el("th", { scope: "col", text: heading })))),
      el("tbody", {}, report.results.map((r) => el("tr", {},
        el("td", { text: r.paysimple_customer_id }),
        el("td", { text: `${r.first_name || ""} ${r.last_name || ""}`.trim() }),
        el("td", { text: r.email || "—" }),
        el("td", { text: OUTCOMES[r.outcome] || r.outcome }),
        el("td", { text: r.qbo_customer_id || r.would_create_as || "—" }),
        el("td", { text: r.detail || (r.candidates.length ? `${r.candidates.length} candidates` : "") }))))));
    next.disabled = !report.next_page;
    download.disabled = false;
    apply.disabled = false;
  }
  preview.addEventListener("click", () => { page = 1; run(); });
  apply.addEventListener("click", async () => {
    const confirmed = await confirmDialog({
      title: "Link the matches on this page?",
      body: "Every customer on this page that matches exactly one QuickBooks customer (by name, or by name "
        + "and email) is linked to it; the others are listed in Unlinked Customers for you to review. Nothing "
        + "is written to QuickBooks: each customer's next save in PaySimple does that.",
      action: "Link the matches",
    });
    if (!confirmed) return;
    const applied = await attempt(() =>
      request("POST", `/admin/merchants/${merchantId}/go-live/apply`, { body: { page, page_size: 50 } }));
    if (!applied) return;
    const count = (action) => applied.summary[action] || 0;
    showMessage(`Linked ${count("linked")}, listed ${count("for_review")} for review, `
      + `${count("unchanged")} unchanged${count("skipped") ? `, ${count("skipped")} skipped (preview again)` : ""}. `
      + "Nothing was written to QuickBooks.", { ok: true });
    await run();
  });
  next.addEventListener("click", () => { page += 1; run(); });
  download.addEventListener("click", async () => {
    const blob = await attempt(() =>
      request("POST", path, { body: { page, page_size: 50 }, query: { format: "csv" }, accept: "text/csv" }));
    if (!blob) return;
    const link = el("a", { href: URL.createObjectURL(blob), download: `go-live-${merchantId}-page-${page}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    showMessage("The CSV is downloaded.", { ok: true });
  });
  container.append(
    el("h1", { text: "Go-live" }),
    el("p", { class: "note", text: "What the sync would do for each PaySimple customer if it were switched on now. "
      + "Nothing is written to QuickBooks." }),
    el("div", { class: "toolbar" }, preview, next, download, apply),
    summary,
    table,
  );
}
