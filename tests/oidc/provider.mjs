// A real OpenID provider for the tests: panva's oidc-provider on 127.0.0.1.
//
//   node provider.mjs <port> <redirect_uri>
//
// One confidential client (referral-engine / referral-engine-secret) whose only redirect URI is the one given.
// The provider's own login form (devInteractions) takes any password; the login names the account below.
// Consent is granted without asking, as a government provider does for a registered first-party service.
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
if (!port || !redirectUri) {
  console.error('usage: node provider.mjs <port> <redirect_uri>');
  process.exit(2);
}

const ACCOUNTS = {
  // The e-mail's case differs from the stored one on purpose: matching ignores case.
  health: { email: 'Health@Demo.KZ', email_verified: true, name: 'Health Worker' },
  worker: { email: 'Worker@Example.org', email_verified: true, name: 'Worker' },
  unverified: { email: 'worker@example.org', email_verified: false, name: 'Unverified' },
  stranger: { email: 'stranger@example.org', email_verified: true, name: 'Stranger' },
  noemail: { name: 'No E-mail' },
};

const configuration = {
  clients: [{
    client_id: 'referral-engine',
    client_secret: 'referral-engine-secret',
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-only-cookie-key'] },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },
};

const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
