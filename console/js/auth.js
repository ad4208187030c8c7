// Sign-in against Cognito's own JSON API (InitiateAuth / RespondToAuthChallenge), the same code path in AWS
// and locally (moto's cognito-idp). The endpoint and the public app client come from /config.json; the page
// holds no secret. Tokens live in sessionStorage: gone when the tab closes.

const STORE = "customer-sync.session";
let config = null;

export async function loadConfig() {
  if (!config) {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error("the console's config.json is missing");
    config = await response.json();
  }
  return config;
}

async function cognito(action, body) {
  const { cognito_endpoint: endpoint } = await loadConfig();
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const kind = String(answer.__type || "").split("#").pop();
    const words = {
      NotAuthorizedException: "Incorrect email or password.",
      UserNotFoundException: "Incorrect email or password.",
      InvalidPasswordException: answer.message || "That password does not meet the password rules.",
      PasswordResetRequiredException: "Your password must be reset; ask your operator.",
    };
    throw new Error(words[kind] || answer.message || `sign-in failed (${response.status})`);
  }
  return answer;
}

function keep(result) {
  const session = {
    idToken: result.IdToken,
    accessToken: result.AccessToken,
    expiresAt: Date.now() + (result.ExpiresIn || 3600) * 1000,
  };
  sessionStorage.setItem(STORE, JSON.stringify(session));
  return session;
}

// Returns {session} when signed in, or {challenge, session: cognitoSession, username} for a new password.
export async function signIn(email, password) {
  const { client_id: clientId } = await loadConfig();
  const answer = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: clientId,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    return { challenge: answer.ChallengeName, cognitoSession: answer.Session, username: email };
  }
  if (!answer.AuthenticationResult) throw new Error(`unsupported sign-in step ${answer.ChallengeName}`);
  return { session: keep(answer.AuthenticationResult) };
}

export async function setNewPassword(pending, newPassword) {
  const { client_id: clientId } = await loadConfig();
  const answer = await cognito("RespondToAuthChallenge", {
    ChallengeName: "NEW_PASSWORD_REQUIRED",
    ClientId: clientId,
    Session: pending.cognitoSession,
    ChallengeResponses: { USERNAME: pending.username, NEW_PASSWORD: newPassword },
  });
  if (!answer.AuthenticationResult) throw new Error("the new password was not accepted");
  return { session: keep(answer.AuthenticationResult) };
}

export function currentSession() {
  const stored = sessionStorage.getItem(STORE);
  if (!stored) return null;
  const session = JSON.parse(stored);
  if (session.expiresAt <= Date.now() + 30_000) {
    sessionStorage.removeItem(STORE);
    return null;
  }
  return session;
}

export async function signOut() {
  const session = currentSession();
  sessionStorage.removeItem(STORE);
  if (session) {
    // Ends the user's refresh tokens at Cognito too; the page forgets the ID token either way.
    await cognito("GlobalSignOut", { AccessToken: session.accessToken }).catch(() => {});
  }
}
