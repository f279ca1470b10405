/**
 * AUTH_MODE=entra: signing in with Microsoft Entra ID through MSAL.js (authorization code with PKCE, redirect flow).
 * MSAL.js is served by the app itself (/ui/vendor/, from the installed @azure/msal-browser), so the page's
 * `script-src 'self'` holds; only loaded in this mode.
 */

const MSAL_URL = '/ui/vendor/msal-browser.min.js';

/** The UMD build defines `msal` on the global object when loaded as a module. */
async function loadMsal() {
  await import(MSAL_URL);
  return globalThis.msal;
}

/** Never settles: the page is navigating away (to the sign-in page, or back to the page it started from). */
const leaving = () => new Promise(() => {});

/**
 * Signs in (redirecting to Entra ID when there is no account in this tab yet) and resolves to the session:
 * `{name, accessToken(), signOut()}`. Tokens are cached by MSAL.js in sessionStorage and renewed silently.
 */
export async function entraSession({ authorityHost, tenantId, clientId, scope }) {
  const msal = await loadMsal();
  const siteRoot = `${location.origin}/`;
  const client = new msal.PublicClientApplication({
    auth: {
      clientId,
      authority: `${authorityHost}/${tenantId}`,
      // The configured host is trusted as is: no instance discovery call to the public cloud.
      knownAuthorities: [new URL(authorityHost).host],
      redirectUri: siteRoot,
      postLogoutRedirectUri: siteRoot,
    },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await client.initialize();
  const redirected = await client.handleRedirectPromise();
  const account = redirected?.account ?? client.getActiveAccount() ?? client.getAllAccounts()[0];
  const request = { scopes: [scope] };
  if (!account) {
    await client.loginRedirect(request);
    return leaving();
  }
  client.setActiveAccount(account);
  return {
    name: account.name || account.username,
    accessToken: async () => {
      try {
        return (await client.acquireTokenSilent({ ...request, account })).accessToken;
      } catch (err) {
        if (!(err instanceof msal.InteractionRequiredAuthError)) throw err;
        // The session ended (or consent is needed): sign in again, back to this page.
        await client.acquireTokenRedirect({ ...request, account });
        return leaving();
      }
    },
    signOut: () => client.logoutRedirect({ account }),
  };
}
