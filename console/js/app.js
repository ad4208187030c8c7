// The console's shell: sign-in, the signed-in user (GET /admin/me), the merchant it acts on, and the hash
// router (#matching, #mapping, #connection, #activity, #go-live, #settings). One module per screen.
import { api } from "./api.js";
import { currentSession, setNewPassword, signIn, signOut } from "./auth.js";
import { attempt, clearMessage, confirmDialog, el, showMessage } from "./ui.js";
import * as activity from "./screens/activity.js";
import * as connection from "./screens/connection.js";
import * as goLive from "./screens/golive.js";
import * as mapping from "./screens/mapping.js";
import * as matching from "./screens/matching.js";
import * as settings from "./screens/settings.js";

const SCREENS = {
  matching, mapping, connection, activity, "go-live": goLive, settings,
};
const MERCHANT_KEY = "customer-sync.merchant";
const main = document.getElementById("main");
let me = null;
let current = null; // {name, screen}

function route() {
  const [name, query] = window.location.hash.slice(1).split("?");
  return { name: SCREENS[name] ? name : "matching", params: new URLSearchParams(query || "") };
}

function merchantId() {
  return me.role === "operator" ? sessionStorage.getItem(MERCHANT_KEY) : me.merchant_id;
}

function renderSignIn(pending = null) {
  document.getElementById("screens").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  const email = el("input", { type: "email", id: "email", autocomplete: "username", required: true });
  const password = el("input", {
    type: "password", id: "password", autocomplete: pending ? "new-password" : "current-password", required: true,
  });
  const form = el(
    "form", { class: "signin", "aria-labelledby": "signin-title" },
    el("h1", { id: "signin-title", text: pending ? "Choose a new password" : "Sign in" }),
    pending
      ? el("p", { class: "note", text: "This is your first sign-in: replace the temporary password." })
      : [el("label", { for: "email", text: "Email" }), email],
    el("label", { for: "password", text: pending ? "New password" : "Password" }),
    password,
    el("button", { type: "submit", class: "primary", text: pending ? "Set password and sign in" : "Sign in" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearMessage();
    const result = await attempt(() =>
      pending ? setNewPassword(pending, password.value) : signIn(email.value.trim(), password.value),
    );
    if (!result) return;
    if (result.challenge) renderSignIn(result);
    else start();
  });
  main.replaceChildren(el("div", { class: "signin-wrap" }, form));
  (pending ? password : email).focus();
}

function renderMerchantPicker() {
  const input = el("input", { type: "text", id: "merchant-id", value: merchantId() || "", required: true });
  const form = el(
    "form", { class: "toolbar", "aria-labelledby": "merchant-title" },
    el("div", { class: "field" }, el("label", { for: "merchant-id", text: "Merchant (PaySimple id)" }), input),
    el("button", { type: "submit", class: "primary", text: "Open merchant" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(MERCHANT_KEY, input.value.trim());
    show();
  });
  return el("section", { class: "operator" }, el("h2", { id: "merchant-title", text: "Operator: choose a merchant" }), form);
}

async function show() {
  const { name, params } = route();
  clearMessage();
  for (const link of document.querySelectorAll("#screens a")) {
    if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  current = { name, screen: SCREENS[name] };
  const container = el("div", { class: "screen" });
  main.replaceChildren(...(me.role === "operator" ? [renderMerchantPicker()] : []), container);
  const merchant = merchantId();
  if (!merchant) {
    container.append(el("p", { class: "note", text: "Choose a merchant to work on." }));
    return;
  }
  await current.screen.render(container, { merchantId: merchant, me, params });
  main.focus({ preventScroll: true });
}

async function start() {
  const session = currentSession();
  if (!session) return renderSignIn();
  me = await attempt(() => api.get("/admin/me"));
  if (!me) return;
  if (me.role === "nobody") {
    showMessage("Your account is not an operator and belongs to no merchant; ask your operator.");
    return;
  }
  const label = me.role === "operator" ? "operator" : `merchant ${me.merchant_id}`;
  document.getElementById("who").textContent = `Signed in as ${me.email || "you"} (${label})`;
  document.getElementById("screens").hidden = false;
  document.getElementById("sign-out").hidden = false;
  await show();
}

// Leaving a screen with unsaved changes asks first (and the browser asks when the page is left).
let lastHash = window.location.hash;
window.addEventListener("hashchange", async () => {
  if (current?.screen.hasUnsavedChanges?.()) {
    const target = window.location.hash;
    history.replaceState(null, "", lastHash);
    const leave = await confirmDialog({
      title: "Leave without saving?",
      body: "You have unsaved changes on this screen. They will be lost.",
      action: "Leave without saving",
    });
    if (!leave) return;
    current.screen.discardChanges?.();
    history.replaceState(null, "", target);
  }
  lastHash = window.location.hash;
  if (me) show();
});
window.addEventListener("beforeunload", (event) => {
  if (current?.screen.hasUnsavedChanges?.()) event.preventDefault();
});
window.addEventListener("signed-out", () => {
  me = null;
  renderSignIn();
});
document.getElementById("sign-out").addEventListener("click", async () => {
  if (current?.screen.hasUnsavedChanges?.()) {
    const leave = await confirmDialog({
      title: "Sign out without saving?", body: "You have unsaved changes on this screen.", action: "Sign out",
    });
    if (!leave) return;
    current.screen.discardChanges?.();
  }
  await signOut();
  me = null;
  current = null;
  sessionStorage.removeItem(MERCHANT_KEY);
  renderSignIn();
  showMessage("You are signed out.", { ok: true });
});

start();
