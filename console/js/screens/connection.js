// Connection: Connect to QuickBooks, then the company's name and realm, who connected and when, the refresh
// token's days left, when the connection itself expires (no refresh extends it), Reconnect and Disconnect.
// Intuit's redirect comes back here (#connection?code=..&state=..&realmId=..): the page completes it with the
// signed-in user's token, so only the user who started it can. The name is read from QuickBooks at connect;
// when that read failed it is unknown until the next connect.
import { api } from "../api.js";
import { attempt, confirmDialog, el, formatDate, showMessage } from "../ui.js";

const HEALTH = { healthy: "Connected", broken: "Needs reconnecting", not_connected: "Not connected" };

function connectedText(connected) {
  const name = connected.company_name ? `: ${connected.company_name}` : "";
  return `QuickBooks company ${connected.realm_id} is connected${name}.`;
}

function daysLeft(when) {
  if (!when) return "—";
  const days = Math.floor((new Date(when).getTime() - Date.now()) / 86_400_000);
  return days < 0 ? "expired" : `${days} day${days === 1 ? "" : "s"} left (${formatDate(when)})`;
}

async function complete(merchantId, params) {
  // Forget the code at once: a reload must not send it again.
  history.replaceState(null, "", "#connection");
  if (params.get("error")) {
    showMessage("QuickBooks access was not granted.");
    return;
  }
  const body = { code: params.get("code") || "", state: params.get("state") || "", realm_id: params.get("realmId") || "" };
  const path = `/admin/merchants/${merchantId}/qbo/connection`;
  try {
    const connected = await api.post(path, body);
    showMessage(connectedText(connected), { ok: true });
  } catch (error) {
    if (error.code !== "realm_change_unconfirmed") {
      showMessage(error.text || error.message);
      return;
    }
    const go = await confirmDialog({
      title: "Connect a different QuickBooks company?",
      body: `${error.message}. Every linked customer moves back to Unlinked Customers.`,
      action: "Connect the new company",
    });
    if (!go) {
      showMessage("Nothing changed: the QuickBooks company stays as it was.", { ok: true });
      return;
    }
    const connected = await attempt(() => api.post(path, { ...body, confirm_realm_change: true }));
    if (connected) showMessage(connectedText(connected), { ok: true });
  }
}

export async function render(container, { merchantId, me, params }) {
  if (params.get("state")) await complete(merchantId, params);
  const status = await attempt(() => api.get(`/admin/merchants/${merchantId}/status`));
  container.append(el("h1", { text: "Connection" }));
  if (!status) return;
  const connected = status.connection !== "not_connected";
  const connect = el("button", {
    type: "button", class: "primary", text: connected ? "Reconnect" : "Connect to QuickBooks",
    onclick: async () => {
      const started = await attempt(() => api.get(`/admin/merchants/${merchantId}/qbo/connect`));
      if (started) window.location.assign(started.authorize_url);
    },
  });
  const facts = [
    ["Status", el("span", { class: `status-${status.connection}`, text: HEALTH[status.connection] })],
    ["QuickBooks company", status.company_name
      || (connected ? "Unknown: QuickBooks did not give its name at the last connect; Reconnect reads it again" : "—")],
    ["Realm ID", status.realm_id || "—"],
    ["Connected by", status.connected_by || "—"],
    ["Connected on", formatDate(status.connected_at)],
    ["Refresh token", daysLeft(status.refresh_token_expires_at)],
    ["Connection", status.connection_expiry
      ? `${status.connection_expiry} (${formatDate(status.refresh_token_hard_expires_at)}): reconnect before then`
      : "—"],
    ["Sync", status.sync_enabled ? `On since ${formatDate(status.enabled_at)}` : "Off"],
    ["Last successful sync", formatDate(status.last_successful_sync)],
  ];
  if (status.connection_reason) facts.splice(1, 0, ["Why", status.connection_reason]);
  if (me.role === "operator" && status.queue) {
    facts.push(["Queue (all merchants)", `${status.queue.visible} waiting, ${status.queue.in_flight} in flight`]);
    facts.push(["Dead-letter queue (all merchants)", `${status.dead_letter_queue.visible} waiting`]);
  }
  const disconnect = el("button", {
    type: "button", class: "danger", text: "Disconnect", hidden: !connected,
    onclick: async () => {
      const confirmed = await confirmDialog({
        title: "Disconnect QuickBooks?",
        body: "QuickBooks access is revoked at Intuit and the tokens are deleted here. Customers saved in "
          + "PaySimple from now on wait (nothing is lost) until you connect again. Links are kept.",
        action: "Disconnect",
      });
      if (!confirmed) return;
      const done = await attempt(() => api.delete(`/admin/merchants/${merchantId}/qbo/connection`));
      if (done) {
        showMessage("QuickBooks is disconnected: access was revoked at Intuit.", { ok: true });
        container.replaceChildren();
        await render(container, { merchantId, me, params: new URLSearchParams() });
      }
    },
  });
  container.append(
    el("dl", { class: "facts" }, facts.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", {}, value)])),
    el("p", { class: "note", text: "Connecting opens QuickBooks to approve access, then brings you back here. "
      + "Only you can finish a connection you started." }),
    el("div", { class: "toolbar" }, connect, disconnect),
  );
}
